// Train/test splits of an interaction log. A split works on (user, item) pairs: every event of a pair
// goes to the same side, so a test item is never half-seen in training.
//   RandomPerUser:      each user's pairs are shuffled and `test_fraction` of them (at least one) go to
//                       test; users with fewer than 2 pairs stay in training only.
//   TemporalLeaveLastN: each user's last n pairs (by their latest event) go to test, the "predict what
//                       they do next" protocol; users with n or fewer pairs stay in training only.
// Explicit train and test files need no split: the evaluator takes two logs.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_EVAL_SPLIT_H_
#define MARKETLENS_SERVICES_RECOMMENDER_EVAL_SPLIT_H_

#include <cstdint>

#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct Split {
  InteractionLog train;
  InteractionLog test;
};

Split RandomPerUser(const InteractionLog& log, double test_fraction, uint64_t seed);
Split TemporalLeaveLastN(const InteractionLog& log, int n);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_EVAL_SPLIT_H_
