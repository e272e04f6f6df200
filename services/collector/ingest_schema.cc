#include "services/collector/ingest_schema.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/migrate/sha256.h"
#include "services/collector/values.h"

namespace marketlens::collector {
namespace {

constexpr size_t kMaxIdBytes = 200;
constexpr size_t kMaxTextBytes = 10000;

ColumnSpec Col(std::string name, std::string sql_type, ValueType type, bool required,
               std::optional<std::string> fallback, std::vector<std::string> aliases) {
  return ColumnSpec{std::move(name), std::move(sql_type), type,
                    required,        std::move(fallback), std::move(aliases)};
}

const std::vector<KindSpec>& Kinds() {
  static const auto* kinds = new std::vector<KindSpec>{
      {
          "campaign_posts",
          "raw.campaign_posts",
          {
              Col("id", "text", ValueType::kId, false, std::nullopt, {"postid", "post", "campaignpostid"}),
              Col("campaign_id", "text", ValueType::kId, true, std::nullopt,
                  {"campaign", "campaignname", "campaigncode"}),
              Col("influencer", "text", ValueType::kId, true, std::nullopt,
                  {"influencerid", "influencerhandle", "influencername", "handle", "creator", "creatorid",
                   "creatorhandle", "username", "account", "accountid", "influencers"}),
              Col("platform", "text", ValueType::kPlatform, true, std::nullopt,
                  {"network", "socialnetwork", "socialplatform", "channel", "site"}),
              Col("product_id", "text", ValueType::kId, false, "",
                  {"product", "asin", "sku", "item", "itemid"}),
              Col("views", "bigint", ValueType::kCount, false, "0",
                  {"impressions", "viewcount", "videoviews", "plays"}),
              Col("likes", "bigint", ValueType::kCount, false, "0", {"likecount", "hearts", "reactions"}),
              Col("comments", "bigint", ValueType::kCount, false, "0", {"commentcount", "replies"}),
              Col("shares", "bigint", ValueType::kCount, false, "0",
                  {"sharecount", "reposts", "retweets", "shared"}),
              Col("posted_at", "timestamptz", ValueType::kTimestamp, true, std::nullopt,
                  {"postdate", "date", "posted", "publishedat", "published", "publishdate", "timestamp",
                   "dateposted", "datetime", "time", "postedon", "postdatetime", "publicationdate"}),
              Col("caption", "text", ValueType::kText, false, "",
                  {"text", "posttext", "copy", "description", "body", "message", "content"}),
              Col("hashtags", "text[]", ValueType::kHashtags, false, "{}",
                  {"hashtag", "tags", "tag", "posthashtags"}),
          },
          {"campaign_id", "influencer", "platform", "product_id", "posted_at"},
          "cp_",
      },
      {
          "contacts",
          "raw.contacts",
          {
              Col("id", "text", ValueType::kId, false, std::nullopt,
                  {"contactid", "interactionid", "ticketid", "caseid"}),
              Col("customer_id", "text", ValueType::kId, true, std::nullopt,
                  {"customer", "customers", "clientid", "client", "userid", "user", "customerno",
                   "customernumber"}),
              Col("started_at", "timestamptz", ValueType::kTimestamp, true, std::nullopt,
                  {"datestart", "startdate", "date", "timestamp", "contactdate", "start", "starttime",
                   "startedon", "datetime", "createdat", "time", "interactiondate", "occurredat",
                   "datetimestart", "startdatetime"}),
              Col("channel", "text", ValueType::kChannel, true, std::nullopt,
                  {"interaction", "interactionchannel", "interactiontype", "medium", "contacttype",
                   "contactchannel", "type", "via", "source"}),
              Col("topic", "text", ValueType::kText, false, "",
                  {"subject", "reason", "category", "issue", "topics", "theme"}),
              Col("sentiment", "double precision", ValueType::kSentiment, false, std::nullopt,
                  {"sentimentscore", "score", "mood", "tone", "sentimentlabel"}),
              Col("notes", "text", ValueType::kText, false, "",
                  {"note", "summary", "transcript", "description", "comment", "comments", "details",
                   "message", "body"}),
              Col("product_id", "text", ValueType::kId, false, "",
                  {"product", "asin", "sku", "item", "itemid"}),
          },
          {"customer_id", "started_at", "channel", "topic", "product_id", "notes"},
          "ct_",
      },
      {
          "interactions",
          "raw.interactions",
          {
              Col("id", "text", ValueType::kId, false, std::nullopt, {"interactionid", "eventid"}),
              Col("customer_id", "text", ValueType::kId, true, std::nullopt,
                  {"customer", "userid", "user", "clientid"}),
              Col("product_id", "text", ValueType::kId, true, std::nullopt,
                  {"product", "itemid", "item", "asin", "sku"}),
              Col("type", "text", ValueType::kInteractionType, true, std::nullopt,
                  {"interactiontype", "event", "eventtype", "action"}),
              Col("rating", "smallint", ValueType::kRating, false, std::nullopt, {"stars", "score"}),
              Col("session_id", "text", ValueType::kId, false, "", {"session"}),
              Col("device", "text", ValueType::kDevice, false, "", {"devicetype"}),
              Col("occurred_at", "timestamptz", ValueType::kTimestamp, true, std::nullopt,
                  {"timestamp", "date", "time", "datetime", "eventtime", "createdat"}),
          },
          {"customer_id", "product_id", "type", "occurred_at", "session_id"},
          "ix_",
      },
      {
          // Customers as a business keeps them (merged into the marketplace's: an empty cell keeps what
          // raw.customers already holds, see KindSpec::merge_empty).
          "customers",
          "raw.customers",
          {
              Col("id", "text", ValueType::kId, true, std::nullopt,
                  {"customerid", "customer", "customers", "clientid", "client", "userid", "customerno",
                   "customernumber"}),
              Col("name", "text", ValueType::kText, false, "",
                  {"customername", "fullname", "clientname", "username"}),
              Col("occupation", "text", ValueType::kText, false, "",
                  {"job", "jobtitle", "profession", "role", "title", "work"}),
              Col("segment", "text", ValueType::kText, false, "",
                  {"type", "customertype", "customersegment", "segmentname", "tier", "group", "category",
                   "class"}),
              Col("region", "text", ValueType::kText, false, "", {"country", "location", "area", "city"}),
          },
          {},
          "",
          /*merge_empty=*/true,
      },
      {
          // What was discussed with customers, per month ("Products of discussion").
          "discussed_products",
          "raw.discussed_products",
          {
              Col("id", "text", ValueType::kId, false, std::nullopt, {"discussionid"}),
              Col("month", "date", ValueType::kMonth, true, std::nullopt,
                  {"date", "period", "monthyear", "yearmonth", "discussedin", "discussionmonth", "when"}),
              Col("product", "text", ValueType::kId, true, std::nullopt,
                  {"productname", "productdiscussed", "discussedproduct", "item", "itemname", "products"}),
              Col("product_id", "text", ValueType::kId, false, "", {"productid", "sku", "asin", "itemid"}),
          },
          {"month", "product", "product_id"},
          "dp_",
      },
  };
  return *kinds;
}

// Synonyms of enumerated values, keyed by NormalizeHeader form.
std::optional<std::string> Lookup(const std::vector<std::pair<const char*, const char*>>& table,
                                  absl::string_view value) {
  const std::string key = NormalizeHeader(value);
  for (const auto& [from, to] : table) {
    if (key == from) return std::string(to);
  }
  return std::nullopt;
}

// Writes the column's value into *out, or returns false with the reason in *problem.
bool CheckValue(const ColumnSpec& col, absl::string_view raw, const DateOptions& dates, ValueNotes* notes,
                FieldValue* out, std::string* problem) {
  out->present = false;
  if (!IsValidUtf8(raw)) {
    *problem = "not valid UTF-8 text (or contains a NUL byte)";
    return false;
  }
  const absl::string_view v = TrimValue(raw);
  const bool missing = col.type == ValueType::kText ? v.empty() : IsMissing(v);
  if (missing) {
    if (col.required) {
      *problem = v.empty() ? "missing value" : absl::StrCat("missing value ('", v, "')");
      return false;
    }
    if (col.fallback.has_value()) {
      out->present = true;
      out->text.assign(*col.fallback);
    }
    return true;
  }
  auto set = [&](absl::string_view text) {
    out->present = true;
    out->text.assign(text.data(), text.size());
    return true;
  };
  switch (col.type) {
    case ValueType::kId:
      if (v.size() > kMaxIdBytes) {
        *problem = absl::StrCat("longer than ", kMaxIdBytes, " bytes");
        return false;
      }
      for (char c : v) {
        if (c == '\r' || c == '\n' || c == '\t') {
          *problem = "contains a line break or tab";
          return false;
        }
      }
      return set(v);
    case ValueType::kText:
      if (v.size() > kMaxTextBytes) {
        *problem = absl::StrCat("longer than ", kMaxTextBytes, " bytes");
        return false;
      }
      return set(v);
    case ValueType::kCount: {
      // Plain digits (the common case) are already in PostgreSQL's form.
      if (v.size() <= 15 && v.find_first_not_of("0123456789") == absl::string_view::npos &&
          (v.size() == 1 || v[0] != '0')) {
        return set(v);
      }
      auto n = ParseCount(v);
      if (!n.ok()) {
        *problem = std::string(n.status().message());
        return false;
      }
      if (*n > (int64_t{1} << 53)) {
        *problem = absl::StrCat("implausibly large count ", *n);
        return false;
      }
      return set(absl::StrCat(*n));
    }
    case ValueType::kRating: {
      auto n = ParseCount(v);
      if (!n.ok()) {
        *problem = std::string(n.status().message());
        return false;
      }
      if (*n < 1 || *n > 5) {
        *problem = absl::StrCat("rating ", *n, " is not 1..5");
        return false;
      }
      return set(absl::StrCat(*n));
    }
    case ValueType::kSentiment: {
      if (std::optional<double> w = SentimentFromWord(v)) return set(FormatDouble(*w));
      auto d = ParseDecimal(v);
      if (!d.ok()) {
        *problem = std::string(d.status().message());
        return false;
      }
      if (*d < -1 || *d > 1) {
        *problem = absl::StrCat("sentiment '", v, "' is not in -1..1");
        return false;
      }
      return set(FormatDouble(*d));
    }
    case ValueType::kTimestamp: {
      DateParseInfo info;
      auto t = ParseDateTime(v, dates, &info);
      if (notes != nullptr) {
        if (info.evidence != DayMonthOrder::kUnknown) notes->Evidence(info.evidence, v);
        if (info.ambiguous) notes->ambiguous_date = true;
      }
      if (!t.ok()) {
        *problem = std::string(t.status().message());
        return false;
      }
      out->present = true;
      FormatTimestampTo(*t, &out->text);
      return true;
    }
    case ValueType::kMonth: {
      DateParseInfo info;
      auto m = ParseMonth(v, dates);
      if (!m.ok()) {
        *problem = std::string(m.status().message());
        return false;
      }
      out->present = true;
      out->text = absl::StrFormat("%04d-%02d-01", m->year(), m->month());
      return true;
    }
    case ValueType::kPlatform: {
      static const std::vector<std::pair<const char*, const char*>> kSynonyms = {
          {"ig", "instagram"}, {"insta", "instagram"}, {"yt", "youtube"},      {"fb", "facebook"},
          {"tt", "tiktok"},    {"x", "twitter"},       {"xtwitter", "twitter"}};
      out->text.clear();
      for (char c : v) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (absl::ascii_isalnum(u)) out->text.push_back(absl::ascii_tolower(u));
      }
      if (out->text.empty() || out->text.size() > 50) {
        *problem = absl::StrCat("not a platform name '", v, "'");
        return false;
      }
      if (out->text.size() <= 8) {
        for (const auto& [from, to] : kSynonyms) {
          if (out->text == from) out->text = to;
        }
      }
      out->present = true;
      return true;
    }
    case ValueType::kChannel: {
      static const std::vector<std::pair<const char*, const char*>> kSynonyms = {
          {"email", "email"}, {"mail", "email"},     {"emails", "email"},   {"call", "call"},
          {"phone", "call"},  {"phonecall", "call"}, {"telephone", "call"}, {"voice", "call"},
          {"calls", "call"},  {"chat", "chat"},      {"livechat", "chat"},  {"webchat", "chat"},
          {"im", "chat"},     {"messenger", "chat"}, {"sms", "chat"},       {"text", "chat"}};
      if (auto c = Lookup(kSynonyms, v)) return set(*c);
      // Another channel ("social media", "in store"): kept as written (lower case), and counted.
      if (v.size() > kMaxIdBytes || v.find_first_of("\r\n\t") != absl::string_view::npos) {
        *problem = absl::StrCat("not a channel name '", v.substr(0, 60), "'");
        return false;
      }
      out->present = true;
      out->text = absl::AsciiStrToLower(v);
      if (notes != nullptr) ++notes->other_channels[out->text];
      return true;
    }
    case ValueType::kInteractionType: {
      static const std::vector<std::pair<const char*, const char*>> kSynonyms = {
          {"view", "view"},
          {"views", "view"},
          {"viewed", "view"},
          {"pageview", "view"},
          {"addtocart", "add_to_cart"},
          {"cart", "add_to_cart"},
          {"addedtocart", "add_to_cart"},
          {"atc", "add_to_cart"},
          {"basket", "add_to_cart"},
          {"purchase", "purchase"},
          {"buy", "purchase"},
          {"bought", "purchase"},
          {"purchased", "purchase"},
          {"order", "purchase"},
          {"rating", "rating"},
          {"rate", "rating"},
          {"rated", "rating"}};
      if (auto c = Lookup(kSynonyms, v)) return set(*c);
      *problem =
          absl::StrCat("unknown interaction type '", v, "' (want view, add_to_cart, purchase or rating)");
      return false;
    }
    case ValueType::kHashtags: {
      if (v.size() > kMaxTextBytes) {
        *problem = absl::StrCat("longer than ", kMaxTextBytes, " bytes");
        return false;
      }
      const std::vector<std::string> tags = SplitHashtags(v);
      out->present = true;
      FormatTextArrayTo(tags, &out->text);
      return true;
    }
    case ValueType::kDevice: {
      static const std::vector<std::pair<const char*, const char*>> kSynonyms = {
          {"mobile", "mobile"},    {"phone", "mobile"},   {"smartphone", "mobile"}, {"ios", "mobile"},
          {"android", "mobile"},   {"iphone", "mobile"},  {"desktop", "desktop"},   {"pc", "desktop"},
          {"computer", "desktop"}, {"laptop", "desktop"}, {"web", "desktop"},       {"tablet", "tablet"},
          {"ipad", "tablet"}};
      if (auto c = Lookup(kSynonyms, v)) return set(*c);
      *problem = absl::StrCat("unknown device '", v, "' (want mobile, desktop or tablet)");
      return false;
    }
  }
  return true;
}

}  // namespace

