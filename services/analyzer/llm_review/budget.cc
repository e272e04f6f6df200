#include "services/analyzer/llm_review/budget.h"

#include <algorithm>

namespace marketlens::analyzer::llm_review {

DailyBudget::DailyBudget(int64_t reviews_per_day, int64_t tokens_per_day, std::function<absl::Time()> now)
    : reviews_per_day_(reviews_per_day), tokens_per_day_(tokens_per_day), now_(std::move(now)) {
  day_ = absl::ToCivilDay(now_(), absl::UTCTimeZone());
}

void DailyBudget::Roll() {
  const absl::CivilDay today = absl::ToCivilDay(now_(), absl::UTCTimeZone());
  if (today != day_) {
    day_ = today;
    reviews_used_ = 0;
    tokens_used_ = 0;
  }
}

int DailyBudget::Fit(const std::vector<int64_t>& estimates, int64_t overhead, std::string* exhausted) {
  absl::MutexLock lock(&mu_);
  Roll();
  int64_t reviews = reviews_used_, tokens = tokens_used_ + overhead;
  int n = 0;
  for (int64_t e : estimates) {
    if (reviews + 1 > reviews_per_day_) {
      if (n == 0 && exhausted != nullptr) *exhausted = "reviews";
      break;
    }
    if (tokens + e > tokens_per_day_) {
      if (n == 0 && exhausted != nullptr) *exhausted = "tokens";
      break;
    }
    ++reviews;
    tokens += e;
    ++n;
  }
  return n;
}

void DailyBudget::Spend(int64_t reviews, int64_t tokens) {
  absl::MutexLock lock(&mu_);
  Roll();
  reviews_used_ += reviews;
  tokens_used_ += tokens;
}

int64_t DailyBudget::reviews_left() {
  absl::MutexLock lock(&mu_);
  Roll();
  return std::max<int64_t>(0, reviews_per_day_ - reviews_used_);
}

int64_t DailyBudget::tokens_left() {
  absl::MutexLock lock(&mu_);
  Roll();
  return std::max<int64_t>(0, tokens_per_day_ - tokens_used_);
}

absl::Time DailyBudget::next_reset() {
  absl::MutexLock lock(&mu_);
  Roll();
  return absl::FromCivil(day_ + 1, absl::UTCTimeZone());
}

}  // namespace marketlens::analyzer::llm_review
