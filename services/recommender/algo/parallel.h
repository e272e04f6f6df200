// ParallelFor: splits [0, n) into chunks handed out to `threads` worker threads (the caller's thread is
// one of them). Used by ALS, item-kNN and EASE, whose rows are independent.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_PARALLEL_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_PARALLEL_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace marketlens::recommender {

// 0 means one per hardware thread.
inline int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// fn(begin, end, thread_index) over chunks of `chunk` indexes.
template <typename Fn>
void ParallelFor(int64_t n, int threads, int64_t chunk, Fn&& fn) {
  threads = ResolveThreads(threads);
  chunk = std::max<int64_t>(1, chunk);
  std::atomic<int64_t> next{0};
  auto work = [&](int t) {
    while (true) {
      const int64_t begin = next.fetch_add(chunk);
      if (begin >= n) return;
      fn(begin, std::min(n, begin + chunk), t);
    }
  };
  const int extra = static_cast<int>(std::min<int64_t>(threads - 1, (n + chunk - 1) / chunk - 1));
  std::vector<std::thread> pool;
  for (int t = 1; t <= extra; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
}

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_PARALLEL_H_