const KindSpec* FindKind(absl::string_view kind) {
  for (const KindSpec& spec : Kinds()) {
    if (spec.kind == kind) return &spec;
  }
  return nullptr;
}

std::vector<std::string> KindNames() {
  std::vector<std::string> names;
  for (const KindSpec& spec : Kinds()) names.push_back(spec.kind);
  return names;
}

namespace {

// "Views (count)", "Date Start [UTC]", "Amount {EUR}" -> "Views", "Date Start", "Amount": units in brackets.
std::string WithoutBrackets(absl::string_view name) {
  std::string out;
  int depth = 0;
  for (char c : name) {
    if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      if (depth > 0) --depth;
    } else if (depth == 0) {
      out.push_back(c);
    }
  }
  return out;
}

// Priority with which header key `h` names `col`: 0 its name, 1.. an alias (earlier aliases first); -1 none.
int MatchPriority(const ColumnSpec& col, const std::string& h) {
  if (h.empty()) return -1;
  if (h == NormalizeHeader(col.name)) return 0;
  for (size_t a = 0; a < col.aliases.size(); ++a) {
    if (h == col.aliases[a]) return static_cast<int>(a) + 1;
  }
  return -1;
}

// The column a header cell names, trying the name as written, then without bracketed units.
int BestColumn(const KindSpec& spec, absl::string_view cell, int* priority) {
  int best_col = -1;
  *priority = 1 << 30;
  for (const std::string& h : {NormalizeHeader(cell), NormalizeHeader(WithoutBrackets(cell))}) {
    for (size_t c = 0; c < spec.columns.size(); ++c) {
      const int p = MatchPriority(spec.columns[c], h);
      if (p >= 0 && p < *priority) {
        *priority = p;
        best_col = static_cast<int>(c);
      }
    }
    if (best_col >= 0) break;
  }
  return best_col;
}

}  // namespace

