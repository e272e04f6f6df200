#include "services/marketplace/vocabulary.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/status/macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "services/marketplace/vocabulary.pb.h"

namespace marketlens::marketplace {

// The data/*.textproto files, concatenated at build time (vocabulary_data.cc, generated).
absl::string_view EmbeddedVocabularyText();

namespace {

using google::protobuf::RepeatedPtrField;

std::vector<std::string> Strings(const RepeatedPtrField<std::string>& field) {
  return std::vector<std::string>(field.begin(), field.end());
}

std::vector<std::pair<std::string, double>> WeightedPairs(const RepeatedPtrField<vocab::Weighted>& field) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& w : field) out.emplace_back(w.name(), w.weight());
  return out;
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("marketplace vocabulary: ", what));
}

// Collects the textproto parser's errors with their line and column.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    errors_.push_back(absl::StrCat("line ", line + 1, ":", column + 1, ": ", message));
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

// Everything the accessors below hand out, converted from the schema once.
struct ParsedVocabulary {
  std::vector<AspectSpec> aspects;
  std::vector<std::string> universal_aspects;
  std::vector<IssueSpec> issues;
  std::vector<CategorySpec> categories;
  std::vector<ClusterSpec> clusters;
  std::vector<std::string> first_names, last_names, occupations, regions, periods, relatives, platforms,
      colors, email_domains;
  std::vector<std::string> deterioration_issues, resolved_update_phrases, title_suffixes;
  std::vector<std::pair<std::string, double>> purchase_contact_topics;
  std::vector<std::string> influencer_handle_prefixes, influencer_handle_suffixes;
  absl::flat_hash_map<std::string, double> platform_reach;
  absl::flat_hash_map<std::string, const AspectSpec*> aspect_index;
  absl::flat_hash_map<std::string, const IssueSpec*> issue_index;
};

