#include "services/analyzer/llm/json_schema.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/macros.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace marketlens::analyzer::llm {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using Type = FieldSpec::Type;

absl::Status Check(const Struct& s, const std::vector<FieldSpec>& fields, const std::string& path);

absl::Status CheckString(const std::string& v, const FieldSpec& f, const std::string& where) {
  if (v.size() > f.max_length)
    return absl::InvalidArgumentError(absl::StrCat(where, ": longer than ", f.max_length));
  if (!f.one_of.empty() && std::find(f.one_of.begin(), f.one_of.end(), v) == f.one_of.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": must be one of ", absl::StrJoin(f.one_of, ", ")));
  }
  return absl::OkStatus();
}

absl::Status CheckField(const Value& v, const FieldSpec& f, const std::string& where) {
  switch (f.type) {
    case Type::kString:
      if (v.kind_case() != Value::kStringValue)
        return absl::InvalidArgumentError(absl::StrCat(where, ": must be a string"));
      return CheckString(v.string_value(), f, where);
    case Type::kNumber:
      if (v.kind_case() != Value::kNumberValue)
        return absl::InvalidArgumentError(absl::StrCat(where, ": must be a number"));
      if (v.number_value() < f.min || v.number_value() > f.max) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": must be in ", f.min, "..", f.max));
      }
      return absl::OkStatus();
    case Type::kBool:
      if (v.kind_case() != Value::kBoolValue)
        return absl::InvalidArgumentError(absl::StrCat(where, ": must be a boolean"));
      return absl::OkStatus();
    case Type::kStringArray:
    case Type::kObjectArray: {
      if (v.kind_case() != Value::kListValue)
        return absl::InvalidArgumentError(absl::StrCat(where, ": must be an array"));
      if (static_cast<size_t>(v.list_value().values_size()) > f.max_items) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": more than ", f.max_items, " items"));
      }
      for (int i = 0; i < v.list_value().values_size(); ++i) {
        const Value& item = v.list_value().values(i);
        const std::string at = absl::StrCat(where, "[", i, "]");
        if (f.type == Type::kStringArray) {
          if (item.kind_case() != Value::kStringValue)
            return absl::InvalidArgumentError(absl::StrCat(at, ": must be a string"));
          RETURN_IF_ERROR(CheckString(item.string_value(), f, at));
        } else {
          if (item.kind_case() != Value::kStructValue)
            return absl::InvalidArgumentError(absl::StrCat(at, ": must be an object"));
          RETURN_IF_ERROR(Check(item.struct_value(), f.item_fields, at));
        }
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status Check(const Struct& s, const std::vector<FieldSpec>& fields, const std::string& path) {
  for (const FieldSpec& f : fields) {
    auto it = s.fields().find(f.name);
    const std::string where = absl::StrCat(path, ".", f.name);
    if (it == s.fields().end() || it->second.kind_case() == Value::kNullValue) {
      if (f.required) return absl::InvalidArgumentError(absl::StrCat(where, ": missing"));
      continue;
    }
    RETURN_IF_ERROR(CheckField(it->second, f, where));
  }
  return absl::OkStatus();
}

const std::vector<std::string>& Labels() {
  static const auto* v = new std::vector<std::string>{"negative", "neutral", "positive"};
  return *v;
}

}  // namespace

absl::StatusOr<Struct> ParseJsonObject(absl::string_view text) {
  const size_t begin = text.find('{');
  const size_t end = text.rfind('}');
  if (begin == absl::string_view::npos || end == absl::string_view::npos || end < begin) {
    return absl::InvalidArgumentError("the answer contains no JSON object");
  }
  Struct s;
  const std::string json(text.substr(begin, end - begin + 1));
  auto st = google::protobuf::util::JsonStringToMessage(json, &s);
  if (!st.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("the answer is not valid JSON: ", st.message().as_string()));
  return s;
}

absl::Status Validate(const Struct& value, const Schema& schema) {
  return Check(value, schema.fields, schema.name);
}

