#include "services/recommender/serving/service.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging/grpc_request_id.h"
#include "common/logging/log.h"
#include "common/privacy/person_rows.h"

namespace marketlens::recommender {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  out->set_seconds(micros / 1000000);
  out->set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
}

void ToProto(const ModelRecord& m, v1::Model* out) {
  out->set_version(m.version);
  out->set_algorithm(m.algorithm);
  SetTime(m.trained_at, out->mutable_trained_at());
  if (m.data_from) SetTime(*m.data_from, out->mutable_data_from());
  if (m.data_to) SetTime(*m.data_to, out->mutable_data_to());
  for (const auto& [k, v] : m.params) (*out->mutable_params())[k] = v;
  for (const auto& [k, v] : m.metrics) (*out->mutable_metrics())[k] = v;
  out->set_artifact_uri(m.artifact_uri);
  out->set_promoted(m.promoted);
}

void ToProto(const ExperimentRow& row, v1::Experiment* out) {
  out->set_id(row.spec.id);
  out->set_name(row.name);
  out->set_description(row.description);
  for (const auto& v : row.spec.variants) {
    auto* pv = out->add_variants();
    pv->set_name(v.name);
    pv->set_weight(v.weight);
    pv->set_model_version(v.model_version);
  }
  out->set_state(row.state);
  out->set_traffic(row.spec.traffic);
  for (const auto& s : row.spec.surfaces) out->add_surfaces(s);
  out->set_salt(row.spec.salt);
  SetTime(row.created_at, out->mutable_created_at());
  if (row.started_at) SetTime(*row.started_at, out->mutable_started_at());
  if (row.stopped_at) SetTime(*row.stopped_at, out->mutable_stopped_at());
}

std::optional<EventType> FromProto(v1::FeedbackEvent e) {
  switch (e) {
    case v1::FEEDBACK_EVENT_VIEW:
      return EventType::kView;
    case v1::FEEDBACK_EVENT_CLICK:
      return EventType::kClick;
    case v1::FEEDBACK_EVENT_ADD_TO_CART:
      return EventType::kAddToCart;
    case v1::FEEDBACK_EVENT_PURCHASE:
      return EventType::kPurchase;
    case v1::FEEDBACK_EVENT_LIKE:
      return EventType::kLike;
    case v1::FEEDBACK_EVENT_SKIP:
      return EventType::kSkip;
    case v1::FEEDBACK_EVENT_DO_NOT_SHOW:
      return EventType::kDoNotShow;
    default:
      return std::nullopt;
  }
}

constexpr size_t kMaxIdLength = 256;

// Parses a request on `arena`; false when the bytes are not a RecommendRequest.
bool ParseRequest(const grpc::ByteBuffer& bytes, v1::RecommendRequest* req) {
  grpc::Slice single;
  if (bytes.TrySingleSlice(&single).ok()) return req->ParseFromArray(single.begin(), single.size());
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) return false;
  std::string joined;
  for (const grpc::Slice& s : slices) joined.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return req->ParseFromString(joined);
}

}  // namespace

v1::ExperimentResults BuildExperimentResults(const std::string& experiment_id,
                                             const std::vector<VariantCounts>& counts, double confidence) {
  v1::ExperimentResults out;
  out.set_experiment_id(experiment_id);
  out.set_confidence_level(confidence);
  out.set_test("chi-square test of independence on conversion (users with a purchase / users assigned)");
  std::vector<int64_t> successes, trials;
  const VariantCounts* control = counts.empty() ? nullptr : &counts[0];
  if (control != nullptr) out.set_control(control->name);
  const double control_conversion = control != nullptr && control->users > 0
                                        ? static_cast<double>(control->converted_users) / control->users
                                        : 0;
  for (const VariantCounts& c : counts) {
    auto* v = out.add_variants();
    v->set_variant(c.name);
    v->set_model_version(c.model_version);
    v->set_users(c.users);
    v->set_impressions(c.impressions);
    v->set_clicks(c.clicks);
    v->set_purchases(c.purchases);
    v->set_converted_users(c.converted_users);
    v->set_ctr(c.impressions > 0 ? static_cast<double>(c.clicks) / c.impressions : 0);
    v->set_conversion(c.users > 0 ? static_cast<double>(c.converted_users) / c.users : 0);
    const Interval conv = WilsonInterval(c.converted_users, c.users);
    // CTR can exceed 1 (several clicks per list); the interval treats it as a proportion capped at 1.
    const Interval ctr = WilsonInterval(std::min(c.clicks, c.impressions), c.impressions);
    v->set_conversion_ci_low(conv.low);
    v->set_conversion_ci_high(conv.high);
    v->set_ctr_ci_low(ctr.low);
    v->set_ctr_ci_high(ctr.high);
    if (&c == control) {
      v->set_p_value_vs_control(1);
    } else {
      v->set_p_value_vs_control(
          TwoProportionPValue(c.converted_users, c.users, control->converted_users, control->users));
      v->set_conversion_lift(control_conversion > 0 ? v->conversion() / control_conversion - 1 : 0);
    }
    successes.push_back(c.converted_users);
    trials.push_back(c.users);
  }
  out.set_p_value(ChiSquarePValue(successes, trials));
  out.set_significant(out.p_value() < 1 - confidence);
  return out;
}

