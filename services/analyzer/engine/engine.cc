#include "services/analyzer/engine/engine.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace marketlens::analyzer {
namespace {

constexpr size_t kMaxQuote = 300;
constexpr double kIssuePenalty = 0.15;

std::string Quote(absl::string_view s) {
  if (s.size() <= kMaxQuote) return std::string(s);
  size_t cut = kMaxQuote;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return absl::StrCat(s.substr(0, cut), "...");
}

double ModelWeight(const TextModel* model, bool lexicon_silent) {
  if (model == nullptr) return 0;
  const double n = static_cast<double>(model->info().examples);
  return (lexicon_silent ? 0.9 : 0.6) * n / (n + 2000.0);
}

// Where one opinion ends and the next begins: punctuation, contrast words, and "and" when a new subject
// follows ("the battery is great and the sound is tinny", but not "tinny and awful").
bool IsClauseBreak(const TokenizedText& t, uint32_t i) {
  const Token& tok = t.tokens[i];
  if (tok.kind == TokenKind::kPunct) return true;
  const absl::string_view w = tok.lower;
  if (w == "but" || w == "however" || w == "although" || w == "though" || w == "while" || w == "whereas") {
    return true;
  }
  if (w == "and" && i + 1 < t.tokens.size()) {
    const absl::string_view n = t.tokens[i + 1].lower;
    return n == "the" || n == "it" || n == "its" || n == "it's" || n == "my" || n == "this" || n == "they" ||
           n == "their" || n == "these" || n == "i" || n == "we";
  }
  return false;
}

}  // namespace

const char* LabelFor(double score, double threshold) {
  if (score >= threshold) return "positive";
  if (score <= -threshold) return "negative";
  return "neutral";
}

Engine::Engine(Lexicon lexicon, AspectTaxonomy taxonomy, IssueRules issues, const EngineConfig& config)
    : lexicon_(std::move(lexicon)),
      issues_(std::move(issues)),
      config_(config),
      rules_(&lexicon_),
      taxonomy_(std::make_shared<const AspectTaxonomy>(std::move(taxonomy))) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const EngineConfig& config) {
  auto pick = [](const std::string& given, absl::string_view name) -> absl::string_view {
    return given.empty() ? EmbeddedData(name) : absl::string_view(given);
  };
  absl::StatusOr<Lexicon> lexicon = Lexicon::Parse(pick(config.lexicon_tsv, "vader_lexicon.tsv"));
  if (!lexicon.ok()) return lexicon.status();
  if (lexicon->size() == 0) return absl::FailedPreconditionError("the sentiment lexicon is empty");
  absl::StatusOr<Lexicon> domain = Lexicon::Parse(pick(config.domain_lexicon_tsv, "domain_lexicon.tsv"));
  if (!domain.ok()) return domain.status();
  absl::Status merged = lexicon->Merge(*domain);
  if (!merged.ok()) return merged;
  absl::StatusOr<AspectTaxonomy> taxonomy = AspectTaxonomy::Parse(pick(config.aspects_conf, "aspects.conf"));
  if (!taxonomy.ok()) return taxonomy.status();
  absl::StatusOr<IssueRules> issues = IssueRules::Parse(pick(config.issues_conf, "issues.conf"));
  if (!issues.ok()) return issues.status();
  if (config.max_bytes < 16) return absl::InvalidArgumentError("max_bytes must be >= 16");
  return std::unique_ptr<Engine>(
      new Engine(*std::move(lexicon), *std::move(taxonomy), *std::move(issues), config));
}

void Engine::SetModel(std::shared_ptr<const TextModel> model) {
  absl::MutexLock lock(&mu_);
  model_ = std::move(model);
}
std::shared_ptr<const TextModel> Engine::model() const {
  absl::MutexLock lock(&mu_);
  return model_;
}
std::shared_ptr<const AspectTaxonomy> Engine::taxonomy() const {
  absl::MutexLock lock(&mu_);
  return taxonomy_;
}
void Engine::SetDiscoveredTerms(const std::vector<DiscoveredTerm>& terms) {
  auto copy = std::make_shared<AspectTaxonomy>(*taxonomy());
  for (const DiscoveredTerm& t : terms) copy->AddDiscovered(t.category, t.term);
  absl::MutexLock lock(&mu_);
  taxonomy_ = std::move(copy);
}

std::string Engine::version() const {
  auto m = model();
  return absl::StrCat(kEngineVersion, "+", m ? m->info().version : "rules");
}

TokenizerOptions Engine::tokenizer_options() const {
  TokenizerOptions o;
  o.max_bytes = config_.max_bytes;
  o.emoticons = &lexicon_.emoticon_set();
  return o;
}

