// The vocabulary of the generated marketplace, read from data/*.textproto (schema: vocabulary.proto;
// the files are embedded in the binary at build time, so every binary and image carries them): categories
// with their kinds of products, brands, price ranges and attributes; the aspects reviewers talk about (with
// phrasings for praise and complaint); the issues a product can have (with phrasings and the customer-service
// topic they lead to); shopper taste clusters; names, occupations and regions; the word lists the generator
// draws from. Plain data, parsed and checked once on first use, shared read-only. Editing the data files
// changes the generated world.
//
// Phrases are lower-case clauses that the text generator capitalises and joins. Placeholders:
//   {it} {is} {was} {has} {does}  - pronoun and verbs agreeing with the product noun ("it is" / "they are")
//   {obj}                         - the object pronoun ("it" / "them"); {this}: "this" / "these"
//   {noun}                        - the product noun, e.g. "earbuds"
//   {part}                        - a part of the product, e.g. "charging case", "holder"
//   {period}                      - a span of use, e.g. "a week"
#ifndef MARKETLENS_SERVICES_MARKETPLACE_VOCABULARY_H_
#define MARKETLENS_SERVICES_MARKETPLACE_VOCABULARY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace marketlens::marketplace {

struct AspectSpec {
  std::string name;                   // stable id used in the truth, e.g. "battery"
  std::vector<std::string> nouns;     // how reviewers name it: "battery", "battery life"
  std::vector<std::string> good;      // praise clauses
  std::vector<std::string> bad;       // complaint clauses
  std::vector<std::string> good_adj;  // "the <noun> is <adj>"
  std::vector<std::string> bad_adj;
  // Whether generic templates ("no complaints about the <noun>") read well with these nouns.
  bool generic = true;
};

struct IssueSpec {
  std::string name;                  // stable id, e.g. "broke_quickly"
  std::vector<std::string> phrases;  // clauses
  std::vector<std::string> titles;   // review titles
  std::string contact_topic;         // what a customer-service contact about it is filed under
};

struct ProductKind {
  std::string noun;  // "earbuds"
  bool plural = false;
  std::string title;                  // "Wireless Earbuds"
  std::vector<std::string> features;  // title fragments: "Bluetooth 5.3"
  std::vector<std::string> parts;     // "charging case"
  std::vector<std::string> uses;      // "for the gym", for descriptions and context sentences
  std::vector<std::string> aspects;   // when set: the aspects of this kind (instead of the category's)
};

struct CategorySpec {
  std::string name;
  std::vector<ProductKind> kinds;
  std::vector<std::string> brands;
  std::vector<std::string> aspects;  // category aspects (AspectSpec names)
  std::vector<std::string> issues;   // issues products of this category can have (IssueSpec names)
  long long price_min_cents = 0;
  long long price_max_cents = 0;
  double margin_min = 0.1;
  double margin_max = 0.5;
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes;  // key -> values
};

struct ClusterSpec {
  std::string name;
  std::vector<std::pair<std::string, double>> category_weights;  // category -> weight (others: 0.3)
  double price_sensitivity;                                      // 0..1
};

const std::vector<CategorySpec>& Categories();
const std::vector<AspectSpec>& Aspects();
const std::vector<IssueSpec>& Issues();
const std::vector<ClusterSpec>& Clusters();
// Aspects every product has besides its category's: value, delivery, packaging, ...
const std::vector<std::string>& UniversalAspects();

// The aspects reviewers discuss for a kind of product (besides the universal ones).
const std::vector<std::string>& AspectsOf(const CategorySpec& category, const ProductKind& kind);

// nullptr when unknown.
const AspectSpec* FindAspect(absl::string_view name);
const IssueSpec* FindIssue(absl::string_view name);

const std::vector<std::string>& FirstNames();
const std::vector<std::string>& LastNames();
const std::vector<std::string>& Occupations();
const std::vector<std::string>& Regions();
const std::vector<std::string>& Periods();    // "a week", "two months", ...
const std::vector<std::string>& Relatives();  // "my wife", "my son", ...
const std::vector<std::string>& Platforms();  // "instagram", "tiktok", ...
const std::vector<std::string>& Colors();
const std::vector<std::string>& EmailDomains();  // customers' e-mail domains

// Generator word lists (data/generator.textproto).
// The issue a deteriorating product develops: the first of these its category has.
const std::vector<std::string>& DeteriorationIssues();
// How an edited review tells that a problem was fixed.
const std::vector<std::string>& ResolvedUpdatePhrases();
// Model suffixes appended to product titles ("" = none; repeated entries weigh more).
const std::vector<std::string>& TitleSuffixes();
// Topics of purchase-related customer-service contacts, with weights.
const std::vector<std::pair<std::string, double>>& PurchaseContactTopics();
// Influencer handles are "@" + prefix + suffix.
const std::vector<std::string>& InfluencerHandlePrefixes();
const std::vector<std::string>& InfluencerHandleSuffixes();
// The median share of an influencer's followers a post on this platform reaches (0 when unknown).
double PlatformReach(absl::string_view platform);

// The embedded vocabulary text (the data files, concatenated).
absl::string_view VocabularyText();
// Parses and checks a vocabulary: INVALID_ARGUMENT naming the problem (a parse error with its line, an empty
// list, a category naming an unknown aspect, ...). The embedded one is checked by vocabulary_test.
absl::Status CheckVocabulary(absl::string_view textproto);
// Replaces the embedded vocabulary (the marketplace's --vocabulary_file), before anything reads it:
// INVALID_ARGUMENT as CheckVocabulary, FAILED_PRECONDITION once the vocabulary is in use.
absl::Status UseVocabulary(absl::string_view textproto);
// The same from a file (NOT_FOUND when it cannot be read); errors name the path.
absl::Status UseVocabularyFile(const std::string& path);

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_VOCABULARY_H_