RecommenderServiceImpl::RecommenderServiceImpl(Engine* engine, ModelManager* models,
                                               FeedbackPipeline* feedback, ModelRegistry* registry,
                                               ExperimentStore* experiments,
                                               std::shared_ptr<prometheus::Registry> metrics,
                                               postgres::PgPool* pg)
    : engine_(engine),
      models_(models),
      feedback_(feedback),
      registry_(registry),
      experiments_(experiments),
      metrics_(std::move(metrics)),
      pg_(pg) {
  paths_ =
      &prometheus::BuildCounter()
           .Name("recommender_recommendations_total")
           .Help(
               "Recommend calls by path: personal (known shopper), session (items in the session), popular "
               "(cold start)")
           .Register(*metrics_);
  path_personal_ = &paths_->Add({{"path", "personal"}});
  path_session_ = &paths_->Add({{"path", "session"}});
  path_popular_ = &paths_->Add({{"path", "popular"}});
  feedback_events_ = &prometheus::BuildCounter()
                          .Name("recommender_feedback_events_total")
                          .Help("Feedback events recorded, by event")
                          .Register(*metrics_);
}

prometheus::Counter* RecommenderServiceImpl::FeedbackCounter(EventType type) {
  // Made on first use (a series appears once its event has been seen, as before), then looked up by index:
  // Family::Add hashes the labels under the family's lock.
  std::atomic<prometheus::Counter*>& slot = feedback_counters_[static_cast<size_t>(type)];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &feedback_events_->Add({{"event", std::string(EventTypeName(type))}});  // same series if raced
    slot.store(counter, std::memory_order_release);
  }
  return counter;
}

bool RecommenderServiceImpl::KnownItem(const ServingModel* model, const CatalogSnapshot* catalog,
                                       const std::string& id) const {
  if (model == nullptr && (catalog == nullptr || catalog->empty())) return true;  // nothing to check against
  return (model != nullptr && model->bundle().items.Contains(id)) ||
         (catalog != nullptr && catalog->Find(id) != nullptr);
}

grpc::ServerUnaryReactor* RecommenderServiceImpl::Recommend(grpc::CallbackServerContext* ctx,
                                                            const grpc::ByteBuffer* request,
                                                            grpc::ByteBuffer* response) {
  // Callback handlers get no thread-local request id from the interceptor: set it for this call's logs.
  logging::ScopedRequestId request_id(logging::RequestIdFrom(*ctx));
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // The request's strings live on an arena whose first block is on the stack: no malloc per string.
  alignas(8) char block[2048];
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = sizeof(block);
  google::protobuf::Arena arena(options);
  auto* req = google::protobuf::Arena::CreateMessage<v1::RecommendRequest>(&arena);
  if (!ParseRequest(*request, req)) {
    reactor->Finish(Invalid("the request is not a RecommendRequest"));
    return reactor;
  }
  RecommendAnswer answer;
  grpc::Status status = DoRecommend(*req, &answer);
  if (status.ok()) {
    // Encoded into this thread's buffer, whose capacity stays (no allocation per call), then copied once
    // into the slice gRPC sends.
    thread_local std::string encoded;
    EncodeRecommendResponse(answer, &encoded);
    grpc::Slice bytes(encoded.data(), encoded.size());
    *response = grpc::ByteBuffer(&bytes, 1);
    if (encoded.capacity() > (64 << 10)) std::string().swap(encoded);  // an outsized answer: let it go
  }
  reactor->Finish(status);
  return reactor;
}

