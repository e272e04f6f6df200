#include "services/analyzer/engine/issues.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace marketlens::analyzer {
namespace {

bool SlotWordMatches(absl::string_view token, const std::string& alt) {
  if (alt.size() > 1 && alt.back() == '*')
    return absl::StartsWith(token, absl::string_view(alt).substr(0, alt.size() - 1));
  return token == alt;
}

}  // namespace

absl::StatusOr<IssueRules> IssueRules::Parse(absl::string_view conf) {
  IssueRules rules;
  int category = -1;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(conf, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return absl::InvalidArgumentError(absl::StrCat("issues line ", line_no, ": bad section header"));
      }
      rules.categories_.emplace_back(absl::StripAsciiWhitespace(line.substr(1, line.size() - 2)));
      category = static_cast<int>(rules.categories_.size()) - 1;
      continue;
    }
    if (category < 0)
      return absl::InvalidArgumentError(absl::StrCat("issues line ", line_no, ": rule outside a [category]"));
    Rule rule;
    rule.category = category;
    if (absl::ConsumePrefix(&line, "neg:")) rule.needs_negative = true;
    for (absl::string_view word : absl::StrSplit(absl::AsciiStrToLower(line), ' ', absl::SkipWhitespace())) {
      Slot slot;
      if (word == "*") {
        slot.gap = true;
      } else {
        slot.alternatives = absl::StrSplit(word, '|', absl::SkipEmpty());
      }
      rule.slots.push_back(std::move(slot));
    }
    if (rule.slots.empty() || rule.slots.front().gap || rule.slots.back().gap) {
      return absl::InvalidArgumentError(
          absl::StrCat("issues line ", line_no, ": a rule must start and end with a word"));
    }
    for (const std::string& alt : rule.slots.front().alternatives) {
      if (IsNegator(alt)) rule.starts_negated = true;
    }
    const int index = static_cast<int>(rules.rules_.size());
    for (const std::string& alt : rule.slots.front().alternatives) {
      if (alt.size() > 1 && alt.back() == '*') {
        rules.prefix_first_.emplace_back(alt.substr(0, alt.size() - 1), index);
      } else {
        rules.by_first_[alt].push_back(index);
      }
    }
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

bool IssueRules::MatchFrom(const TokenizedText& text, uint32_t pos, uint32_t end, const Rule& rule,
                           size_t slot, uint32_t* match_end) const {
  if (slot == rule.slots.size()) {
    *match_end = pos;
    return true;
  }
  const Slot& s = rule.slots[slot];
  if (s.gap) {
    for (uint32_t skip = 0; skip <= 4 && pos + skip <= end; ++skip) {
      if (skip > 0 && text.tokens[pos + skip - 1].kind == TokenKind::kPunct) break;
      if (MatchFrom(text, pos + skip, end, rule, slot + 1, match_end)) return true;
    }
    return false;
  }
  if (pos >= end) return false;
  const absl::string_view token = text.tokens[pos].lower;
  for (const std::string& alt : s.alternatives) {
    if (SlotWordMatches(token, alt)) return MatchFrom(text, pos + 1, end, rule, slot + 1, match_end);
  }
  return false;
}

void IssueRules::Find(const TokenizedText& text,
                      const std::function<double(uint32_t, uint32_t)>& clause_polarity,
                      std::vector<IssueHit>* out) const {
  std::vector<bool> found(categories_.size(), false);
  std::vector<int> candidates;
  for (uint32_t si = 0; si < text.sentences.size(); ++si) {
    const Sentence& s = text.sentences[si];
    for (uint32_t i = s.first_token; i < s.end_token; ++i) {
      const Token& tok = text.tokens[i];
      if (tok.kind != TokenKind::kWord) continue;
      candidates.clear();
      auto it = by_first_.find(tok.lower);
      if (it != by_first_.end()) candidates = it->second;
      for (const auto& [prefix, rule] : prefix_first_) {
        if (absl::StartsWith(tok.lower, prefix)) candidates.push_back(rule);
      }
      for (int r : candidates) {
        const Rule& rule = rules_[r];
        if (found[rule.category]) continue;
        uint32_t match_end = 0;
        if (!MatchFrom(text, i, s.end_token, rule, 0, &match_end)) continue;
        // Negated ("never stopped working", "no problems with delivery")?
        if (!rule.starts_negated) {
          bool negated = false;
          int back = 0;
          for (uint32_t j = i; j > s.first_token && back < 3;) {
            --j;
            const Token& p = text.tokens[j];
            if (p.kind == TokenKind::kPunct || p.lower == "but") break;
            ++back;
            if (IsNegator(p.lower)) negated = true;
          }
          if (negated) continue;
        }
        if (rule.needs_negative) {
          // The clause around the match: to the nearest punctuation or "but" on each side.
          uint32_t b = i, e = match_end;
          while (b > s.first_token && text.tokens[b - 1].kind != TokenKind::kPunct &&
                 text.tokens[b - 1].lower != "but")
            --b;
          while (e < s.end_token && text.tokens[e].kind != TokenKind::kPunct && text.tokens[e].lower != "but")
            ++e;
          if (clause_polarity(b, e) > -0.25) continue;
        }
        found[rule.category] = true;
        out->push_back({categories_[rule.category], si, i, match_end});
      }
    }
  }
}

}  // namespace marketlens::analyzer
