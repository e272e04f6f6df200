#include "services/marketplace/replay.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/macros.h"
#include "services/marketplace/json_lite.h"

namespace marketlens::marketplace {
namespace {

// Reads lines from a plain or gzipped file (zlib reads both).
class LineReader {
 public:
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    gzbuffer(f, 1 << 17);
    return std::unique_ptr<LineReader>(new LineReader(f));
  }
  ~LineReader() { gzclose(f_); }

  bool Next(std::string* line) {
    line->clear();
    char buf[1 << 16];
    while (true) {
      if (gzgets(f_, buf, sizeof(buf)) == nullptr) return !line->empty();
      const size_t n = std::strlen(buf);
      line->append(buf, n);
      if (n > 0 && buf[n - 1] == '\n') {
        line->pop_back();
        if (!line->empty() && line->back() == '\r') line->pop_back();
        return true;
      }
    }
  }

 private:
  explicit LineReader(gzFile f) : f_(f) {}
  gzFile f_;
};

class FileStats {
 public:
  FileStats(const std::string& path, const std::string& format, int max_examples)
      : max_examples_(max_examples) {
    s_.set_path(path);
    s_.set_format(format);
  }
  void Line() { s_.set_lines(s_.lines() + 1); }
  void Record() { s_.set_records(s_.records() + 1); }
  void Duplicate() { s_.set_duplicates(s_.duplicates() + 1); }
  void Bad(absl::string_view why) {
    s_.set_bad_lines(s_.bad_lines() + 1);
    if (s_.bad_line_examples_size() < max_examples_) {
      s_.add_bad_line_examples(absl::StrCat("line ", s_.lines(), ": ", why));
    }
  }
  const v1::ReplayFileStats& stats() const { return s_; }

