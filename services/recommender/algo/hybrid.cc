#include "services/recommender/algo/hybrid.h"

#include "absl/strings/str_cat.h"

namespace marketlens::recommender {

Params HybridModel::params() const {
  Params p;
  for (const HybridMember& m : members_) p[absl::StrCat("w_", m.model->name())] = absl::StrCat(m.weight);
  return p;
}

absl::Status HybridModel::Fit(const TrainingData& data) {
  if (members_.empty()) return absl::InvalidArgumentError("hybrid: no members");
  if (!fit_members_) return absl::OkStatus();
  std::vector<HybridMember> fitted;
  for (HybridMember& m : members_) {
    absl::Status s = m.model->Fit(data);
    // A member that cannot work on this data (content without item metadata, EASE on a catalogue too
    // large) is left out; any other error fails the hybrid.
    if (s.code() == absl::StatusCode::kFailedPrecondition) continue;
    if (!s.ok())
      return absl::Status(s.code(), absl::StrCat("hybrid member ", m.model->name(), ": ", s.message()));
    fitted.push_back(m);
  }
  if (fitted.empty()) return absl::FailedPreconditionError("hybrid: no member could be fitted");
  members_ = std::move(fitted);
  return absl::OkStatus();
}

int32_t HybridModel::num_items() const { return members_.empty() ? 0 : members_[0].model->num_items(); }

void HybridModel::set_weights(const std::vector<float>& weights) {
  for (size_t i = 0; i < members_.size() && i < weights.size(); ++i) members_[i].weight = weights[i];
}

void HybridModel::Score(int32_t user, const UserHistory& history, absl::Span<float> out) const {
  Fill(out, 0);
  std::vector<float> buffer(out.size());
  for (const HybridMember& m : members_) {
    if (m.weight == 0) continue;
    m.model->Score(user, history, absl::MakeSpan(buffer));
    NormalizeMaxAbs(absl::MakeSpan(buffer));
    for (size_t i = 0; i < out.size(); ++i) out[i] += m.weight * buffer[i];
  }
}

}  // namespace marketlens::recommender