Analysis Engine::Analyze(const ReviewInput& input) const {
  thread_local TokenizedText tt;
  thread_local RuleScores rs;
  thread_local std::string joined;
  thread_local std::vector<AspectHit> hits;
  thread_local std::vector<IssueHit> issue_hits;
  std::shared_ptr<const TextModel> model;
  std::shared_ptr<const AspectTaxonomy> taxonomy;
  {
    absl::MutexLock lock(&mu_);
    model = model_;
    taxonomy = taxonomy_;
  }

  // The title is the first sentence: "Broke after a week" says as much as the body.
  joined.clear();
  if (!input.title.empty()) {
    joined.append(input.title.data(), input.title.size());
    const char last = input.title.back();
    joined.append(last == '.' || last == '!' || last == '?' ? "\n" : ".\n");
  }
  joined.append(input.text.data(), input.text.size());
  Tokenize(joined, tokenizer_options(), &tt);
  rules_.Score(tt, &rs);

  Analysis a;
  a.rule_score = rs.compound;
  const double w = ModelWeight(model.get(), rs.sentiment_tokens == 0);
  a.model_weight = w;
  if (model != nullptr && !tt.tokens.empty()) a.model_score = model->Score(tt);
  a.sentiment = std::clamp((1 - w) * a.rule_score + w * a.model_score, -1.0, 1.0);
  if (tt.words == 0) a.sentiment = 0;
  a.label = LabelFor(a.sentiment, config_.label_threshold);

  // The clause around tokens [b, e): to the nearest clause break on either side, within the sentence.
  auto clause = [&](uint32_t sentence, uint32_t b, uint32_t e, uint32_t* cb, uint32_t* ce) {
    const Sentence& s = tt.sentences[sentence];
    *cb = b;
    *ce = e;
    while (*cb > s.first_token && !IsClauseBreak(tt, *cb - 1)) --*cb;
    while (*ce < s.end_token && !IsClauseBreak(tt, *ce)) ++*ce;
  };
  auto span_polarity = [&](uint32_t b, uint32_t e) {
    const double rule = RuleScorer::SpanScore(rs, b, e);
    bool silent = true;
    for (uint32_t k = b; k < e; ++k) silent &= rs.token_valence[k] == 0;
    const double wm = ModelWeight(model.get(), silent);
    const double m = model != nullptr ? model->SpanScore(tt, b, e) : 0;
    return (1 - wm) * rule + wm * m;
  };

  // Aspects, one entry per aspect (polarity averaged over its mentions, first sentence quoted).
  hits.clear();
  taxonomy->Find(tt, input.category, &hits);
  absl::flat_hash_map<std::string, size_t> by_aspect;
  std::vector<int> mention_counts;
  for (const AspectHit& h : hits) {
    uint32_t cb, ce;
    clause(h.sentence, h.first_token, h.end_token, &cb, &ce);
    double polarity = span_polarity(cb, ce);
    // A clause with no opinion of its own ("the battery.") takes its sentence's.
    bool silent = true;
    for (uint32_t k = cb; k < ce; ++k) silent &= rs.token_valence[k] == 0;
    if (silent && model == nullptr) {
      const Sentence& s = tt.sentences[h.sentence];
      polarity = RuleScorer::SpanScore(rs, s.first_token, s.end_token);
    }
    auto [it, inserted] = by_aspect.emplace(h.aspect, a.aspects.size());
    if (inserted) {
      AspectMention m;
      m.aspect = h.aspect;
      m.polarity = polarity;
      m.quote = Quote(tt.SentenceText(tt.sentences[h.sentence]));
      m.discovered = h.discovered;
      a.aspects.push_back(std::move(m));
      mention_counts.push_back(1);
    } else {
      AspectMention& m = a.aspects[it->second];
      int& n = mention_counts[it->second];
      m.polarity = (m.polarity * n + polarity) / (n + 1);
      ++n;
    }
  }
  for (AspectMention& m : a.aspects) m.polarity = std::round(std::clamp(m.polarity, -1.0, 1.0) * 1000) / 1000;

  issue_hits.clear();
  issues_.Find(tt, span_polarity, &issue_hits);
  for (const IssueHit& h : issue_hits) {
    a.issues.push_back({h.category, Quote(tt.SentenceText(tt.sentences[h.sentence]))});
  }
  // A reported problem is negative even when worded flatly ("it stopped working after two weeks"): each
  // issue category (at most two) lowers the rules' score.
  if (!a.issues.empty()) {
    a.rule_score = std::clamp(a.rule_score - kIssuePenalty * std::min<size_t>(a.issues.size(), 2), -1.0, 1.0);
    a.sentiment = std::clamp((1 - w) * a.rule_score + w * a.model_score, -1.0, 1.0);
    a.label = LabelFor(a.sentiment, config_.label_threshold);
  }

  // Quality flags.
  if (tt.words == 0) {
    a.quality_flags.push_back("empty");
  } else if (tt.words < 4) {
    a.quality_flags.push_back("too_short");
  }
  if (tt.truncated) a.quality_flags.push_back("truncated");
  if (tt.invalid_utf8) a.quality_flags.push_back("invalid_utf8");
  if (tt.words >= 4 && tt.caps_words * 2 > tt.words) a.quality_flags.push_back("shouting");
  if (absl::StrContains(tt.lower, "http://") || absl::StrContains(tt.lower, "https://") ||
      absl::StrContains(tt.lower, "www.")) {
    a.quality_flags.push_back("contains_url");
  }
  if (tt.words >= 12) {
    thread_local absl::flat_hash_set<absl::string_view> distinct;
    distinct.clear();
    for (const Token& t : tt.tokens) {
      if (t.kind == TokenKind::kWord) distinct.insert(t.lower);
    }
    if (distinct.size() * 10 < static_cast<size_t>(tt.words) * 3) a.quality_flags.push_back("repetitive");
  }
  if (input.rating >= 4 && a.sentiment <= -0.4) a.quality_flags.push_back("rating_mismatch");
  if (input.rating >= 1 && input.rating <= 2 && a.sentiment >= 0.4)
    a.quality_flags.push_back("rating_mismatch");
  a.sentiment = std::round(a.sentiment * 10000) / 10000;
  return a;
}

}  // namespace marketlens::analyzer