void RecommenderServiceImpl::EncodeRecommendResponse(const RecommendAnswer& answer, std::string* out) {
  out->clear();
  out->reserve(128 * answer.items.size() + 64);
  ResponseWriter writer(out);
  std::shared_ptr<const ItemFieldCache> fields = item_fields_.For(answer.model.get(), answer.catalog.get());
  if (fields != nullptr) fields->Prefetch(answer.items);
  for (const Candidate& c : answer.items)
    writer.AddItem(c, fields.get(), answer.model.get(), answer.catalog.get());
  writer.SetTrailer(answer.model != nullptr ? answer.model->version() : "",
                    answer.experiment != nullptr ? answer.experiment->id : "",
                    answer.variant != nullptr ? answer.variant->name : "");
}

grpc::Status RecommenderServiceImpl::SimilarItems(grpc::ServerContext*, const v1::SimilarItemsRequest* req,
                                                  v1::ItemsResponse* resp) {
  return DoSimilarItems(req, resp);
}

grpc::Status RecommenderServiceImpl::FrequentlyBoughtTogether(grpc::ServerContext*,
                                                              const v1::FrequentlyBoughtTogetherRequest* req,
                                                              v1::ItemsResponse* resp) {
  return DoFrequentlyBoughtTogether(req, resp);
}

grpc::Status RecommenderServiceImpl::Rerank(grpc::ServerContext*, const v1::RerankRequest* req,
                                            v1::ItemsResponse* resp) {
  return DoRerank(req, resp);
}

