#include "services/analyzer/engine/engine.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "services/analyzer/engine/aspect_tagger.h"
#include "services/analyzer/engine/tagged_aspects.h"

namespace marketlens::analyzer {
namespace {

constexpr double kIssuePenalty = 0.15;

std::string Quote(absl::string_view s) {
  if (s.size() <= kMaxQuoteBytes) return std::string(s);
  size_t cut = kMaxQuoteBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return absl::StrCat(s.substr(0, cut), "...");
}

// The sentence(s) around bytes [begin, end) of the text: from the start of the sentence holding `begin` to
// the end of the one holding `end` (a link's dots split sentences: "see www.x.com now" is one quote).
std::string SpanQuote(const TokenizedText& tt, size_t begin, size_t end) {
  size_t from = begin, to = end;
  for (const Sentence& s : tt.sentences) {
    if (s.end > begin && s.begin <= begin) from = s.begin;
    if (s.begin < end && s.end >= end) to = s.end;
  }
  from = std::min(from, begin);
  to = std::max(to, end);
  return Quote(absl::StripAsciiWhitespace(absl::string_view(tt.text).substr(from, to - from)));
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

bool Analysis::HasFlag(absl::string_view name) const { return Flag(name) != nullptr; }
const QualityFlag* Analysis::Flag(absl::string_view name) const {
  for (const QualityFlag& f : quality_flags) {
    if (f.flag == name) return &f;
  }
  return nullptr;
}

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
  ASSIGN_OR_RETURN(Lexicon lexicon, Lexicon::Parse(pick(config.lexicon_tsv, "vader_lexicon.tsv")));
  if (lexicon.size() == 0) return absl::FailedPreconditionError("the sentiment lexicon is empty");
  ASSIGN_OR_RETURN(Lexicon domain, Lexicon::Parse(pick(config.domain_lexicon_tsv, "domain_lexicon.tsv")));
  RETURN_IF_ERROR(lexicon.Merge(domain));
  ASSIGN_OR_RETURN(AspectTaxonomy taxonomy, AspectTaxonomy::Parse(pick(config.aspects_conf, "aspects.conf")));
  ASSIGN_OR_RETURN(IssueRules issues, IssueRules::Parse(pick(config.issues_conf, "issues.conf")));
  if (config.max_bytes < 16) return absl::InvalidArgumentError("max_bytes must be >= 16");
  return std::unique_ptr<Engine>(
      new Engine(std::move(lexicon), std::move(taxonomy), std::move(issues), config));
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

void Engine::SetAspectTagger(std::shared_ptr<const AspectTagger> tagger) {
  absl::MutexLock lock(&mu_);
  aspect_tagger_ = std::move(tagger);
}

std::string Engine::version() const {
  auto m = model();
  std::shared_ptr<const AspectTagger> tagger;
  {
    absl::MutexLock lock(&mu_);
    tagger = aspect_tagger_;
  }
  return absl::StrCat(kEngineVersion, "+", m ? m->info().version : "rules",
                      tagger ? absl::StrCat("+", tagger->version()) : "");
}

TokenizerOptions Engine::tokenizer_options() const {
  TokenizerOptions o;
  o.max_bytes = config_.max_bytes;
  o.emoticons = &lexicon_.emoticon_set();
  return o;
}

double Engine::LexiconScore(const TokenizedText& text, uint32_t first, uint32_t end) const {
  thread_local RuleScores rs;
  rules_.Score(text, &rs);
  if (first == 0 && end >= text.tokens.size()) return rs.compound;
  return RuleScorer::SpanScore(rs, first, end);
}

double Engine::Combine(double rule_score, double model_probability, int words) const {
  const double model_score = 2 * model_probability - 1;
  double needed = config_.model_override_confidence;
  if (words < config_.model_full_trust_words) {
    const double shortfall = 1.0 - static_cast<double>(words) / config_.model_full_trust_words;
    needed += (1.0 - needed) * shortfall;
  }
  return std::abs(model_score) >= needed ? model_score : rule_score;
}

Analysis Engine::Analyze(const ReviewInput& input) const { return AnalyzeWithModel(input, model().get()); }

Analysis Engine::AnalyzeWithModel(const ReviewInput& input, const TextModel* model) const {
  thread_local TokenizedText tt;
  thread_local RuleScores rs;
  thread_local std::string joined;
  thread_local std::vector<AspectHit> hits;
  thread_local std::vector<IssueHit> issue_hits;
  std::shared_ptr<const AspectTaxonomy> taxonomy;
  std::shared_ptr<const AspectTagger> tagger;
  {
    absl::MutexLock lock(&mu_);
    taxonomy = taxonomy_;
    tagger = aspect_tagger_;
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
  double model_probability = 0.5;
  if (model != nullptr && !tt.tokens.empty()) {
    model_probability = model->Probability(tt, 0, static_cast<uint32_t>(tt.tokens.size()), rs.compound);
    a.model_score = 2 * model_probability - 1;
  }
  // The whole text's sentiment (rules, then the model where it is confident), set again after the issue
  // penalty below.
  auto combine_whole = [&] {
    a.sentiment = model != nullptr ? Combine(a.rule_score, model_probability, tt.words) : a.rule_score;
    a.model_weight = model != nullptr && a.sentiment != a.rule_score ? 1.0 : 0.0;
    a.sentiment = std::clamp(a.sentiment, -1.0, 1.0);
    if (tt.words == 0) a.sentiment = 0;
    a.label = LabelFor(a.sentiment, config_.label_threshold);
  };
  combine_whole();

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
    if (model == nullptr) return rule;
    int words = 0;
    for (uint32_t k = b; k < e; ++k) words += tt.tokens[k].kind == TokenKind::kWord;
    return Combine(rule, model->Probability(tt, b, e, rule), words);
  };

  // Aspects, one entry per aspect (polarity averaged over its mentions, first sentence quoted).
  hits.clear();
  if (tagger == nullptr) taxonomy->Find(tt, input.category, &hits);
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
  if (tagger != nullptr) AddTaggedAspects(*tagger, *taxonomy, input.category, tt, &a.aspects);
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
    combine_whole();
  }

  // Quality flags, each with the sentence that triggered it.
  auto flag = [&](const char* name, std::string sentence) {
    a.quality_flags.push_back({name, std::move(sentence)});
  };
  auto sentence_quote = [&](size_t si) {
    return si < tt.sentences.size() ? Quote(tt.SentenceText(tt.sentences[si])) : std::string();
  };
  // The sentence with the highest `score` (the first of equals).
  auto best_sentence = [&](const std::function<double(const Sentence&)>& score) {
    size_t best = 0;
    double best_score = -1e300;
    for (size_t si = 0; si < tt.sentences.size(); ++si) {
      const double v = score(tt.sentences[si]);
      if (v > best_score) {
        best_score = v;
        best = si;
      }
    }
    return sentence_quote(best);
  };
  if (tt.words == 0) {
    flag("empty", "");
  } else if (tt.words < 4) {
    flag("too_short", Quote(absl::StripAsciiWhitespace(tt.text)));
  }
  if (tt.truncated) flag("truncated", tt.sentences.empty() ? "" : sentence_quote(tt.sentences.size() - 1));
  if (tt.invalid_utf8) {
    const size_t at = tt.text.find("\xEF\xBF\xBD");  // U+FFFD, what each bad byte became
    flag("invalid_utf8", at == std::string::npos ? "" : SpanQuote(tt, at, at + 3));
  }
  if (tt.words >= 4 && tt.caps_words * 2 > tt.words) {
    flag("shouting", best_sentence([&](const Sentence& s) {
           int caps = 0;
           for (uint32_t k = s.first_token; k < s.end_token; ++k) caps += tt.tokens[k].all_caps;
           return static_cast<double>(caps);
         }));
  }
  size_t url = std::string::npos;
  for (const char* scheme : {"http://", "https://", "www."}) url = std::min(url, tt.lower.find(scheme));
  if (url != std::string::npos) {
    size_t url_end = url;
    while (url_end < tt.text.size() && !absl::ascii_isspace(static_cast<unsigned char>(tt.text[url_end])))
      ++url_end;
    flag("contains_url", SpanQuote(tt, url, url_end));
  }
  if (tt.words >= 12) {
    thread_local absl::flat_hash_set<absl::string_view> distinct;
    distinct.clear();
    for (const Token& t : tt.tokens) {
      if (t.kind == TokenKind::kWord) distinct.insert(t.lower);
    }
    if (distinct.size() * 10 < static_cast<size_t>(tt.words) * 3) {
      // The sentence repeating the most words said before it.
      std::vector<int> repeats(tt.sentences.size(), 0);
      distinct.clear();
      for (size_t si = 0; si < tt.sentences.size(); ++si) {
        for (uint32_t k = tt.sentences[si].first_token; k < tt.sentences[si].end_token; ++k) {
          if (tt.tokens[k].kind == TokenKind::kWord && !distinct.insert(tt.tokens[k].lower).second) {
            ++repeats[si];
          }
        }
      }
      const size_t most = std::max_element(repeats.begin(), repeats.end()) - repeats.begin();
      flag("repetitive", sentence_quote(most));
    }
  }
  const bool praised_but_low = input.rating >= 1 && input.rating <= 2 && a.sentiment >= 0.4;
  const bool panned_but_high = input.rating >= 4 && a.sentiment <= -0.4;
  if (praised_but_low || panned_but_high) {
    // The sentence that contradicts the rating most.
    flag("rating_mismatch", best_sentence([&](const Sentence& s) {
           const double p = span_polarity(s.first_token, s.end_token);
           return panned_but_high ? -p : p;
         }));
  }
  a.sentiment = std::round(a.sentiment * 10000) / 10000;
  return a;
}

}  // namespace marketlens::analyzer
