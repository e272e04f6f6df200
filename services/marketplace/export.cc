#include "services/marketplace/export.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/status/macros.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "services/marketplace/rng.h"

namespace marketlens::marketplace {
namespace {

std::string Rfc3339(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProto(ts), absl::UTCTimeZone());
}

// One JSON line; invalid UTF-8 in generated or replayed text becomes U+FFFD instead of failing the export.
std::string JsonLine(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

class File {
 public:
  explicit File(const std::string& path) : path_(path), out_(path, std::ios::binary | std::ios::trunc) {}
  bool ok() const { return out_.good(); }
  std::ofstream& out() { return out_; }
  absl::Status Close() {
    out_.close();
    if (out_.fail()) return absl::UnavailableError(absl::StrCat("cannot write ", path_));
    return absl::OkStatus();
  }

 private:
  std::string path_;
  std::ofstream out_;
};

// ---- CSV with mess ---------------------------------------------------------------------------------------

enum class Col { kText, kRequiredText, kInt, kFloat, kTime, kBool };

struct Column {
  std::string name;
  Col type;
};

class MessyCsv {
 public:
  MessyCsv(const std::string& dir, const std::string& name, std::vector<Column> columns, double rate,
           Rng* rng, File* manifest, int64_t* messy)
      : name_(name),
        file_(absl::StrCat(dir, "/", name)),
        columns_(std::move(columns)),
        rate_(rate),
        rng_(rng),
        manifest_(manifest),
        messy_(messy) {
    std::vector<std::string> names;
    for (const auto& c : columns_) names.push_back(c.name);
    file_.out() << absl::StrJoin(names, ",") << "\n";
  }

  void Row(std::vector<std::string> values) {
    ++line_;
    if (!Chance(*rng_, rate_)) {
      Write(values);
      return;
    }
    static const char* kKinds[] = {"missing_value", "bad_date",    "wrong_type",
                                   "duplicate",     "stray_quote", "wrong_column_count"};
    const std::string kind = kKinds[absl::Uniform<int>(*rng_, 0, 6)];
    auto pick = [&](std::function<bool(Col)> ok) -> int {
      std::vector<int> candidates;
      for (size_t i = 0; i < columns_.size(); ++i) {
        if (ok(columns_[i].type)) candidates.push_back(static_cast<int>(i));
      }
      return candidates.empty() ? -1 : Pick(*rng_, candidates);
    };
    if (kind == "duplicate") {
      Write(values);
      ++line_;
      Write(values);
      Note(kind, "");
      return;
    }
    if (kind == "wrong_column_count") {
      if (Chance(*rng_, 0.5)) {
        values.pop_back();
      } else {
        values.push_back("extra");
      }
      Write(values);
      Note(kind, "");
      return;
    }
    if (kind == "missing_value") {
      const int c = pick([](Col t) { return t != Col::kText; });
      values[c] = Chance(*rng_, 0.7) ? "" : Pick(*rng_, std::vector<std::string>{"NULL", "N/A", " "});
      Write(values);
      Note(kind, columns_[c].name);
      return;
    }
    if (kind == "bad_date") {
      const int c = pick([](Col t) { return t == Col::kTime; });
      if (c >= 0) {
        values[c] = Pick(*rng_, std::vector<std::string>{"2024-13-45T00:00:00Z", "yesterday", "31/02/2024",
                                                         "0000-00-00 00:00:00", "2024-02-30", "1e9"});
        Write(values);
        Note(kind, columns_[c].name);
        return;
      }
    }
    if (kind == "stray_quote") {
      const int c = pick([](Col t) { return t == Col::kText || t == Col::kRequiredText; });
      if (c >= 0 && values[c].find_first_of(",\r\n\"") == std::string::npos && !values[c].empty()) {
        // Written raw: a quote in the middle of an unquoted field, as hand-edited files have.
        const size_t at = absl::Uniform<size_t>(*rng_, 0, values[c].size());
        values[c].insert(at, "\"");
        Write(values, c);
        Note(kind, columns_[c].name);
        return;
      }
    }
    // wrong_type (also the fallback when the table has no column for the chosen kind).
    const int c =
        pick([](Col t) { return t == Col::kInt || t == Col::kFloat || t == Col::kBool || t == Col::kTime; });
    if (c < 0) {
      Write(values);
      return;
    }
    values[c] = Pick(*rng_, std::vector<std::string>{"abc", "1.5k", "twelve", "#REF!", "--", "true?"});
    Write(values);
    Note("wrong_type", columns_[c].name);
  }

  int64_t rows() const { return line_; }
  absl::Status Close() { return file_.Close(); }

 private:
  void Write(const std::vector<std::string>& values, int raw_column = -1) {
    std::ofstream& out = file_.out();
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out << ',';
      out << (static_cast<int>(i) == raw_column ? values[i] : CsvField(values[i]));
    }
    out << '\n';
  }
  void Note(const std::string& kind, const std::string& column) {
    ++*messy_;
    // Line numbers count the header as line 1.
    manifest_->out() << name_ << "," << line_ + 1 << "," << column << "," << kind << "\n";
  }

  std::string name_;
  File file_;
  std::vector<Column> columns_;
  double rate_;
  Rng* rng_;
  File* manifest_;
  int64_t* messy_;
  int64_t line_ = 0;  // data lines written
};

absl::Status WriteTruth(const std::string& path,
                        const std::vector<const google::protobuf::Message*>& messages) {
  File f(path);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  for (const google::protobuf::Message* m : messages) {
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(*m, &json, options).ok()) {
      return absl::InternalError("cannot render truth as JSON");
    }
    f.out() << json << "\n";
  }
  return f.Close();
}

