#include "services/recommender/bench/canned_recommender.h"

#include <time.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace marketlens::recommender {
namespace {

double ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

}  // namespace

CannedRecommender::CannedRecommender(std::vector<std::string> responses, std::vector<int> spin_us)
    : responses_(std::move(responses)), spin_us_(std::move(spin_us)) {}

bool CannedRecommender::Select(size_t k) {
  if (k >= responses_.size()) return false;
  selected_.store(k, std::memory_order_relaxed);
  return true;
}

grpc::ServerUnaryReactor* CannedRecommender::Recommend(grpc::CallbackServerContext* ctx,
                                                       const grpc::ByteBuffer*, grpc::ByteBuffer* response) {
  const size_t k = selected_.load(std::memory_order_relaxed);
  if (k < spin_us_.size() && spin_us_[k] > 0) {
    const double until = ThreadCpuMicros() + spin_us_[k];
    while (ThreadCpuMicros() < until) {
    }
  }
  const std::string& bytes = responses_[k];
  grpc::Slice slice(bytes.data(), bytes.size(), grpc::Slice::STATIC_SLICE);
  *response = grpc::ByteBuffer(&slice, 1);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

std::unique_ptr<CannedRecommender> MakeCannedRecommender(const v1::RecommendResponse& real,
                                                         std::string* sizes) {
  v1::RecommendResponse small = real;
  while (small.items_size() > 1 && small.ByteSizeLong() > 256) small.mutable_items()->RemoveLast();
  const std::string full = real.SerializeAsString();
  *sizes = absl::StrCat("0 ", small.ByteSizeLong(), " ", full.size(), " ", full.size(), "+spin10us ",
                        full.size(), "+spin20us");
  return std::make_unique<CannedRecommender>(
      std::vector<std::string>{v1::RecommendResponse().SerializeAsString(), small.SerializeAsString(), full,
                               full, full},
      std::vector<int>{0, 0, 0, 10, 20});
}

}  // namespace marketlens::recommender
