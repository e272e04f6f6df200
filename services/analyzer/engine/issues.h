// Issue categories (defective, durability, damaged in shipping, late delivery, ...) with the sentence that
// triggered each, from rules in a config file (data/issues.conf):
//
//   [category]
//   stopped working
//   arrived * broken|damaged|cracked     <- "*" skips up to four words; "a|b" alternatives
//   rust*                                <- a trailing "*" on a word matches any ending (rusted, rusty)
//   neg: customer service                <- fires only in a clause whose sentiment is negative
//
// A match is ignored when one of the three words before it negates it ("never stopped working", "didn't
// break"), unless the pattern itself starts with a negation. Each category is reported once per text, with
// the first sentence that triggered it.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_ISSUES_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_ISSUES_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/analyzer/engine/tokenizer.h"

namespace marketlens::analyzer {

struct IssueHit {
  std::string category;
  uint32_t sentence = 0;  // index into TokenizedText::sentences
  uint32_t first_token = 0;
  uint32_t end_token = 0;
};

class IssueRules {
 public:
  static absl::StatusOr<IssueRules> Parse(absl::string_view conf);

  // `clause_polarity(first, end)`: the polarity of a token range, for "neg:" rules.
  void Find(const TokenizedText& text, const std::function<double(uint32_t, uint32_t)>& clause_polarity,
            std::vector<IssueHit>* out) const;

  const std::vector<std::string>& categories() const { return categories_; }
  size_t rule_count() const { return rules_.size(); }

 private:
  struct Slot {
    std::vector<std::string> alternatives;  // a trailing '*' means prefix
    bool gap = false;                       // "*": up to four tokens
  };
  struct Rule {
    int category = 0;
    std::vector<Slot> slots;
    bool needs_negative = false;
    bool starts_negated = false;
  };
  bool MatchFrom(const TokenizedText& text, uint32_t pos, uint32_t end, const Rule& rule, size_t slot,
                 uint32_t* match_end) const;

  std::vector<std::string> categories_;
  std::vector<Rule> rules_;
  // first slot's literal word (or prefix) -> rules
  absl::flat_hash_map<std::string, std::vector<int>> by_first_;
  std::vector<std::pair<std::string, int>> prefix_first_;  // (prefix, rule)
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_ISSUES_H_
