// Hybrid: a weighted blend of other models. Each member's scores are scaled to [-1, 1] per user (divided
// by the largest absolute score) before blending, so that ALS dot products, kNN similarity sums and
// popularity counts can be mixed with meaningful weights. The typical blend is collaborative filtering for
// accuracy, item neighbours for session context, content for new items and a little popularity as a prior.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_HYBRID_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_HYBRID_H_

#include <memory>
#include <vector>

#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

struct HybridMember {
  std::shared_ptr<Model> model;
  float weight = 1;
};

class HybridModel : public Model {
 public:
  // fit_members: Fit() fits every member; false when they are already fitted (e.g. shared with the
  // evaluator, which fitted them to report them on their own). A member whose Fit() says
  // FAILED_PRECONDITION (content without item metadata, EASE over its size limit) is dropped.
  explicit HybridModel(std::vector<HybridMember> members, bool fit_members = true)
      : members_(std::move(members)), fit_members_(fit_members) {}
  std::string name() const override { return "hybrid"; }
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override;
  const std::vector<HybridMember>& members() const { return members_; }
  void set_weights(const std::vector<float>& weights);

 private:
  std::vector<HybridMember> members_;
  bool fit_members_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_HYBRID_H_
