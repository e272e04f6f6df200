// serve_bench's --only=peak_canned: a Recommend that answers with fixed wire bytes, without the engine, to
// tell what gRPC and the message sizes cost from what the handler's CPU costs.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_BENCH_CANNED_RECOMMENDER_H_
#define MARKETLENS_SERVICES_RECOMMENDER_BENCH_CANNED_RECOMMENDER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "marketlens/recommender/v1/recommender.grpc.pb.h"

namespace marketlens::recommender {

// Answers every Recommend with one of its responses, the one the load generator selected. Like the real
// service, Recommend is a raw callback method and the other methods stay synchronous, so the server runs
// the same threads.
class CannedRecommender final
    : public v1::RecommenderService::WithRawCallbackMethod_Recommend<v1::RecommenderService::Service> {
 public:
  // `spin_us[k]`: CPU burnt in the handler before response k (a stand-in for the engine's compute, to see
  // what a longer handler costs beyond its own CPU).
  CannedRecommender(std::vector<std::string> responses, std::vector<int> spin_us);
  // False when there is no response k.
  bool Select(size_t k);
  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer*,
                                      grpc::ByteBuffer* response) override;

 private:
  const std::vector<std::string> responses_;
  const std::vector<int> spin_us_;
  std::atomic<size_t> selected_{0};
};

// Responses made from a real one: empty (0 B), its first items up to ~256 B, the whole of it, and the whole
// of it after 10 and after 20 us of handler CPU. `sizes` gets their labels, space-separated
// ("0 199 907 907+spin10us 907+spin20us").
std::unique_ptr<CannedRecommender> MakeCannedRecommender(const v1::RecommendResponse& real,
                                                         std::string* sizes);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_BENCH_CANNED_RECOMMENDER_H_
