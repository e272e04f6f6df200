// The recommendation engine alone (no gRPC), per served model (hybrid, two-tower, NCF): CPU time and heap
// allocations per Recommend call, on serve_bench's world (1,000 items in 12 categories, 8,000 shoppers,
// the same training settings and catalogue) and its request mix (known shoppers 60%, known shoppers with
// a session item 10%, cold start with category, region and time 20%, anonymous with two session items
// 10%).
//   - "served": the engine as the server runs it (per-shopper pool memo on, warmed by one pass over the
//     requests first), the cost that adds to every served call;
//   - "first visit": the pool memo off, so every known shopper is scored over the whole catalogue;
//   - per request kind with the memo off, as serve_bench --only=engine reports it.
// Allocations are counted by this binary's replacement of the global operator new (every allocation of
// the process: the engine, its containers, the result vectors and their strings).
// --dump prints every answer (path, and per item id, score, reason, source) of a fixed set of queries that
// covers every Recommend path (feedback overlays, do-not-show, purchases since training, new catalogue
// items, promotions): two builds' dumps must be identical (diff) when a change is meant to be a pure
// speed-up.
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/recommender/bench/serving_bench_world.h"
#include "services/recommender/data/synthetic.h"
#include "services/recommender/serving/engine.h"

ABSL_FLAG(int, calls, 20000, "Recommend calls per measurement");
ABSL_FLAG(int, repeat, 3, "measurements per model and mode (the best CPU time counts: least disturbed)");
ABSL_FLAG(std::vector<std::string>, algorithms, std::vector<std::string>({"hybrid", "two_tower", "ncf"}),
          "served models");
ABSL_FLAG(std::string, mode, "all", "all, or only one measurement: served, first (first visit), kinds");
ABSL_FLAG(bool, dump, false, "print the answers of the fixed query set instead of timing");

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const size_t a = static_cast<size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

using namespace marketlens::recommender;