 private:
  v1::ReplayFileStats s_;
  int max_examples_;
};

// A 128-bit fingerprint for duplicate detection without keeping the rows.
using Fingerprint = std::pair<size_t, size_t>;
Fingerprint FingerprintOf(const std::string& key) {
  return {absl::HashOf(key), std::hash<std::string>()(key)};
}

std::optional<std::string> String(const json::Value* v) {
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->text();
}

// A number, or a string holding one ("5", "1,234", "$12.99").
std::optional<double> Number(const json::Value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->number();
  if (!v->is_string()) return std::nullopt;
  std::string s(absl::StripAsciiWhitespace(v->text()));
  s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  if (!s.empty() && s[0] == '$') s.erase(0, 1);
  double d = 0;
  if (!absl::SimpleAtod(s, &d) || !std::isfinite(d)) return std::nullopt;
  return d;
}

struct Activity {
  int64_t first = INT64_MAX;
  int64_t last = INT64_MIN;
  void See(int64_t t) {
    first = std::min(first, t);
    last = std::max(last, t);
  }
};

struct ReviewRow {
  int64_t time;
  v1::Review review;
};

struct RatingRow {
  int64_t time;
  std::string user, item;
  int rating;
};

struct State {
  std::vector<ReviewRow> reviews;
  std::vector<RatingRow> ratings;
  std::map<std::string, v1::Product> meta;  // by asin
  std::map<std::string, std::string> reviewer_names;
  std::map<std::string, Activity> products, customers;
};

absl::Status ReadReviews(const ReplayOptions& o, State* st, FileStats* fs) {
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(o.reviews_path));
  absl::flat_hash_set<Fingerprint> seen;
  std::string line;
  while (reader->Next(&line)) {
    fs->Line();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<json::Value> v = json::Parse(line);
    if (!v.ok()) {
      fs->Bad(v.status().message());
      continue;
    }
    if (!v->is_object()) {
      fs->Bad("not a JSON object");
      continue;
    }
    const std::optional<std::string> reviewer = String(v->Find("reviewerID"));
    const std::optional<std::string> asin = String(v->Find("asin"));
    const std::optional<double> overall = Number(v->Find("overall"));
    const std::optional<double> time = Number(v->Find("unixReviewTime"));
    if (!reviewer || reviewer->empty()) {
      fs->Bad("reviewerID missing");
      continue;
    }
    if (!asin || asin->empty()) {
      fs->Bad("asin missing");
      continue;
    }
    if (!overall || *overall < 1 || *overall > 5) {
      fs->Bad("overall must be a number 1..5");
      continue;
    }
    if (!time || *time <= 0 || *time > 4102444800.0) {
      fs->Bad("unixReviewTime must be a positive Unix time");
      continue;
    }
    const json::Value* text_v = v->Find("reviewText");
    const json::Value* summary_v = v->Find("summary");
    if ((text_v != nullptr && !text_v->is_string() && !text_v->is_null()) ||
        (summary_v != nullptr && !summary_v->is_string() && !summary_v->is_null())) {
      fs->Bad("reviewText and summary must be strings");
      continue;
    }
    const std::string text = text_v != nullptr ? text_v->text() : "";
    const std::string summary = summary_v != nullptr ? summary_v->text() : "";
    const int64_t t = static_cast<int64_t>(*time);
    if (!seen.insert(FingerprintOf(
                         absl::StrCat(*reviewer, "\x1f", *asin, "\x1f", t, "\x1f", summary, "\x1f", text)))
             .second) {
      fs->Duplicate();
      continue;
    }
    ReviewRow row;
    row.time = t;
    v1::Review& r = row.review;
    r.set_product_id(*asin);
    r.set_customer_id(*reviewer);
    r.set_rating(static_cast<int>(std::lround(*overall)));
    r.set_title(summary);
    r.set_text(text);
    const json::Value* verified = v->Find("verified");
    r.set_verified_purchase(verified != nullptr &&
                            (verified->is_bool() ? verified->bool_value() : verified->text() == "true"));
    if (std::optional<double> vote = Number(v->Find("vote")); vote && *vote >= 0) {
      r.set_helpful_votes(static_cast<int32_t>(std::min(*vote, 2e9)));
    } else if (const json::Value* helpful = v->Find("helpful");
               helpful != nullptr && helpful->is_array() && !helpful->items().empty() &&
               helpful->items()[0].is_number() && helpful->items()[0].number() >= 0) {
      r.set_helpful_votes(static_cast<int32_t>(std::min(helpful->items()[0].number(), 2e9)));
    }
    r.set_version(1);
    ToProto(absl::FromUnixSeconds(t), r.mutable_created_at());
    ToProto(absl::FromUnixSeconds(t), r.mutable_updated_at());
    if (std::optional<std::string> name = String(v->Find("reviewerName")); name && !name->empty()) {
      st->reviewer_names[*reviewer] = *name;
    }
    st->products[*asin].See(t);
    st->customers[*reviewer].See(t);
    st->reviews.push_back(std::move(row));
    fs->Record();
  }
  return absl::OkStatus();
}

std::string FirstCategory(const json::Value& v) {
  // 2014: "categories": [["Books", "Literature"]]; 2018: "category": ["Books", ...]; or "main_cat".
  if (const json::Value* c = v.Find("categories"); c != nullptr && c->is_array() && !c->items().empty()) {
    const json::Value& first = c->items()[0];
    if (first.is_array() && !first.items().empty() && first.items()[0].is_string())
      return first.items()[0].text();
    if (first.is_string()) return first.text();
  }
  if (const json::Value* c = v.Find("category"); c != nullptr) {
    if (c->is_array() && !c->items().empty() && c->items()[0].is_string()) return c->items()[0].text();
    if (c->is_string()) return c->text();
  }
  if (std::optional<std::string> main = String(v.Find("main_cat"))) return *main;
  return "";
}

