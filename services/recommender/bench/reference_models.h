// Reference implementations, written independently of algo/ and as plainly as possible, so that tests and
// benches can check the production models against them on the same split in the same run:
//   ReferenceEase: Steck's EASE with a dense binary X: G = X^T X + lambda I, P = G^-1,
//                  B = -P / diag(P), diag(B) = 0 (double precision, full inverse; small catalogues only).
//   ReferenceIals: Hu, Koren & Volinsky (2008) with binary preferences and confidence 1 + alpha, every user
//                  and item row solved EXACTLY (Cholesky of YtY + Yt(Cu - I)Y + reg I) each half-iteration,
//                  single-threaded, no conjugate gradient, no warm start tricks.
//   ReferencePopularity: items ranked by how many training users have them.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_BENCH_REFERENCE_MODELS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_BENCH_REFERENCE_MODELS_H_

#include <eigen3/Eigen/Dense>

#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

class ReferenceEase : public Model {
 public:
  explicit ReferenceEase(double lambda) : lambda_(lambda) {}
  std::string name() const override { return "reference_ease"; }
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return static_cast<int32_t>(b_.rows()); }

 private:
  double lambda_;
  Eigen::MatrixXd b_;
};

class ReferenceIals : public Model {
 public:
  ReferenceIals(int factors, double regularization, double alpha, int iterations)
      : factors_(factors), reg_(regularization), alpha_(alpha), iterations_(iterations) {}
  std::string name() const override { return "reference_ials"; }
  Params params() const override;
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return static_cast<int32_t>(y_.rows()); }

 private:
  int factors_;
  double reg_, alpha_;
  int iterations_;
  Eigen::MatrixXd x_, y_;
};

class ReferencePopularity : public Model {
 public:
  std::string name() const override { return "reference_popularity"; }
  Params params() const override { return {}; }
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t, const UserHistory&, absl::Span<float> out) const override;
  int32_t num_items() const override { return static_cast<int32_t>(counts_.size()); }

 private:
  std::vector<float> counts_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_BENCH_REFERENCE_MODELS_H_