namespace {

constexpr int kUsers = 8000;

double ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// serve_bench's MakeRequest, as the service turns it into a query.
RecommendQuery MakeQuery(std::mt19937& rng) {
  static const char* const kRegions[] = {"DE", "FR", "GB", "US"};
  RecommendQuery q{.n = 10, .surface = "home"};
  const int kind = std::uniform_int_distribution<int>(0, 9)(rng);
  if (kind < 7) {
    q.user_id = absl::StrCat("u", std::uniform_int_distribution<int>(0, kUsers - 1)(rng));
    if (kind == 6) q.session_items.push_back(absl::StrCat("i", rng() % 1000));
  } else if (kind < 9) {
    q.user_id = absl::StrCat("visitor", rng() % 100000);
    q.category = absl::StrCat("cat", rng() % 12);
    q.region = kRegions[rng() % 4];
    q.time = absl::FromUnixSeconds(1765000000 + rng() % 86400);
  } else {
    q.session_items.push_back(absl::StrCat("i", rng() % 1000));
    q.session_items.push_back(absl::StrCat("i", rng() % 1000));
  }
  return q;
}

struct Figures {
  double us_per_call = 1e18;
  double allocations_per_call = 0;
};

// Runs the queries `repeat` times through `engine`; the lowest CPU time per call counts.
Figures Measure(const Engine& engine, const ServingModel& model, const CatalogSnapshot& catalog,
                const std::vector<RecommendQuery>& queries) {
  Figures f;
  for (int r = 0; r < absl::GetFlag(FLAGS_repeat); ++r) {
    const int64_t a0 = g_allocations.load();
    const double t0 = ThreadCpuMicros();
    size_t items = 0;
    for (const RecommendQuery& q : queries) {
      auto outcome = engine.Recommend(&model, &catalog, q);
      if (!outcome.ok() || outcome->items.size() != 10) {
        std::fprintf(stderr, "bad answer for user `%s`\n", q.user_id.c_str());
        std::exit(1);
      }
      items += outcome->items.size();
    }
    const double us = (ThreadCpuMicros() - t0) / queries.size();
    f.us_per_call = std::min(f.us_per_call, us);
    f.allocations_per_call = static_cast<double>(g_allocations.load() - a0) / queries.size();
  }
  return f;
}

std::shared_ptr<const CatalogSnapshot> MakeCatalog(const SyntheticData& world, bool with_extras) {
  std::vector<CatalogItem> items = ServingBenchCatalogItems(world);
  std::vector<Promotion> promotions;
  if (with_extras) {
    // New since training (content-similar to known items), a regional block, and two promotions.
    for (int k = 0; k < 20; ++k) {
      CatalogItem item;
      item.id = absl::StrCat("new", k);
      item.info = world.catalog.at(absl::StrCat("i", k * 37 % 1000));
      item.info.title = absl::StrCat("New ", item.info.title);
      item.stock = 3;
      items.push_back(std::move(item));
    }
    for (CatalogItem& item : items) {
      if (std::hash<std::string>()(item.id) % 17 == 0) item.blocked_regions.insert("DE");
    }
    const absl::Time now = absl::Now();
    promotions.push_back({.id = "p1",
                          .item_id = "i5",
                          .starts = now - absl::Hours(1),
                          .ends = now + absl::Hours(100),
                          .slot = 0,
                          .label = "deal of the day"});
    promotions.push_back({.id = "p2",
                          .item_id = "new3",
                          .starts = now - absl::Hours(1),
                          .ends = now + absl::Hours(100),
                          .surfaces = {"home"},
                          .slot = 4});
  }
  return std::make_shared<CatalogSnapshot>(std::move(items), std::move(promotions), absl::Now());
}

void PrintOutcome(const std::string& label, const absl::StatusOr<RecommendOutcome>& r) {
  if (!r.ok()) {
    std::printf("%s: %s\n", label.c_str(), r.status().ToString().c_str());
    return;
  }
  std::printf("%s: path %s, %zu items\n", label.c_str(), r->path.c_str(), r->items.size());
  for (const Candidate& c : r->items) {
    std::printf("  %s %.9g [%s] %s\n", c.item_id.c_str(), c.score, std::string(c.source).c_str(),
                c.reason.str().c_str());
  }
}

// Every path of Recommend on a fixed set of queries, with and without the extra catalogue, with feedback.
void Dump(const std::string& algorithm, const ServingModel& model, const SyntheticData& world) {
  for (bool extras : {false, true}) {
    auto catalog = MakeCatalog(world, extras);
    for (bool memo : {false, true}) {
      OnlineState online;
      Engine engine(EngineOptions{.personal_memo_users = memo ? 100000 : 0}, &online, nullptr);
      // Feedback since training for a few shoppers (known and new): every event kind, do-not-show.
      const EventType kinds[] = {EventType::kView, EventType::kAddToCart, EventType::kPurchase,
                                 EventType::kLike, EventType::kRating};
      for (int u = 0; u < 40; u += 3) {
        const std::string user = u % 2 == 0 ? absl::StrCat("u", u) : absl::StrCat("fresh", u);
        for (int k = 0; k < 1 + u % 4; ++k) {
          const std::string item =
              k == 3 ? absl::StrCat("new", u % 20) : absl::StrCat("i", (u * 31 + k * 7) % 1000);
          online.Record(user, item, kinds[(u + k) % 5], 1765000000 + k);
        }
        if (u % 9 == 0) online.Record(user, absl::StrCat("i", (u * 13) % 1000), EventType::kDoNotShow, 1);
      }
      const std::string label = absl::StrCat(algorithm, extras ? " +extras" : "", memo ? " memo" : "");
      std::mt19937 rng(11);
      for (int k = 0; k < 200; ++k) {
        RecommendQuery q = MakeQuery(rng);
        q.time = absl::FromUnixSeconds(1765000000 + 3600 * (k % 24));
        if (k % 5 == 0) q.n = 1 + k % 37;
        if (k < 40) q.user_id = k % 2 == 0 ? absl::StrCat("u", k - k % 3) : absl::StrCat("fresh", k - k % 3);
        if (k % 11 == 0) q.session_items.push_back(absl::StrCat("new", k % 20));
        for (int pass = 0; pass < (memo ? 2 : 1); ++pass) {
          PrintOutcome(absl::StrCat(label, " q", k, " pass", pass, " user=", q.user_id, " n=", q.n,
                                    " cat=", q.category, " region=", q.region),
                       engine.Recommend(&model, catalog.get(), q));
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  SyntheticData world = GenerateServingBenchWorld(kUsers);
  auto catalog = MakeCatalog(world, false);
  std::mt19937 rng(5);
  std::vector<RecommendQuery> mix;
  for (int k = 0; k < absl::GetFlag(FLAGS_calls); ++k) mix.push_back(MakeQuery(rng));
  std::printf("engine_bench: load average %.2f at start\n", LoadAverage());
  for (const std::string& algorithm : absl::GetFlag(FLAGS_algorithms)) {
    auto model = TrainServingBenchModel(world, algorithm);
    if (!model.ok()) {
      std::fprintf(stderr, "training %s: %s\n", algorithm.c_str(), model.status().ToString().c_str());
      return 1;
    }
    if (absl::GetFlag(FLAGS_dump)) {
      Dump(algorithm, **model, world);
      continue;
    }
    OnlineState online;
    const std::string mode = absl::GetFlag(FLAGS_mode);
    if (mode == "all" || mode == "served") {
      Engine served(EngineOptions{}, &online, nullptr);
      Measure(served, **model, *catalog, mix);  // warms the pool memo and the popular lists
      const Figures f = Measure(served, **model, *catalog, mix);
      std::printf("figure: engine %-9s served mix   %6.2f us/call  %6.1f allocations/call  (load %.2f)\n",
                  algorithm.c_str(), f.us_per_call, f.allocations_per_call, LoadAverage());
    }
    if (mode == "all" || mode == "first") {
      Engine first(EngineOptions{.personal_memo_users = 0}, &online, nullptr);
      const Figures f = Measure(first, **model, *catalog, mix);
      std::printf("figure: engine %-9s first visit  %6.2f us/call  %6.1f allocations/call  (load %.2f)\n",
                  algorithm.c_str(), f.us_per_call, f.allocations_per_call, LoadAverage());
    }
    // The request kinds of serve_bench --only=engine, memo off.
    for (const char* kind : {"known", "cold", "session"}) {
      if (mode != "all" && mode != "kinds") break;
      std::vector<RecommendQuery> queries;
      std::mt19937 r(5);
      for (size_t k = 0; k < mix.size() / 4; ++k) {
        RecommendQuery q{.n = 10, .surface = "home"};
        if (kind[0] == 'k') q.user_id = absl::StrCat("u", r() % kUsers);
        if (kind[0] == 'c') {
          q.user_id = absl::StrCat("visitor", r() % 100000);
          q.category = absl::StrCat("cat", r() % 12);
        }
        if (kind[0] == 's') q.session_items = {absl::StrCat("i", r() % 1000), absl::StrCat("i", r() % 1000)};
        queries.push_back(std::move(q));
      }
      Engine engine(EngineOptions{.personal_memo_users = 0}, &online, nullptr);
      const Figures f = Measure(engine, **model, *catalog, queries);
      std::printf("figure: engine %-9s %-12s %6.2f us/call  %6.1f allocations/call\n", algorithm.c_str(),
                  kind, f.us_per_call, f.allocations_per_call);
    }
  }
  return 0;
}