namespace {

using Json = nlohmann::ordered_json;  // keys in the order written, so the schema reads as built

// Bounds as a person wrote them: -1, not -1.0.
Json Bound(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return static_cast<int64_t>(v);
  return v;
}

Json StringSchema(const FieldSpec& f) {
  Json out = {{"type", "string"}};
  if (!f.one_of.empty()) out["enum"] = f.one_of;
  return out;
}

Json ObjectSchema(const std::vector<FieldSpec>& fields);

Json FieldSchema(const FieldSpec& f) {
  switch (f.type) {
    case Type::kString:
      return StringSchema(f);
    case Type::kNumber: {
      Json out = {{"type", "number"}};
      if (f.min > -1e300) out["minimum"] = Bound(f.min);
      if (f.max < 1e300) out["maximum"] = Bound(f.max);
      return out;
    }
    case Type::kBool:
      return {{"type", "boolean"}};
    case Type::kStringArray:
      return {{"type", "array"}, {"items", StringSchema(f)}};
    case Type::kObjectArray:
      return {{"type", "array"}, {"items", ObjectSchema(f.item_fields)}};
  }
  return Json::object();
}

Json ObjectSchema(const std::vector<FieldSpec>& fields) {
  Json properties = Json::object();
  Json required = Json::array();
  for (const FieldSpec& f : fields) {
    properties[f.name] = FieldSchema(f);
    if (f.required) required.push_back(f.name);
  }
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

}  // namespace

std::string ToJsonSchema(const std::vector<FieldSpec>& fields) {
  return ObjectSchema(fields).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string ToJsonSchema(const Schema& schema) { return ToJsonSchema(schema.fields); }

const Schema& AnalyzeReviewSchema() {
  static const auto* s = [] {
    auto* schema = new Schema{"AnalyzeReviewOutput", {}};
    FieldSpec discovered;
    discovered.name = "discovered";
    discovered.type = Type::kBool;
    discovered.required = false;
    FieldSpec aspects = ObjectArrayField(
        "aspects", 64,
        {StringField("aspect", 60), NumberField("polarity", -1, 1), StringField("quote", 2000), discovered});
    FieldSpec issues = ObjectArrayField(
        "issues", 12, {StringField("category", 40, IssueCategories()), StringField("sentence", 2000)});
    // Optional: what the local engine adds (a remote model is not asked for these).
    FieldSpec quality;
    quality.name = "quality";
    quality.type = Type::kObjectArray;
    quality.required = false;
    quality.max_items = 8;
    quality.item_fields = {StringField("flag", 20,
                                       {"empty", "too_short", "truncated", "invalid_utf8", "shouting",
                                        "contains_url", "repetitive", "rating_mismatch"}),
                           StringField("sentence", 2000)};
    FieldSpec rule_score = NumberField("rule_score", -1, 1), model_score = NumberField("model_score", -1, 1),
              model_version = StringField("model_version", 200);
    rule_score.required = model_score.required = model_version.required = false;
    schema->fields = {NumberField("sentiment", -1, 1),
                      StringField("label", 10, Labels()),
                      aspects,
                      issues,
                      quality,
                      rule_score,
                      model_score,
                      model_version};
    return schema;
  }();
  return *s;
}

const Schema& SummarySchema() {
  static const auto* s =
      new Schema{"SummaryOutput",
                 {StringField("summary", 2000), StringArrayField("key_topics", 5, 80),
                  StringField("sentiment", 10, Labels()), StringArrayField("cited_ids", 100, 200)}};
  return *s;
}

const Schema& EmailSchema() {
  static const auto* s = new Schema{
      "EmailOutput",
      {StringField("subject", 120), StringField("body", 2500), StringArrayField("cited_ids", 100, 200)}};
  return *s;
}

const Schema& BriefSchema() {
  static const auto* s = new Schema{
      "BriefOutput",
      {StringField("caption", 600), StringArrayField("hooks", 5, 300), StringArrayField("hashtags", 12, 60),
       StringField("call_to_action", 300), StringField("tone", 120), StringField("persona", 400),
       StringArrayField("talking_points", 8, 400), StringArrayField("cited_ids", 100, 200)}};
  return *s;
}

std::string GetString(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it != s.fields().end() && it->second.kind_case() == Value::kStringValue ? it->second.string_value()
                                                                                 : "";
}
double GetNumber(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it != s.fields().end() && it->second.kind_case() == Value::kNumberValue ? it->second.number_value()
                                                                                 : 0;
}
std::vector<std::string> GetStrings(const Struct& s, const std::string& name) {
  std::vector<std::string> out;
  auto it = s.fields().find(name);
  if (it == s.fields().end() || it->second.kind_case() != Value::kListValue) return out;
  for (const Value& v : it->second.list_value().values()) {
    if (v.kind_case() == Value::kStringValue) out.push_back(v.string_value());
  }
  return out;
}
std::vector<Struct> GetObjects(const Struct& s, const std::string& name) {
  std::vector<Struct> out;
  auto it = s.fields().find(name);
  if (it == s.fields().end() || it->second.kind_case() != Value::kListValue) return out;
  for (const Value& v : it->second.list_value().values()) {
    if (v.kind_case() == Value::kStructValue) out.push_back(v.struct_value());
  }
  return out;
}

FieldSpec StringField(std::string name, size_t max_length, std::vector<std::string> one_of) {
  FieldSpec f;
  f.name = std::move(name);
  f.max_length = max_length;
  f.one_of = std::move(one_of);
  return f;
}

FieldSpec NumberField(std::string name, double min, double max) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldSpec::Type::kNumber;
  f.min = min;
  f.max = max;
  return f;
}

FieldSpec StringArrayField(std::string name, size_t max_items, size_t max_length, bool required) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldSpec::Type::kStringArray;
  f.max_items = max_items;
  f.max_length = max_length;
  f.required = required;
  return f;
}

FieldSpec ObjectArrayField(std::string name, size_t max_items, std::vector<FieldSpec> item_fields) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldSpec::Type::kObjectArray;
  f.max_items = max_items;
  f.item_fields = std::move(item_fields);
  return f;
}

const std::vector<std::string>& IssueCategories() {
  static const auto* v = new std::vector<std::string>{
      "damaged_in_shipping", "defective",  "durability",       "late_delivery", "packaging",
      "missing_parts",       "size_fit",   "not_as_described", "smell",         "safety",
      "customer_service",    "price_value"};
  return *v;
}

}  // namespace marketlens::analyzer::llm