template <typename T>
std::vector<const google::protobuf::Message*> Pointers(const std::vector<T>& items) {
  std::vector<const google::protobuf::Message*> out;
  out.reserve(items.size());
  for (const auto& i : items) out.push_back(&i);
  return out;
}

}  // namespace

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string ExportSummary::Line() const {
  return absl::StrCat("products=", products, " reviews=", reviews, " interactions=", interactions,
                      " ratings=", ratings, " customers=", customers, " campaign_posts=", campaign_posts,
                      " contacts=", contacts, " messy_rows=", messy_rows, " truth_records=", truth_records,
                      " out=", out_dir);
}

absl::StatusOr<ExportSummary> ExportWorld(const WorldData& d, const ExportOptions& o) {
  if (o.out_dir.empty()) return absl::InvalidArgumentError("out_dir is required");
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", o.out_dir, ": ", ec.message()));
  const std::string& dir = o.out_dir;
  ExportSummary sum;
  sum.out_dir = dir;
  auto path = [&](absl::string_view name) { return absl::StrCat(dir, "/", name); };

  if (o.data) {
    std::vector<std::string> names(d.customers.size());
    for (size_t i = 0; i < d.customers.size(); ++i) names[i] = d.customers[i].name();
    absl::flat_hash_map<std::string, size_t> customer_index;
    for (size_t i = 0; i < d.customers.size(); ++i) customer_index[d.customers[i].id()] = i;

    {  // Amazon review JSON lines.
      File f(path("reviews.json"));
      for (const auto& r : d.reviews) {
        auto it = customer_index.find(r.customer_id());
        const absl::Time t = FromProto(r.created_at());
        nlohmann::ordered_json line = {{"reviewerID", r.customer_id()}, {"asin", r.product_id()}};
        if (it != customer_index.end() && !names[it->second].empty())
          line["reviewerName"] = names[it->second];
        line["verified"] = r.verified_purchase();
        if (r.helpful_votes() > 0) line["vote"] = absl::StrCat(r.helpful_votes());
        line["overall"] = static_cast<double>(r.rating());
        line["reviewText"] = r.text();
        line["summary"] = r.title();
        line["unixReviewTime"] = absl::ToUnixSeconds(t);
        line["reviewTime"] = absl::FormatTime("%m %-d, %Y", t, absl::UTCTimeZone());
        f.out() << JsonLine(line);
      }
      RETURN_IF_ERROR(f.Close());
    }
    {  // Amazon metadata JSON lines.
      File f(path("meta.json"));
      for (const auto& p : d.products) {
        const nlohmann::ordered_json line = {
            {"asin", p.id()},
            {"title", p.title()},
            {"price", absl::StrFormat("$%d.%02d", p.price_cents() / 100, p.price_cents() % 100)},
            {"brand", p.brand()},
            {"category", nlohmann::ordered_json::array({p.category()})},
            {"description", p.description()}};
        f.out() << JsonLine(line);
      }
      RETURN_IF_ERROR(f.Close());
    }
    {  // MovieLens-style ratings.
      File f(path("u.data"));
      for (const auto& i : d.interactions) {
        if (i.type != v1::INTERACTION_TYPE_RATING) continue;
        f.out() << d.customers[i.customer].id() << '\t' << d.products[i.product].id() << '\t'
                << static_cast<int>(i.rating) << '\t' << i.time_us / 1000000 << '\n';
        ++sum.ratings;
      }
      RETURN_IF_ERROR(f.Close());
    }

    // CSVs with mess, and the manifest of the mess.
    Rng rng = MakeRng(o.mess_seed, 0xC5F);
    File manifest(path("csv_mess.csv"));
    manifest.out() << "file,line,column,kind\n";
    const double rate = std::max(0.0, std::min(1.0, o.mess_rate));
    {
      MessyCsv csv(dir, "products.csv",
                   {{"id", Col::kRequiredText},
                    {"title", Col::kRequiredText},
                    {"brand", Col::kText},
                    {"category", Col::kText},
                    {"price_cents", Col::kInt},
                    {"currency", Col::kRequiredText},
                    {"stock", Col::kInt},
                    {"margin", Col::kFloat},
                    {"launch_date", Col::kTime},
                    {"rating_average", Col::kFloat},
                    {"rating_count", Col::kInt},
                    {"updated_at", Col::kTime}},
                   rate, &rng, &manifest, &sum.messy_rows);
      for (const auto& p : d.products) {
        csv.Row({p.id(), p.title(), p.brand(), p.category(), absl::StrCat(p.price_cents()), p.currency(),
                 absl::StrCat(p.stock()), absl::StrCat(p.margin()), Rfc3339(p.launch_date()),
                 absl::StrCat(p.rating_average()), absl::StrCat(p.rating_count()), Rfc3339(p.updated_at())});
      }
      RETURN_IF_ERROR(csv.Close());
    }
    {
      MessyCsv csv(dir, "customers.csv",
                   {{"id", Col::kRequiredText},
                    {"name", Col::kText},
                    {"email", Col::kText},
                    {"occupation", Col::kText},
                    {"segment", Col::kText},
                    {"region", Col::kText},
                    {"created_at", Col::kTime}},
                   rate, &rng, &manifest, &sum.messy_rows);
      for (const auto& c : d.customers) {
        csv.Row(
            {c.id(), c.name(), c.email(), c.occupation(), c.segment(), c.region(), Rfc3339(c.created_at())});
      }
      RETURN_IF_ERROR(csv.Close());
    }
    {
      MessyCsv csv(dir, "reviews.csv",
                   {{"id", Col::kRequiredText},
                    {"product_id", Col::kRequiredText},
                    {"customer_id", Col::kRequiredText},
                    {"rating", Col::kInt},
                    {"title", Col::kText},
                    {"text", Col::kText},
                    {"verified_purchase", Col::kBool},
                    {"helpful_votes", Col::kInt},
                    {"created_at", Col::kTime},
                    {"updated_at", Col::kTime},
                    {"version", Col::kInt}},
                   rate, &rng, &manifest, &sum.messy_rows);
      for (const auto& r : d.reviews) {
        csv.Row({r.id(), r.product_id(), r.customer_id(), absl::StrCat(r.rating()), r.title(), r.text(),
                 r.verified_purchase() ? "true" : "false", absl::StrCat(r.helpful_votes()),
                 Rfc3339(r.created_at()), Rfc3339(r.updated_at()), absl::StrCat(r.version())});
      }
      RETURN_IF_ERROR(csv.Close());
    }
    {
      MessyCsv csv(dir, "interactions.csv",
                   {{"id", Col::kRequiredText},
                    {"customer_id", Col::kRequiredText},
                    {"product_id", Col::kRequiredText},
                    {"type", Col::kRequiredText},
                    {"rating", Col::kText},
                    {"session_id", Col::kText},
                    {"device", Col::kText},
                    {"occurred_at", Col::kTime}},
                   rate, &rng, &manifest, &sum.messy_rows);
      for (size_t i = 0; i < d.interactions.size(); ++i) {
        const InteractionRecord& r = d.interactions[i];
        csv.Row(
            {InteractionId(i), d.customers[r.customer].id(), d.products[r.product].id(),
             std::string(InteractionTypeName(r.type)), r.rating > 0 ? absl::StrCat(r.rating) : "",
             SessionId(r.session), std::string(DeviceName(r.device)),
             absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMicros(r.time_us), absl::UTCTimeZone())});
      }
      RETURN_IF_ERROR(csv.Close());
    }
    {
      MessyCsv csv(dir, "campaign_posts.csv",
                   {{"id", Col::kRequiredText},
                    {"campaign_id", Col::kRequiredText},
                    {"influencer", Col::kRequiredText},
                    {"platform", Col::kRequiredText},
                    {"product_id", Col::kText},
                    {"views", Col::kInt},
                    {"likes", Col::kInt},
                    {"comments", Col::kInt},
                    {"shares", Col::kInt},
                    {"posted_at", Col::kTime},
                    {"caption", Col::kText},
                    {"hashtags", Col::kText}},
                   rate, &rng, &manifest, &sum.messy_rows);
      for (const auto& p : d.posts) {
        // Hashtags as a spreadsheet would hold them: "#tag #tag".
        std::string tags;
        for (const auto& h : p.hashtags()) absl::StrAppend(&tags, tags.empty() ? "#" : " #", h);
        csv.Row({p.id(), p.campaign_id(), p.influencer(), p.platform(), p.product_id(),
                 absl::StrCat(p.views()), absl::StrCat(p.likes()), absl::StrCat(p.comments()),
                 absl::StrCat(p.shares()), Rfc3339(p.posted_at()), p.caption(), tags});
      }
      RETURN_IF_ERROR(csv.Close());
    }
    {
      MessyCsv csv(dir, "contacts.csv",
                   {{"id", Col::kRequiredText},
                    {"customer_id", Col::kRequiredText},
                    {"started_at", Col::kTime},
                    {"channel", Col::kRequiredText},
                    {"topic", Col::kText},
                    {"sentiment", Col::kFloat},
                    {"notes", Col::kText},
                    {"product_id", Col::kText}},
                   rate, &rng, &manifest, &sum.messy_rows);
      for (const auto& c : d.contacts) {
        csv.Row({c.id(), c.customer_id(), Rfc3339(c.started_at()), c.channel(), c.topic(),
                 absl::StrCat(c.sentiment()), c.notes(), c.product_id()});
      }
      RETURN_IF_ERROR(csv.Close());
    }
    RETURN_IF_ERROR(manifest.Close());
  }
  // What the world holds (also when only the truth was written).
  sum.products = d.products.size();
  sum.reviews = d.reviews.size();
  sum.interactions = d.interactions.size();
  sum.customers = d.customers.size();
  sum.campaign_posts = d.posts.size();
  sum.contacts = d.contacts.size();

  if (o.truth && !d.product_truth.empty()) {
    for (const auto& [name, items] :
         std::vector<std::pair<std::string, std::vector<const google::protobuf::Message*>>>{
             {"truth_products.jsonl", Pointers(d.product_truth)},
             {"truth_reviews.jsonl", Pointers(d.review_truth)},
             {"truth_customers.jsonl", Pointers(d.customer_truth)},
             {"truth_influencers.jsonl", Pointers(d.influencer_truth)},
             {"truth_captions.jsonl", Pointers(d.caption_truth)}}) {
      RETURN_IF_ERROR(WriteTruth(path(name), items));
      sum.truth_records += items.size();
    }
  }
  File summary(path("summary.txt"));
  summary.out() << sum.Line() << "\n";
  RETURN_IF_ERROR(summary.Close());
  return sum;
}

}  // namespace marketlens::marketplace
