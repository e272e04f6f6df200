// The LLM review mode's daily budget: at most `reviews_per_day` reviews answered by the model and
// `tokens_per_day` tokens (prompt + completion, as the server reports them; estimated from the bytes when
// it does not) per UTC day. A batch is sent only if its estimate fits what is left; tokens are charged as
// spent (retries and answers that were then rejected included), so the token figure can be overshot by one
// request's cost beyond its estimate (more when that request was retried). Thread-safe.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_BUDGET_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_BUDGET_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace marketlens::analyzer::llm_review {

class DailyBudget {
 public:
  DailyBudget(
      int64_t reviews_per_day, int64_t tokens_per_day,
      std::function<absl::Time()> now = [] { return absl::Now(); });

  // How many of the reviews (their token estimates, in order, plus `overhead` once for the request) fit in
  // what is left today; 0 when none does, and then `exhausted` names the budget ("reviews" or "tokens").
  int Fit(const std::vector<int64_t>& estimates, int64_t overhead, std::string* exhausted);
  // Charges what a call used.
  void Spend(int64_t reviews, int64_t tokens);

  int64_t reviews_left();
  int64_t tokens_left();
  // The start of the next UTC day (when the budget is full again).
  absl::Time next_reset();

 private:
  void Roll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const int64_t reviews_per_day_, tokens_per_day_;
  std::function<absl::Time()> now_;
  absl::Mutex mu_;
  absl::CivilDay day_ ABSL_GUARDED_BY(mu_);
  int64_t reviews_used_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t tokens_used_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketlens::analyzer::llm_review

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_BUDGET_H_
