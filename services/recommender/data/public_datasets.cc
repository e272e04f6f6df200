#include "services/recommender/data/public_datasets.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/status/macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace marketlens::recommender {
namespace {

// One CSV record (RFC 4180: quoted fields may hold commas and doubled quotes; no embedded newlines here).
bool SplitCsv(absl::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields->push_back(std::move(field));
      field.clear();
    } else {
      field.push_back(c);
    }
  }
  fields->push_back(std::move(field));
  return !quoted;
}

// Stock codes that are not products (postage, manual adjustments, fees, samples).
bool IsNonProduct(absl::string_view code) {
  for (absl::string_view c :
       {"POST", "DOT", "M", "m", "C2", "BANK CHARGES", "AMAZONFEE", "CRUK", "D", "S", "B", "PADS",
        "gift_0001_10", "gift_0001_20", "gift_0001_30", "gift_0001_40", "gift_0001_50"}) {
    if (code == c) return true;
  }
  return false;
}

// The last alphabetic word of a description: the product noun of most Online Retail descriptions.
std::string CategoryOf(absl::string_view description) {
  std::vector<absl::string_view> words = absl::StrSplit(description, ' ', absl::SkipWhitespace());
  for (auto it = words.rbegin(); it != words.rend(); ++it) {
    bool alpha = !it->empty();
    for (char c : *it) alpha = alpha && absl::ascii_isalpha(static_cast<unsigned char>(c));
    if (alpha && it->size() >= 3) return absl::AsciiStrToUpper(*it);
  }
  return "OTHER";
}

absl::Status LineError(absl::string_view name, int64_t line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ":", line, ": ", what));
}

}  // namespace

std::string PriceBucket(double price) {
  if (price < 1) return "0-1";
  if (price < 2) return "1-2";
  if (price < 5) return "2-5";
  if (price < 10) return "5-10";
  if (price < 20) return "10-20";
  return "20+";
}

absl::StatusOr<PublicDataset> ParseOnlineRetailCsv(absl::string_view text, absl::string_view name,
                                                   const OnlineRetailOptions& options) {
  PublicDataset d;
  std::vector<std::string> f;
  int64_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripTrailingAsciiWhitespace(line);  // CRLF
    if (line.empty()) continue;
    if (line_number == 1) {
      if (!absl::StartsWith(line, "\"InvoiceNo\"") && !absl::StartsWith(line, "InvoiceNo")) {
        return LineError(name, 1, "expected the header InvoiceNo,StockCode,Description,...");
      }
      continue;
    }
    ++d.report.lines;
    if (!SplitCsv(line, &f) || f.size() != 8) {
      return LineError(name, line_number, absl::StrCat("expected 8 CSV fields, got ", f.size()));
    }
    const std::string& invoice = f[0];
    const std::string& code = f[1];
    double quantity = 0, price = 0;
    if (!absl::SimpleAtod(f[3], &quantity)) {
      return LineError(name, line_number, absl::StrCat("Quantity `", f[3], "` is not a number"));
    }
    if (!absl::SimpleAtod(f[5], &price)) {
      return LineError(name, line_number, absl::StrCat("UnitPrice `", f[5], "` is not a number"));
    }
    absl::Time when;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", f[4], absl::UTCTimeZone(), &when, &error)) {
      return LineError(name, line_number, absl::StrCat("InvoiceDate `", f[4], "`: ", error));
    }
    if (!invoice.empty() && (invoice[0] == 'C' || invoice[0] == 'c')) {
      ++d.report.cancellations;
      continue;
    }
    if (quantity <= 0 || price <= 0) {
      ++d.report.non_positive;
      continue;
    }
    if (IsNonProduct(code)) {
      ++d.report.non_product;
      continue;
    }
    std::string user = f[6];
    if (user == "NA" || user.empty()) {
      ++d.report.no_customer;
      if (!options.keep_anonymous) continue;
      user = absl::StrCat("anon:", invoice);
    }
    ++d.report.kept;
    d.log.Add(user, code, EventType::kPurchase, 1.0f, absl::ToUnixSeconds(when), invoice);
    auto [it, inserted] = d.catalog.try_emplace(code);
    if (inserted) {
      ItemInfo& info = it->second;
      info.title = std::string(absl::StripAsciiWhitespace(f[2]));
      info.category = CategoryOf(info.title);
      info.attributes = {{"price_bucket", PriceBucket(price)}, {"country", f[7]}};
    }
  }
  return d;
}

absl::StatusOr<PublicDataset> ReadOnlineRetailCsv(const std::string& path,
                                                  const OnlineRetailOptions& options) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseOnlineRetailCsv(text, path, options);
}

absl::StatusOr<PublicDataset> ParseAmazonReviewsJson(absl::string_view text, absl::string_view name) {
  PublicDataset d;
  int64_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    ++d.report.lines;
    google::protobuf::Struct row;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &row).ok()) {
      return LineError(name, line_number, "not a JSON object");
    }
    const auto& fields = row.fields();
    auto user = fields.find("reviewerID");
    auto item = fields.find("asin");
    auto overall = fields.find("overall");
    auto time = fields.find("unixReviewTime");
    if (user == fields.end() || item == fields.end() || overall == fields.end() || time == fields.end() ||
        user->second.string_value().empty() || item->second.string_value().empty()) {
      return LineError(name, line_number, "needs reviewerID, asin, overall and unixReviewTime");
    }
    ++d.report.kept;
    const std::string& asin = item->second.string_value();
    d.log.Add(user->second.string_value(), asin, EventType::kRating,
              static_cast<float>(overall->second.number_value()),
              static_cast<int64_t>(time->second.number_value()));
    auto [it, inserted] = d.catalog.try_emplace(asin);
    if (inserted) {
      auto style = fields.find("style");
      if (style != fields.end() && style->second.has_struct_value()) {
        for (const auto& [k, v] : style->second.struct_value().fields()) {
          it->second.category = std::string(absl::StripAsciiWhitespace(v.string_value()));
          it->second.attributes.push_back({k, it->second.category});
        }
      }
    }
  }
  return d;
}

absl::StatusOr<PublicDataset> ReadAmazonReviewsJson(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseAmazonReviewsJson(text, path);
}

}  // namespace marketlens::recommender