std::string AcceptedNames(const ColumnSpec& col) {
  std::vector<std::string> names = {col.name};
  names.insert(names.end(), col.aliases.begin(), col.aliases.end());
  return absl::StrJoin(names, "/");
}

absl::StatusOr<RowValidator> RowValidator::Create(const KindSpec* spec,
                                                  const std::vector<absl::string_view>& header,
                                                  DateOptions dates) {
  const size_t n = spec->columns.size();
  std::vector<int> field_of_column(n, -1);
  std::vector<int> priority(n, 1 << 30);
  std::vector<std::string> ignored;
  std::vector<std::string> duplicates;
  for (size_t i = 0; i < header.size(); ++i) {
    int best_priority = 0;
    const int best_col = BestColumn(*spec, header[i], &best_priority);
    if (best_col < 0) {
      if (!TrimValue(header[i]).empty()) ignored.emplace_back(TrimValue(header[i]));
      continue;
    }
    if (field_of_column[best_col] >= 0) {
      if (priority[best_col] == best_priority) {
        duplicates.push_back(absl::StrCat("'", TrimValue(header[field_of_column[best_col]]), "' and '",
                                          TrimValue(header[i]), "' are both ", spec->columns[best_col].name));
        continue;
      }
      if (best_priority > priority[best_col]) {  // a better-named column already holds it
        ignored.emplace_back(TrimValue(header[i]));
        continue;
      }
      ignored.emplace_back(TrimValue(header[field_of_column[best_col]]));
    }
    field_of_column[best_col] = static_cast<int>(i);
    priority[best_col] = best_priority;
  }
  std::vector<std::string> missing;
  for (size_t c = 0; c < n; ++c) {
    if (spec->columns[c].required && field_of_column[c] < 0) {
      missing.push_back(absl::StrCat(spec->columns[c].name, " (accepted names, any case, spacing or _: ",
                                     AcceptedNames(spec->columns[c]), ")"));
    }
  }
  if (!missing.empty() || !duplicates.empty()) {
    std::vector<std::string> found;
    for (absl::string_view h : header) found.emplace_back(TrimValue(h));
    std::string message;
    if (!missing.empty()) {
      absl::StrAppend(&message, "missing required column(s) ", absl::StrJoin(missing, "; "));
    }
    if (!duplicates.empty()) {
      absl::StrAppend(&message, message.empty() ? "" : "; ",
                      "duplicate columns: ", absl::StrJoin(duplicates, "; "));
    }
    absl::StrAppend(&message, " (", spec->kind, " header read: ", absl::StrJoin(found, ", "), ")");
    return absl::InvalidArgumentError(message);
  }
  RowValidator validator(spec, std::move(field_of_column), header.size(), std::move(ignored));
  validator.dates_ = dates;
  validator.order_given_ = dates.order != DayMonthOrder::kUnknown;
  validator.notes_.order = dates.order;
  for (size_t c = 0; c < n; ++c) {
    const std::string& name = spec->columns[c].name;
    if (spec->kind == "interactions" && name == "type") validator.type_column_ = static_cast<int>(c);
    if (spec->kind == "interactions" && name == "rating") validator.rating_column_ = static_cast<int>(c);
    if (spec->kind == "campaign_posts" && name == "caption") validator.caption_column_ = static_cast<int>(c);
    if (spec->kind == "campaign_posts" && name == "hashtags")
      validator.hashtags_column_ = static_cast<int>(c);
  }
  for (const std::string& name : spec->identity) {
    for (size_t c = 0; c < n; ++c) {
      if (spec->columns[c].name == name) validator.identity_columns_.push_back(static_cast<int>(c));
    }
  }
  return validator;
}

