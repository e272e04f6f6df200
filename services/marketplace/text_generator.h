// Writes the generated marketplace's free text: review titles and bodies, customer-service notes and
// product descriptions. A review is written from a plan (rating, aspects with their polarity, issues) so
// the planted truth is known, but reads like people wrote it: specific and generic phrasings, negation
// ("can't fault the battery", "the sound is not great"), mixed opinions joined in one sentence, hedges,
// context ("got this for my dad"), and writer voices from careful to sloppy (lower case, dropped
// apostrophes, missing full stops, typos).
#ifndef MARKETLENS_SERVICES_MARKETPLACE_TEXT_GENERATOR_H_
#define MARKETLENS_SERVICES_MARKETPLACE_TEXT_GENERATOR_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/marketplace/rng.h"
#include "services/marketplace/vocabulary.h"

namespace marketlens::marketplace {

struct ReviewPlan {
  const CategorySpec* category = nullptr;
  const ProductKind* kind = nullptr;
  int rating = 3;                                          // 1..5
  std::vector<std::pair<const AspectSpec*, int>> aspects;  // polarity -1, 0, +1
  std::vector<const IssueSpec*> issues;
};

struct ReviewText {
  std::string title;
  std::string text;
  // What the text actually mentions (terse writers mention less than planned): indexes into
  // plan.aspects and plan.issues. The planted truth is built from these.
  std::vector<size_t> mentioned_aspects;
  std::vector<size_t> mentioned_issues;
};

ReviewText WriteReview(const ReviewPlan& plan, Rng& rng);

struct ContactPlan {
  std::string channel;  // "email", "call", "chat"
  std::string topic;    // e.g. "damaged item", "order status"
  std::string customer_first_name;
  std::string product_name;           // short: "Voltix earbuds"
  const ProductKind* kind = nullptr;  // may be null when no product is discussed
  const IssueSpec* issue = nullptr;   // may be null
  double sentiment = 0;               // -1..1, how the customer felt
};

// CRM-style agent notes ("Cust called re: Voltix earbuds - charging case broke after two weeks. ...").
std::string WriteContactNotes(const ContactPlan& plan, Rng& rng);

// A short marketing description.
std::string WriteDescription(const CategorySpec& category, const ProductKind& kind, absl::string_view brand,
                             const std::vector<std::string>& features,
                             const std::vector<std::string>& strengths, Rng& rng);

// Fills the vocabulary placeholders ({it}, {is}, {obj}, {noun}, {part}, {period}, ...) for `kind`.
std::string FillPlaceholders(absl::string_view tmpl, const ProductKind& kind, Rng& rng);

// Introduces typos at about `rate` per word (swaps, drops, doubled letters, common misspellings).
std::string AddTypos(absl::string_view text, double rate, Rng& rng);

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_TEXT_GENERATOR_H_