absl::Status ReadMetadata(const ReplayOptions& o, State* st, FileStats* fs) {
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(o.metadata_path));
  std::string line;
  while (reader->Next(&line)) {
    fs->Line();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<json::Value> v = json::Parse(line);
    if (!v.ok()) {
      fs->Bad(v.status().message());
      continue;
    }
    const std::optional<std::string> asin = v->is_object() ? String(v->Find("asin")) : std::nullopt;
    if (!asin || asin->empty()) {
      fs->Bad("asin missing");
      continue;
    }
    if (st->meta.count(*asin)) {
      fs->Duplicate();
      continue;
    }
    v1::Product p;
    p.set_id(*asin);
    if (std::optional<std::string> title = String(v->Find("title"))) p.set_title(*title);
    if (std::optional<std::string> brand = String(v->Find("brand"))) p.set_brand(*brand);
    p.set_category(FirstCategory(*v));
    // "$5.99 - $12.99": the lower bound.
    const json::Value* price_v = v->Find("price");
    std::optional<double> price = Number(price_v);
    if (!price && price_v != nullptr && price_v->is_string()) {
      std::vector<std::string> parts = absl::StrSplit(price_v->text(), '-');
      json::Value first = json::Value::String(std::string(absl::StripAsciiWhitespace(parts[0])));
      price = Number(&first);
    }
    if (price && *price >= 0 && *price < 1e7) {
      p.set_price_cents(std::llround(*price * 100));
    } else if (price_v != nullptr) {
      (*p.mutable_attributes())["price_raw"] = price_v->text().substr(0, 64);
    }
    if (const json::Value* d = v->Find("description"); d != nullptr) {
      if (d->is_string()) {
        p.set_description(d->text());
      } else if (d->is_array()) {
        std::vector<std::string> parts;
        for (const auto& item : d->items()) {
          if (item.is_string()) parts.push_back(item.text());
        }
        p.set_description(absl::StrJoin(parts, "\n"));
      }
    }
    st->meta.emplace(*asin, std::move(p));
    fs->Record();
  }
  return absl::OkStatus();
}