// Every list the generator draws from must be non-empty, and names must refer to defined entries.
absl::Status Validate(const ParsedVocabulary& c) {
  for (const auto& [name, list] : std::vector<std::pair<const char*, const std::vector<std::string>*>>{
           {"universal_aspects", &c.universal_aspects},
           {"first_names", &c.first_names},
           {"last_names", &c.last_names},
           {"occupations", &c.occupations},
           {"regions", &c.regions},
           {"periods", &c.periods},
           {"relatives", &c.relatives},
           {"platforms", &c.platforms},
           {"colors", &c.colors},
           {"email_domains", &c.email_domains},
           {"deterioration_issues", &c.deterioration_issues},
           {"resolved_update_phrases", &c.resolved_update_phrases},
           {"title_suffixes", &c.title_suffixes},
           {"influencer_handle_prefixes", &c.influencer_handle_prefixes},
           {"influencer_handle_suffixes", &c.influencer_handle_suffixes}}) {
    if (list->empty()) return Invalid(absl::StrCat(name, " is empty"));
  }
  if (c.categories.empty()) return Invalid("no categories");
  if (c.clusters.empty()) return Invalid("no clusters");
  if (c.purchase_contact_topics.empty()) return Invalid("purchase_contact_topics is empty");
  auto known_aspect = [&](const std::string& name, absl::string_view where) -> absl::Status {
    if (c.aspect_index.contains(name)) return absl::OkStatus();
    return Invalid(absl::StrCat(where, ": unknown aspect \"", name, "\""));
  };
  auto known_issue = [&](const std::string& name, absl::string_view where) -> absl::Status {
    if (c.issue_index.contains(name)) return absl::OkStatus();
    return Invalid(absl::StrCat(where, ": unknown issue \"", name, "\""));
  };
  for (const auto& a : c.aspects) {
    if (a.nouns.empty()) return Invalid(absl::StrCat("aspect \"", a.name, "\" has no nouns"));
  }
  for (const auto& i : c.issues) {
    if (i.phrases.empty() || i.titles.empty()) {
      return Invalid(absl::StrCat("issue \"", i.name, "\" needs phrases and titles"));
    }
  }
  for (const auto& name : c.universal_aspects) {
    RETURN_IF_ERROR(known_aspect(name, "universal_aspects"));
  }
  absl::flat_hash_set<std::string> category_names;
  for (const auto& cat : c.categories) {
    const std::string where = absl::StrCat("category \"", cat.name, "\"");
    if (!category_names.insert(cat.name).second) return Invalid(absl::StrCat(where, " is defined twice"));
    if (cat.kinds.empty() || cat.brands.empty() || cat.issues.empty()) {
      return Invalid(absl::StrCat(where, " needs kinds, brands and issues"));
    }
    if (cat.price_min_cents <= 0 || cat.price_max_cents < cat.price_min_cents) {
      return Invalid(absl::StrCat(where, ": prices must be 0 < price_min_cents <= price_max_cents"));
    }
    if (cat.margin_min < 0 || cat.margin_max > 1 || cat.margin_max < cat.margin_min) {
      return Invalid(absl::StrCat(where, ": margins must be 0 <= margin_min <= margin_max <= 1"));
    }
    for (const auto& name : cat.aspects) {
      RETURN_IF_ERROR(known_aspect(name, where));
    }
    for (const auto& name : cat.issues) {
      RETURN_IF_ERROR(known_issue(name, where));
    }
    for (const auto& kind : cat.kinds) {
      if (kind.parts.empty() || kind.uses.empty() || kind.features.empty()) {
        return Invalid(absl::StrCat(where, " kind \"", kind.noun, "\" needs features, parts and uses"));
      }
      if (AspectsOf(cat, kind).empty())
        return Invalid(absl::StrCat(where, " kind \"", kind.noun, "\" has no aspects"));
      for (const auto& name : kind.aspects) {
        if (absl::Status s = known_aspect(name, absl::StrCat(where, " kind \"", kind.noun, "\"")); !s.ok())
          return s;
      }
    }
  }
  for (const auto& cluster : c.clusters) {
    for (const auto& [category, weight] : cluster.category_weights) {
      if (!category_names.contains(category)) {
        return Invalid(absl::StrCat("cluster \"", cluster.name, "\": unknown category \"", category, "\""));
      }
    }
  }
  for (const auto& name : c.deterioration_issues) {
    RETURN_IF_ERROR(known_issue(name, "deterioration_issues"));
  }
  for (const auto& platform : c.platforms) {
    if (!c.platform_reach.contains(platform)) {
      return Invalid(absl::StrCat("platform_reach has no entry for platform \"", platform, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ParsedVocabulary>> BuildVocabulary(absl::string_view textproto) {
  vocab::Vocabulary v;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(textproto), &v)) return Invalid(errors.Joined());

  auto c = std::make_unique<ParsedVocabulary>();
  for (const auto& a : v.aspects()) {
    c->aspects.push_back({a.name(), Strings(a.nouns()), Strings(a.good()), Strings(a.bad()),
                          Strings(a.good_adj()), Strings(a.bad_adj()), a.has_generic() ? a.generic() : true});
  }
  c->universal_aspects = Strings(v.universal_aspects());
  for (const auto& i : v.issues()) {
    c->issues.push_back({i.name(), Strings(i.phrases()), Strings(i.titles()), i.contact_topic()});
  }
  for (const auto& cat : v.categories()) {
    CategorySpec spec;
    spec.name = cat.name();
    for (const auto& k : cat.kinds()) {
      spec.kinds.push_back({k.noun(), k.plural(), k.title(), Strings(k.features()), Strings(k.parts()),
                            Strings(k.uses()), Strings(k.aspects())});
    }
    spec.brands = Strings(cat.brands());
    spec.aspects = Strings(cat.aspects());
    spec.issues = Strings(cat.issues());
    spec.price_min_cents = cat.price_min_cents();
    spec.price_max_cents = cat.price_max_cents();
    spec.margin_min = cat.margin_min();
    spec.margin_max = cat.margin_max();
    for (const auto& attribute : cat.attributes())
      spec.attributes.emplace_back(attribute.key(), Strings(attribute.values()));
    c->categories.push_back(std::move(spec));
  }
  for (const auto& cluster : v.clusters()) {
    c->clusters.push_back(
        {cluster.name(), WeightedPairs(cluster.category_weights()), cluster.price_sensitivity()});
  }
  c->first_names = Strings(v.first_names());
  c->last_names = Strings(v.last_names());
  c->occupations = Strings(v.occupations());
  c->regions = Strings(v.regions());
  c->periods = Strings(v.periods());
  c->relatives = Strings(v.relatives());
  c->platforms = Strings(v.platforms());
  c->colors = Strings(v.colors());
  c->email_domains = Strings(v.email_domains());
  c->deterioration_issues = Strings(v.deterioration_issues());
  c->resolved_update_phrases = Strings(v.resolved_update_phrases());
  c->title_suffixes = Strings(v.title_suffixes());
  c->purchase_contact_topics = WeightedPairs(v.purchase_contact_topics());
  c->influencer_handle_prefixes = Strings(v.influencer_handle_prefixes());
  c->influencer_handle_suffixes = Strings(v.influencer_handle_suffixes());
  for (const auto& [name, weight] : WeightedPairs(v.platform_reach())) c->platform_reach[name] = weight;
  for (const AspectSpec& a : c->aspects) {
    if (!c->aspect_index.emplace(a.name, &a).second)
      return Invalid(absl::StrCat("aspect \"", a.name, "\" is defined twice"));
  }
  for (const IssueSpec& i : c->issues) {
    if (!c->issue_index.emplace(i.name, &i).second)
      return Invalid(absl::StrCat("issue \"", i.name, "\" is defined twice"));
  }
  RETURN_IF_ERROR(Validate(*c));
  return c;
}

// The embedded vocabulary, parsed on first use. It is checked by vocabulary_test, so a failure here means a
// broken build: say so and stop rather than generate from half a vocabulary.
// A vocabulary given by UseVocabulary before first use, and whether the vocabulary is in use yet.
absl::Mutex override_mu;
const ParsedVocabulary* override_vocabulary ABSL_GUARDED_BY(override_mu) = nullptr;
bool vocabulary_in_use ABSL_GUARDED_BY(override_mu) = false;

// The vocabulary given by UseVocabulary, else the embedded one, parsed on first use. The embedded one is
// checked by vocabulary_test, so a failure here means a broken build: say so and stop rather than generate
// from half a vocabulary.
const ParsedVocabulary& TheVocabulary() {
  static const ParsedVocabulary* vocabulary = [] {
    absl::MutexLock lock(&override_mu);
    vocabulary_in_use = true;
    if (override_vocabulary != nullptr) return override_vocabulary;
    absl::StatusOr<std::unique_ptr<ParsedVocabulary>> built = BuildVocabulary(EmbeddedVocabularyText());
    if (!built.ok()) {
      std::fprintf(stderr, "the embedded marketplace vocabulary is invalid: %s\n",
                   built.status().ToString().c_str());
      std::abort();
    }
    return static_cast<const ParsedVocabulary*>(built->release());
  }();
  return *vocabulary;
}

}  // namespace

absl::Status UseVocabulary(absl::string_view textproto) {
  ASSIGN_OR_RETURN(std::unique_ptr<ParsedVocabulary> built, BuildVocabulary(textproto));
  absl::MutexLock lock(&override_mu);
  if (vocabulary_in_use) {
    return absl::FailedPreconditionError("marketplace vocabulary: already in use, set it before generating");
  }
  delete override_vocabulary;
  override_vocabulary = built.release();
  return absl::OkStatus();
}

absl::Status UseVocabularyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::Status status = UseVocabulary(text.str());
  if (!status.ok()) return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  return absl::OkStatus();
}

absl::Status CheckVocabulary(absl::string_view textproto) { return BuildVocabulary(textproto).status(); }
absl::string_view VocabularyText() { return EmbeddedVocabularyText(); }

const std::vector<CategorySpec>& Categories() { return TheVocabulary().categories; }
const std::vector<AspectSpec>& Aspects() { return TheVocabulary().aspects; }
const std::vector<IssueSpec>& Issues() { return TheVocabulary().issues; }
const std::vector<ClusterSpec>& Clusters() { return TheVocabulary().clusters; }
const std::vector<std::string>& UniversalAspects() { return TheVocabulary().universal_aspects; }

const std::vector<std::string>& AspectsOf(const CategorySpec& category, const ProductKind& kind) {
  return kind.aspects.empty() ? category.aspects : kind.aspects;
}

const AspectSpec* FindAspect(absl::string_view name) {
  const auto& index = TheVocabulary().aspect_index;
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}
const IssueSpec* FindIssue(absl::string_view name) {
  const auto& index = TheVocabulary().issue_index;
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

const std::vector<std::string>& FirstNames() { return TheVocabulary().first_names; }
const std::vector<std::string>& LastNames() { return TheVocabulary().last_names; }
const std::vector<std::string>& Occupations() { return TheVocabulary().occupations; }
const std::vector<std::string>& Regions() { return TheVocabulary().regions; }
const std::vector<std::string>& Periods() { return TheVocabulary().periods; }
const std::vector<std::string>& Relatives() { return TheVocabulary().relatives; }
const std::vector<std::string>& Platforms() { return TheVocabulary().platforms; }
const std::vector<std::string>& Colors() { return TheVocabulary().colors; }
const std::vector<std::string>& EmailDomains() { return TheVocabulary().email_domains; }

const std::vector<std::string>& DeteriorationIssues() { return TheVocabulary().deterioration_issues; }
const std::vector<std::string>& ResolvedUpdatePhrases() { return TheVocabulary().resolved_update_phrases; }
const std::vector<std::string>& TitleSuffixes() { return TheVocabulary().title_suffixes; }
const std::vector<std::pair<std::string, double>>& PurchaseContactTopics() {
  return TheVocabulary().purchase_contact_topics;
}
const std::vector<std::string>& InfluencerHandlePrefixes() {
  return TheVocabulary().influencer_handle_prefixes;
}
const std::vector<std::string>& InfluencerHandleSuffixes() {
  return TheVocabulary().influencer_handle_suffixes;
}
double PlatformReach(absl::string_view platform) {
  const auto& reach = TheVocabulary().platform_reach;
  auto it = reach.find(platform);
  return it == reach.end() ? 0.0 : it->second;
}

}  // namespace marketlens::marketplace