bool RowValidator::IsBlank(const std::vector<absl::string_view>& fields) {
  for (absl::string_view f : fields) {
    if (!TrimValue(f).empty()) return false;
  }
  return true;
}

std::optional<RowProblem> RowValidator::Validate(const std::vector<absl::string_view>& fields,
                                                 RowValues* values) {
  const auto& columns = spec_->columns;
  values->resize(columns.size());
  // A row cut short or run long is a malformed line: its values cannot be trusted to sit in their columns.
  if (fields.size() > header_width_) {
    return RowProblem{"", absl::StrCat("malformed line: ", fields.size(), " fields but the header has ",
                                       header_width_, " (an unquoted delimiter inside a value?)")};
  }
  if (fields.size() < header_width_) {
    return RowProblem{"", absl::StrCat("malformed line: ", fields.size(), " fields but the header has ",
                                       header_width_, " (the row is cut short)")};
  }
  std::optional<RowProblem> result;
  std::string problem;
  bool only_ambiguous_dates = true;
  for (size_t c = 0; c < columns.size(); ++c) {
    const int f = field_of_column_[c];
    const absl::string_view raw =
        (f >= 0 && static_cast<size_t>(f) < fields.size()) ? fields[f] : absl::string_view();
    notes_.ambiguous_date = false;
    const DayMonthOrder before = notes_.order;
    const bool ok = CheckValue(columns[c], raw, dates_, &notes_, &(*values)[c], &problem);
    if (!order_given_ && dates_.order == DayMonthOrder::kUnknown && notes_.order != before) {
      dates_.order = notes_.order;  // the file has shown its day/month order: read the rest with it
    }
    if (!ok) {
      if (!notes_.ambiguous_date) only_ambiguous_dates = false;
      if (!result.has_value()) {
        result = RowProblem{columns[c].name, ""};
      } else {
        result->reason.append("; ");
      }
      absl::StrAppend(&result->reason, columns[c].name, ": ", problem);
    }
  }
  if (result.has_value()) result->ambiguous_date_only = only_ambiguous_dates;
  // Kind-specific rules.
  if (!result.has_value() && type_column_ >= 0 && rating_column_ >= 0 &&
      (*values)[type_column_].text == "rating" && !(*values)[rating_column_].present) {
    result = RowProblem{"rating", "rating: missing value (required for a rating interaction)"};
  }
  if (result.has_value()) return result;
  if (caption_column_ >= 0 && hashtags_column_ >= 0 && (*values)[hashtags_column_].text == "{}" &&
      (*values)[caption_column_].text.find('#') != std::string::npos) {
    // No hashtags column (or an empty cell): the caption's own #tags.
    FormatTextArrayTo(HashtagsInText((*values)[caption_column_].text), &(*values)[hashtags_column_].text);
  }
  FieldValue& id = (*values)[0];
  if (!id.present) {
    // No id: derive one from what identifies the row, normalised (so "Jan 15 2024" and "2024-01-15" agree).
    std::string key;
    for (int c : identity_columns_) {
      const FieldValue& v = (*values)[c];
      absl::StrAppend(&key, v.present ? absl::string_view(v.text) : absl::string_view("\\N"), "\x1f");
    }
    id.present = true;
    id.text = absl::StrCat(spec_->id_prefix, migrate::Sha256Hex(key).substr(0, 32));
  }
  return std::nullopt;
}

}  // namespace marketlens::collector

