#include "services/analyzer/eval/real_data_readers.h"

#include <cmath>
#include <fstream>
#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/macros.h"
#include "common/strings/utf8.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/analyzer/engine/semeval_xml.h"

namespace marketlens::analyzer {
namespace {

absl::StatusOr<std::ifstream> Open(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return in;
}

std::string Field(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  if (it == s.fields().end()) return "";
  if (it->second.kind_case() == google::protobuf::Value::kStringValue) return it->second.string_value();
  return "";
}

}  // namespace

std::string RealReview::TitleAndText() const {
  if (title.empty()) return text;
  const char last = title.back();
  return absl::StrCat(title, last == '.' || last == '!' || last == '?' ? "\n" : ".\n", text);
}

std::string DecodeHtmlEntities(absl::string_view s) {
  static const auto* const kNamed = new absl::flat_hash_map<std::string, uint32_t>{
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0}};
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i + 1);
      if (semi != absl::string_view::npos && semi - i <= 10) {
        const absl::string_view name = s.substr(i + 1, semi - i - 1);
        uint32_t cp = 0;
        bool ok = false;
        if (name.size() > 1 && name[0] == '#') {
          if (name[1] == 'x' || name[1] == 'X') {
            ok = name.size() > 2 && absl::SimpleHexAtoi(name.substr(2), &cp);
          } else {
            ok = absl::SimpleAtoi(name.substr(1), &cp);
          }
        } else if (auto it = kNamed->find(std::string(name)); it != kNamed->end()) {
          cp = it->second;
          ok = true;
        }
        if (ok) {
          strings::AppendUtf8(cp == 0 ? 0xFFFD : cp, &out);
          i = semi + 1;
          continue;
        }
      }
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}

absl::StatusOr<std::vector<RealReview>> ReadBlitzerReviews(const std::string& path) {
  ASSIGN_OR_RETURN(auto in, Open(path));
  std::vector<RealReview> out;
  RealReview current;
  std::string tag, value, rating, line;
  bool in_review = false;
  int64_t line_no = 0, review_line = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line == "<review>") {
      current = RealReview();
      rating.clear();
      in_review = true;
      review_line = line_no;
      continue;
    }
    if (line == "</review>") {
      double stars = 0;
      if (!in_review || !absl::SimpleAtod(rating, &stars) || stars < 1 || stars > 5) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ":", review_line, ": review without a rating of 1 to 5 (got \"", rating, "\")"));
      }
      current.rating = static_cast<int>(std::lround(stars));
      out.push_back(std::move(current));
      in_review = false;
      continue;
    }
    if (!in_review) continue;
    if (tag.empty() && line.size() > 2 && line.front() == '<' && line.back() == '>' && line[1] != '/') {
      tag = line.substr(1, line.size() - 2);
      value.clear();
      continue;
    }
    if (!tag.empty() && line == absl::StrCat("</", tag, ">")) {
      std::string v(absl::StripAsciiWhitespace(DecodeHtmlEntities(value)));
      if (tag == "unique_id") current.id = std::move(v);
      if (tag == "asin") current.product = std::move(v);
      if (tag == "title") current.title = std::move(v);
      if (tag == "review_text") current.text = std::move(v);
      if (tag == "rating") rating = std::move(v);
      tag.clear();
      continue;
    }
    if (!tag.empty()) absl::StrAppend(&value, value.empty() ? "" : "\n", line);
  }
  if (in_review)
    return absl::InvalidArgumentError(absl::StrCat(path, ":", review_line, ": unterminated review"));
  return out;
}

absl::StatusOr<std::vector<RealReview>> ReadAmazonJsonLines(const std::string& path) {
  ASSIGN_OR_RETURN(auto in, Open(path));
  std::vector<RealReview> out;
  absl::flat_hash_map<std::string, int> ids;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    google::protobuf::Struct s;
    auto st = google::protobuf::util::JsonStringToMessage(line, &s);
    if (!st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": not a JSON object: ", st.message().as_string()));
    }
    auto overall = s.fields().find("overall");
    if (overall == s.fields().end() || overall->second.kind_case() != google::protobuf::Value::kNumberValue ||
        overall->second.number_value() < 1 || overall->second.number_value() > 5) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": `overall` must be a number 1 to 5"));
    }
    RealReview r;
    r.rating = static_cast<int>(std::lround(overall->second.number_value()));
    r.product = Field(s, "asin");
    r.title = DecodeHtmlEntities(Field(s, "summary"));
    r.text = DecodeHtmlEntities(Field(s, "reviewText"));
    if (r.title.empty() && r.text.empty()) continue;
    r.id = absl::StrCat(Field(s, "reviewerID"), "/", r.product);
    if (++ids[r.id] > 1) absl::StrAppend(&r.id, "#", line_no);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<RealReview>> ReadSemEvalPolarSentences(const std::string& path) {
  ASSIGN_OR_RETURN(auto in, Open(path));
  const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<std::vector<AnnotatedSentence>> sentences = ParseSemEvalXml(xml);
  if (!sentences.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", sentences.status().message()));
  }
  std::vector<RealReview> out;
  for (const AnnotatedSentence& sentence : *sentences) {
    int positive = 0, negative = 0, other = 0;
    for (const AnnotatedTerm& term : sentence.terms) {
      (term.polarity == "positive" ? positive : term.polarity == "negative" ? negative : other)++;
    }
    if (other > 0 || (positive > 0) == (negative > 0)) continue;
    RealReview r;
    r.id = sentence.id;
    r.text = std::string(absl::StripAsciiWhitespace(sentence.text));
    r.rating = positive > 0 ? 5 : 1;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace marketlens::analyzer