absl::Status ReadRatings(const ReplayOptions& o, State* st, FileStats* fs) {
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(o.ratings_path));
  absl::flat_hash_set<Fingerprint> seen;
  std::string line;
  bool first = true;
  while (reader->Next(&line)) {
    fs->Line();
    const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty()) continue;
    std::vector<std::string> f;
    if (absl::StrContains(trimmed, "::")) {
      f = absl::StrSplit(trimmed, "::");
    } else if (absl::StrContains(trimmed, '\t')) {
      f = absl::StrSplit(trimmed, '\t');
    } else if (absl::StrContains(trimmed, ',')) {
      f = absl::StrSplit(trimmed, ',');
    } else {
      f = absl::StrSplit(trimmed, ' ', absl::SkipEmpty());
    }
    for (auto& x : f) x = std::string(absl::StripAsciiWhitespace(x));
    double rating = 0;
    int64_t t = 0;
    // A header line ("userId,movieId,rating,timestamp") is skipped, not counted as bad.
    const bool header =
        first && f.size() == 4 && !absl::SimpleAtod(f[2], &rating) && !absl::SimpleAtoi(f[3], &t);
    if (header) {
      first = false;
      continue;
    }
    first = false;
    if (f.size() != 4) {
      fs->Bad(absl::StrCat("expected 4 fields (user item rating timestamp), got ", f.size()));
      continue;
    }
    if (f[0].empty() || f[1].empty()) {
      fs->Bad("user and item must not be empty");
      continue;
    }
    if (!absl::SimpleAtod(f[2], &rating) || !(rating >= 0.5 && rating <= 5)) {
      fs->Bad("rating must be a number 0.5..5");
      continue;
    }
    if (!absl::SimpleAtoi(f[3], &t) || t <= 0 || t > 4102444800LL) {
      fs->Bad("timestamp must be a positive Unix time");
      continue;
    }
    if (!seen.insert(FingerprintOf(absl::StrCat(f[0], "\x1f", f[1], "\x1f", f[2], "\x1f", t))).second) {
      fs->Duplicate();
      continue;
    }
    st->products[f[1]].See(t);
    st->customers[f[0]].See(t);
    st->ratings.push_back({t, f[0], f[1], std::clamp(static_cast<int>(std::floor(rating + 0.5)), 1, 5)});
    fs->Record();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WorldData> Replay(const ReplayOptions& o) {
  if (o.reviews_path.empty() && o.metadata_path.empty() && o.ratings_path.empty()) {
    return absl::InvalidArgumentError("replay needs at least one of: reviews, metadata, ratings file");
  }
  State st;
  WorldData d;
  d.source = "replay";
  if (!o.reviews_path.empty()) {
    FileStats fs(o.reviews_path, "amazon_reviews", o.max_bad_line_examples);
    RETURN_IF_ERROR(ReadReviews(o, &st, &fs));
    d.replay_files.push_back(fs.stats());
  }
  if (!o.metadata_path.empty()) {
    FileStats fs(o.metadata_path, "amazon_metadata", o.max_bad_line_examples);
    RETURN_IF_ERROR(ReadMetadata(o, &st, &fs));
    d.replay_files.push_back(fs.stats());
  }
  if (!o.ratings_path.empty()) {
    FileStats fs(o.ratings_path, "ratings", o.max_bad_line_examples);
    RETURN_IF_ERROR(ReadRatings(o, &st, &fs));
    d.replay_files.push_back(fs.stats());
  }

  // Products: every asin/item seen anywhere (std::map: already in id order).
  for (const auto& [id, p] : st.meta) st.products.try_emplace(id);
  int64_t latest = 0;
  absl::flat_hash_map<std::string, uint32_t> product_index, customer_index;
  for (auto& [id, activity] : st.products) {
    v1::Product p;
    if (auto it = st.meta.find(id); it != st.meta.end()) p = it->second;
    p.set_id(id);
    p.set_currency("USD");
    // Dumps carry no stock or margin: stable made-up values, so the clock and recommenders have some.
    const size_t h = absl::HashOf(id);
    p.set_stock(static_cast<int32_t>(20 + h % 300));
    p.set_margin(0.15 + static_cast<double>(h / 300 % 35) / 100);
    if (activity.first != INT64_MAX) {
      ToProto(absl::FromUnixSeconds(activity.first), p.mutable_launch_date());
      ToProto(absl::FromUnixSeconds(activity.last), p.mutable_updated_at());
      latest = std::max(latest, activity.last);
    }
    product_index[id] = static_cast<uint32_t>(d.products.size());
    d.products.push_back(std::move(p));
  }
  for (auto& [id, activity] : st.customers) {
    v1::Customer c;
    c.set_id(id);
    if (auto it = st.reviewer_names.find(id); it != st.reviewer_names.end()) c.set_name(it->second);
    ToProto(absl::FromUnixSeconds(activity.first), c.mutable_created_at());
    customer_index[id] = static_cast<uint32_t>(d.customers.size());
    d.customers.push_back(std::move(c));
  }
  std::stable_sort(st.reviews.begin(), st.reviews.end(), [](const ReviewRow& a, const ReviewRow& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.review.customer_id() != b.review.customer_id())
      return a.review.customer_id() < b.review.customer_id();
    return a.review.product_id() < b.review.product_id();
  });
  for (size_t i = 0; i < st.reviews.size(); ++i) {
    st.reviews[i].review.set_id(ReviewId(i));
    d.reviews.push_back(std::move(st.reviews[i].review));
  }
  std::stable_sort(st.ratings.begin(), st.ratings.end(), [](const RatingRow& a, const RatingRow& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.user != b.user) return a.user < b.user;
    return a.item < b.item;
  });
  for (const RatingRow& r : st.ratings) {
    d.interactions.push_back({r.time * 1000000, customer_index.at(r.user), product_index.at(r.item), 0,
                              v1::INTERACTION_TYPE_RATING, static_cast<uint8_t>(r.rating), 0});
  }
  d.now = latest > 0 ? absl::FromUnixSeconds(latest + 1) : absl::UnixEpoch();
  return d;
}

}  // namespace marketlens::marketplace