namespace marketlens::collector {

void ValueNotes::Evidence(DayMonthOrder seen, absl::string_view example) {
  if (order == DayMonthOrder::kUnknown) {
    order = seen;
    order_example = std::string(example);
  } else if (seen != order) {
    ++order_conflicts;
  }
}

std::vector<std::string> ValueNotes::Lines(bool order_given) const {
  std::vector<std::string> lines;
  if (order_given) {
    lines.push_back(absl::StrCat("dates: day/month order given: ",
                                 order == DayMonthOrder::kDayFirst ? "day first" : "month first"));
  } else if (order != DayMonthOrder::kUnknown) {
    lines.push_back(absl::StrCat(
        "dates: day/month order inferred from the file: ",
        order == DayMonthOrder::kDayFirst ? "day first" : "month first", " (decided by '", order_example,
        "')", order_conflicts > 0 ? absl::StrCat("; ", order_conflicts, " values contradict it") : ""));
  } else if (ambiguous_rows > 0) {
    lines.push_back(absl::StrCat("dates: day/month order unknown (no day > 12 in the file); ", ambiguous_rows,
                                 " rows with dates like 04/10/2019 rejected: pass the order (--date_order "
                                 "dmy or mdy)"));
  }
  if (!other_channels.empty()) {
    int64_t total = 0;
    std::vector<std::string> parts;
    for (const auto& [name, n] : other_channels) {
      total += n;
      parts.push_back(absl::StrCat(name, " (", n, ")"));
    }
    lines.push_back(
        absl::StrCat("channels: ", total,
                     " rows with a channel other than email/call/chat kept: ", absl::StrJoin(parts, ", ")));
  }
  return lines;
}

std::optional<DetectedKind> DetectKind(const std::vector<absl::string_view>& header) {
  std::optional<DetectedKind> best;
  bool tie = false;
  for (const KindSpec& spec : Kinds()) {
    auto v = RowValidator::Create(&spec, header, DateOptions{});
    if (!v.ok()) continue;
    const int matched = static_cast<int>(v->matched_columns());
    if (matched < 2) continue;  // a lone id column says nothing about what the rows are
    if (!best.has_value() || matched > best->matched_columns) {
      best = DetectedKind{&spec, matched};
      tie = false;
    } else if (matched == best->matched_columns) {
      tie = true;
    }
  }
  if (tie) return std::nullopt;
  return best;
}

}  // namespace marketlens::collector