grpc::Status RecommenderServiceImpl::DoRecommend(const v1::RecommendRequest& request,
                                                 RecommendAnswer* answer) {
  const v1::RecommendRequest* req = &request;
  if (req->user_id().size() > kMaxIdLength) return Invalid("user_id is too long");
  if (req->session_items_size() > engine_->options().max_input_items) {
    return Invalid(absl::StrCat("at most ", engine_->options().max_input_items, " session_items"));
  }
  std::shared_ptr<const ServingModel> model = models_->Current();
  std::shared_ptr<const CatalogSnapshot> catalog = models_->Catalog();
  // A/B: the variant's model, if any.
  std::shared_ptr<const std::vector<ExperimentSpec>> experiments = models_->Experiments();
  answer->experiments = experiments;
  Assignment assignment = ChooseAssignment(*experiments, req->surface(), req->user_id());
  if (assignment.variant != nullptr && !assignment.variant->model_version.empty()) {
    if (auto variant_model = models_->ForVersion(assignment.variant->model_version)) model = variant_model;
  }
  RecommendQuery q;
  q.user_id = req->user_id();
  q.n = req->n();
  q.surface = req->surface();
  q.region = req->context().location();
  q.category = req->context().category();
  if (req->context().has_time()) {
    q.time = absl::FromUnixSeconds(req->context().time().seconds()) +
             absl::Nanoseconds(req->context().time().nanos());
  }
  q.session_items.assign(req->session_items().begin(), req->session_items().end());
  absl::StatusOr<RecommendOutcome> outcome = engine_->Recommend(model.get(), catalog.get(), q);
  if (!outcome.ok()) return ToGrpc(outcome.status());
  answer->items = std::move(outcome->items);
  (outcome->path == "personal"  ? path_personal_
   : outcome->path == "session" ? path_session_
                                : path_popular_)
      ->Increment();
  if (assignment.experiment != nullptr) {
    answer->experiment = assignment.experiment;
    answer->variant = assignment.variant;
    feedback_->RecordExposure({.experiment_id = assignment.experiment->id,
                               .variant = assignment.variant->name,
                               .user_id = req->user_id(),
                               .surface = req->surface(),
                               .model_version = model != nullptr ? model->version() : "",
                               .items = static_cast<int>(answer->items.size())});
  }
  answer->model = std::move(model);
  answer->catalog = std::move(catalog);
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::DoSimilarItems(const v1::SimilarItemsRequest* req,
                                                    v1::ItemsResponse* resp) {
  std::shared_ptr<const ServingModel> model = models_->Current();
  std::shared_ptr<const CatalogSnapshot> catalog = models_->Catalog();
  auto items = engine_->SimilarItems(model.get(), catalog.get(), req->item_id(), req->n());
  if (!items.ok()) return ToGrpc(items.status());
  AddRecommendedItems(*items, model.get(), catalog.get(), resp->mutable_items());
  resp->set_model_version(model != nullptr ? model->version() : "");
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::DoFrequentlyBoughtTogether(
    const v1::FrequentlyBoughtTogetherRequest* req, v1::ItemsResponse* resp) {
  std::shared_ptr<const ServingModel> model = models_->Current();
  std::shared_ptr<const CatalogSnapshot> catalog = models_->Catalog();
  std::vector<std::string> ids(req->item_ids().begin(), req->item_ids().end());
  auto items = engine_->FrequentlyBoughtTogether(model.get(), catalog.get(), ids, req->n());
  if (!items.ok()) return ToGrpc(items.status());
  AddRecommendedItems(*items, model.get(), catalog.get(), resp->mutable_items());
  resp->set_model_version(model != nullptr ? model->version() : "");
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::DoRerank(const v1::RerankRequest* req, v1::ItemsResponse* resp) {
  std::shared_ptr<const ServingModel> model = models_->Current();
  std::shared_ptr<const CatalogSnapshot> catalog = models_->Catalog();
  std::vector<std::string> ids(req->item_ids().begin(), req->item_ids().end());
  auto items = engine_->Rerank(model.get(), catalog.get(), req->user_id(), ids);
  if (!items.ok()) return ToGrpc(items.status());
  AddRecommendedItems(*items, model.get(), catalog.get(), resp->mutable_items());
  resp->set_model_version(model != nullptr ? model->version() : "");
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::RecordFeedback(grpc::ServerContext*,
                                                    const v1::RecordFeedbackRequest* req,
                                                    v1::RecordFeedbackResponse*) {
  if (req->user_id().empty()) return Invalid("user_id is required");
  if (req->item_id().empty()) return Invalid("item_id is required");
  if (req->user_id().size() > kMaxIdLength || req->item_id().size() > kMaxIdLength)
    return Invalid("id too long");
  std::optional<EventType> type = FromProto(req->event());
  if (!type)
    return Invalid("event is required (view, click, add_to_cart, purchase, like, skip, do_not_show)");
  std::shared_ptr<const ServingModel> model = models_->Current();
  std::shared_ptr<const CatalogSnapshot> catalog = models_->Catalog();
  if (!KnownItem(model.get(), catalog.get(), req->item_id())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("unknown item `", req->item_id(), "`"));
  }
  FeedbackEvent e{.user_id = req->user_id(),
                  .item_id = req->item_id(),
                  .type = *type,
                  .experiment_id = req->experiment_id(),
                  .variant = req->variant(),
                  .surface = req->surface()};
  if (!e.experiment_id.empty() && e.variant.empty()) {
    // The caller did not echo the variant: it is the user's deterministic assignment.
    for (const ExperimentSpec& spec : *models_->Experiments()) {
      if (spec.id == e.experiment_id) e.variant = AssignVariant(spec, e.user_id).value_or("");
    }
  }
  absl::Status s = feedback_->RecordEvent(e);
  if (!s.ok()) return ToGrpc(s);
  FeedbackCounter(*type)->Increment();
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::ForgetUser(grpc::ServerContext*, const v1::ForgetUserRequest* req,
                                                v1::ForgetUserResponse* resp) {
  if (req->user_id().empty()) return Invalid("user_id is required");
  auto deleted = feedback_->ForgetUser(req->user_id());
  if (!deleted.ok()) return ToGrpc(deleted.status());
  resp->set_events_deleted(*deleted);
  logging::Info("user forgotten", {{"events_deleted", *deleted}});
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::EraseUser(grpc::ServerContext*, const privacy::v1::EraseUserRequest* req,
                                               privacy::v1::EraseUserResponse* resp) {
  if (req->user_id().empty()) return Invalid("user_id is required");
  auto erased = feedback_->EraseUser(req->user_id());
  if (!erased.ok()) return ToGrpc(erased.status());
  for (const auto& [kind, count] : *erased) privacy::RecordErased(kind, count, resp);
  // Model artifacts trained before the request keep a vector for the user: the serving path ignores it
  // from now on (online_state's forgotten set), and training skips the user (recsys.forgotten_users).
  logging::Info("user erased", {{"erasure_id", req->erasure_id()}});
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::ExportUser(grpc::ServerContext*,
                                                const privacy::v1::ExportUserRequest* req,
                                                privacy::v1::ExportUserResponse* resp) {
  if (req->user_id().empty()) return Invalid("user_id is required");
  if (pg_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no database for the export");
  absl::Status s = pg_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        resp->Clear();
        resp->set_service("recommender");
        for (const auto& [name, sql] : std::vector<std::pair<const char*, const char*>>{
                 {"recsys.events",
                  "SELECT row_to_json(t)::text FROM recsys.events t WHERE t.user_id = $1 ORDER BY t.id"},
                 {"recsys.exposures",
                  "SELECT row_to_json(t)::text FROM recsys.exposures t WHERE t.user_id = $1 ORDER BY t.id"},
                 {"recsys.assignments",
                  "SELECT row_to_json(t)::text FROM recsys.assignments t WHERE t.user_id = $1 "
                  "ORDER BY t.experiment_id"}}) {
          if (auto st = privacy::ExportRows(tx, name, sql, req->user_id(), resp); !st.ok()) return st;
        }
        return absl::OkStatus();
      },
      {.read_only = true, .timeout = absl::Seconds(30)});
  if (!s.ok()) return ToGrpc(s);
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                                                v1::ListModelsResponse* resp) {
  auto models = registry_->List();
  if (!models.ok()) return ToGrpc(models.status());
  for (const ModelRecord& m : *models) ToProto(m, resp->add_models());
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::PromoteModel(grpc::ServerContext*, const v1::PromoteModelRequest* req,
                                                  v1::Model* resp) {
  if (req->version().empty()) return Invalid("version is required");
  // Load first: a broken artifact is refused before anything changes.
  if (absl::Status s = models_->Preload(req->version()); !s.ok()) {
    if (s.code() == absl::StatusCode::kNotFound && absl::StrContains(s.message(), "not registered"))
      return ToGrpc(s);
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("model ", req->version(), " cannot be loaded: ", s.message()));
  }
  auto promoted = registry_->Promote(req->version());
  if (!promoted.ok()) return ToGrpc(promoted.status());
  if (absl::Status s = models_->RefreshModel(); !s.ok()) return ToGrpc(s);
  logging::Info("model promoted", {{"version", req->version()}});
  ToProto(*promoted, resp);
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::RollbackModel(grpc::ServerContext*, const v1::RollbackModelRequest*,
                                                   v1::Model* resp) {
  auto back = registry_->Rollback();
  if (!back.ok()) return ToGrpc(back.status());
  if (absl::Status s = models_->RefreshModel(); !s.ok()) {
    logging::Error("rolled-back model cannot be loaded; still serving the previous one", {{"error", s}});
  }
  logging::Info("model rolled back", {{"version", back->version}});
  ToProto(*back, resp);
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::GetExperimentResults(grpc::ServerContext*,
                                                          const v1::GetExperimentResultsRequest* req,
                                                          v1::ExperimentResults* resp) {
  if (req->experiment_id().empty()) return Invalid("experiment_id is required");
  auto counts = experiments_->Counts(req->experiment_id());
  if (!counts.ok()) return ToGrpc(counts.status());
  *resp = BuildExperimentResults(req->experiment_id(), *counts);
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::CreateExperiment(grpc::ServerContext*,
                                                      const v1::CreateExperimentRequest* req,
                                                      v1::Experiment* resp) {
  const v1::Experiment& e = req->experiment();
  ExperimentRow row;
  row.spec.id = e.id();
  row.spec.salt = e.salt();
  row.spec.traffic = e.traffic();
  row.spec.surfaces.assign(e.surfaces().begin(), e.surfaces().end());
  for (const auto& v : e.variants()) row.spec.variants.push_back({v.name(), v.weight(), v.model_version()});
  row.name = e.name();
  row.description = e.description();
  row.state = e.state();
  for (const auto& v : row.spec.variants) {
    if (v.model_version.empty()) continue;
    if (auto m = registry_->Get(v.model_version); !m.ok()) {
      return Invalid(
          absl::StrCat("variant `", v.name, "`: model version `", v.model_version, "` is not registered"));
    }
  }
  auto created = experiments_->Create(std::move(row));
  if (!created.ok()) return ToGrpc(created.status());
  (void)models_->RefreshExperiments();
  ToProto(*created, resp);
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::ListExperiments(grpc::ServerContext*, const v1::ListExperimentsRequest*,
                                                     v1::ListExperimentsResponse* resp) {
  auto rows = experiments_->List();
  if (!rows.ok()) return ToGrpc(rows.status());
  for (const ExperimentRow& r : *rows) ToProto(r, resp->add_experiments());
  return grpc::Status::OK;
}

grpc::Status RecommenderServiceImpl::SetExperimentState(grpc::ServerContext*,
                                                        const v1::SetExperimentStateRequest* req,
                                                        v1::Experiment* resp) {
  if (req->experiment_id().empty()) return Invalid("experiment_id is required");
  auto row = experiments_->SetState(req->experiment_id(), req->state());
  if (!row.ok()) return ToGrpc(row.status());
  (void)models_->RefreshExperiments();
  ToProto(*row, resp);
  return grpc::Status::OK;
}

}  // namespace marketlens::recommender
