// The gRPC surface of protos/marketlens/recommender/v1/recommender.proto on top of the engine, the model
// manager (hot reload), the feedback pipeline, the registry and the experiment store. Requests are
// validated here (clear INVALID_ARGUMENT / NOT_FOUND messages); each call takes the snapshots it needs
// once, so a model swap in the middle of a call changes nothing for it.
// A/B: Recommend picks the first running experiment covering the surface and the user; the variant's
// model serves the call (the promoted one when the variant names none or its model is not loaded), the
// response carries model_version, experiment_id and variant, and an exposure is logged.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVICE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVICE_H_

#include <array>
#include <atomic>
#include <memory>

#include "common/postgres/pool.h"
#include "grpcpp/support/byte_buffer.h"
#include "marketlens/recommender/v1/recommender.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/recommender/serving/engine.h"
#include "services/recommender/serving/experiment_store.h"
#include "services/recommender/serving/feedback.h"
#include "services/recommender/serving/model_manager.h"
#include "services/recommender/serving/response_encoding.h"
#include "services/recommender/store/registry.h"

namespace marketlens::recommender {

namespace v1 = ::marketlens::recommender::v1;

// Recommend is a callback-API method: it runs on the gRPC thread that read the request, where a
// synchronous method is handed to the sync server's thread pool, which under load starts and ends threads
// (measured: one thread created per ~4 calls at peak, with the futex wake-ups of every hand-off). The call
// does no I/O once the engine's in-process memo is warm (a cold context may read Redis once, bounded by
// the Redis client's short command timeout), so it does not need a thread of its own. It is a raw method
// (bytes in and out): the request is parsed on a per-call arena, and the response is written as wire bytes
// with each item's fixed fields serialised once per model and catalogue snapshot (response_encoding.h), the
// same bytes the generated serialiser would write. The other methods stay synchronous: they write to
// Postgres or Redis.
class RecommenderServiceImpl final
    : public v1::RecommenderService::WithRawCallbackMethod_Recommend<v1::RecommenderService::Service> {
 public:
  // `pg` (may be null: ExportUser then answers UNAVAILABLE) reads the user's rows for ExportUser.
  RecommenderServiceImpl(Engine* engine, ModelManager* models, FeedbackPipeline* feedback,
                         ModelRegistry* registry, ExperimentStore* experiments,
                         std::shared_ptr<prometheus::Registry> metrics, postgres::PgPool* pg = nullptr);

  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext*, const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::Status SimilarItems(grpc::ServerContext*, const v1::SimilarItemsRequest*,
                            v1::ItemsResponse*) override;
  grpc::Status FrequentlyBoughtTogether(grpc::ServerContext*, const v1::FrequentlyBoughtTogetherRequest*,
                                        v1::ItemsResponse*) override;
  grpc::Status Rerank(grpc::ServerContext*, const v1::RerankRequest*, v1::ItemsResponse*) override;
  grpc::Status RecordFeedback(grpc::ServerContext*, const v1::RecordFeedbackRequest*,
                              v1::RecordFeedbackResponse*) override;
  grpc::Status ForgetUser(grpc::ServerContext*, const v1::ForgetUserRequest*,
                          v1::ForgetUserResponse*) override;
  // Privacy (docs/privacy.md): ForgetUser's erasure with counts per kind, and the user's rows.
  grpc::Status EraseUser(grpc::ServerContext*, const privacy::v1::EraseUserRequest*,
                         privacy::v1::EraseUserResponse*) override;
  grpc::Status ExportUser(grpc::ServerContext*, const privacy::v1::ExportUserRequest*,
                          privacy::v1::ExportUserResponse*) override;
  grpc::Status ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                          v1::ListModelsResponse*) override;
  grpc::Status PromoteModel(grpc::ServerContext*, const v1::PromoteModelRequest*, v1::Model*) override;
  grpc::Status RollbackModel(grpc::ServerContext*, const v1::RollbackModelRequest*, v1::Model*) override;
  grpc::Status GetExperimentResults(grpc::ServerContext*, const v1::GetExperimentResultsRequest*,
                                    v1::ExperimentResults*) override;
  grpc::Status CreateExperiment(grpc::ServerContext*, const v1::CreateExperimentRequest*,
                                v1::Experiment*) override;
  grpc::Status ListExperiments(grpc::ServerContext*, const v1::ListExperimentsRequest*,
                               v1::ListExperimentsResponse*) override;
  grpc::Status SetExperimentState(grpc::ServerContext*, const v1::SetExperimentStateRequest*,
                                  v1::Experiment*) override;

 private:
  // Recommend's answer: the items, the snapshots they were built with, the experiment arm.
  struct RecommendAnswer {
    std::vector<Candidate> items;
    std::shared_ptr<const ServingModel> model;
    std::shared_ptr<const CatalogSnapshot> catalog;
    const ExperimentSpec* experiment = nullptr;  // in `experiments`, kept alive here
    const ExperimentVariantSpec* variant = nullptr;
    std::shared_ptr<const std::vector<ExperimentSpec>> experiments;
  };
  grpc::Status DoRecommend(const v1::RecommendRequest& req, RecommendAnswer* answer);
  // The response's wire bytes, into `out` (cleared first).
  void EncodeRecommendResponse(const RecommendAnswer& answer, std::string* out);
  grpc::Status DoSimilarItems(const v1::SimilarItemsRequest* req, v1::ItemsResponse* resp);
  grpc::Status DoFrequentlyBoughtTogether(const v1::FrequentlyBoughtTogetherRequest* req,
                                          v1::ItemsResponse* resp);
  grpc::Status DoRerank(const v1::RerankRequest* req, v1::ItemsResponse* resp);
  bool KnownItem(const ServingModel* model, const CatalogSnapshot* catalog, const std::string& id) const;

  Engine* engine_;
  ModelManager* models_;
  FeedbackPipeline* feedback_;
  ModelRegistry* registry_;
  ExperimentStore* experiments_;
  std::shared_ptr<prometheus::Registry> metrics_;
  postgres::PgPool* pg_;
  prometheus::Family<prometheus::Counter>* paths_;
  prometheus::Family<prometheus::Counter>* feedback_events_;
  // Looked up once: Family::Add hashes labels under a lock on every call.
  prometheus::Counter* path_personal_;
  prometheus::Counter* path_session_;
  prometheus::Counter* path_popular_;
  // recommender_feedback_events_total's series by event (null until the event is first recorded).
  prometheus::Counter* FeedbackCounter(EventType type);
  std::array<std::atomic<prometheus::Counter*>, kEventTypeCount> feedback_counters_{};
  ItemFieldCaches item_fields_;
};

// Statistics of an experiment from its counts (experiments.h), as the API returns them.
v1::ExperimentResults BuildExperimentResults(const std::string& experiment_id,
                                             const std::vector<VariantCounts>& counts,
                                             double confidence = 0.95);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVICE_H_
