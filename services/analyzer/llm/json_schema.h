// The JSON an LLM answers with is untrusted: it is parsed (tolerating a ```json fence or prose around the
// object), then checked against a small schema (required fields, types, enums, ranges, lengths) before
// anything uses it. An answer that fails is treated like a failed call (retried, then the local engine
// answers), never passed on.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_JSON_SCHEMA_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_JSON_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace marketlens::analyzer::llm {

struct FieldSpec {
  enum class Type { kString, kNumber, kBool, kStringArray, kObjectArray };
  std::string name;
  Type type = Type::kString;
  bool required = true;
  double min = -1e300, max = 1e300;    // numbers
  size_t max_length = 20000;           // strings (bytes), and each string of a string array
  size_t max_items = 100;              // arrays
  std::vector<std::string> one_of;     // strings (and string array items): allowed values, when not empty
  std::vector<FieldSpec> item_fields;  // kObjectArray: the fields of each object
};

struct Schema {
  std::string name;  // for messages: "SummaryOutput"
  std::vector<FieldSpec> fields;
};

// Field builders, so a schema reads as one line per field.
FieldSpec StringField(std::string name, size_t max_length = 20000, std::vector<std::string> one_of = {});
FieldSpec NumberField(std::string name, double min, double max);
FieldSpec StringArrayField(std::string name, size_t max_items, size_t max_length = 500, bool required = true);
FieldSpec ObjectArrayField(std::string name, size_t max_items, std::vector<FieldSpec> item_fields);

// The issue categories an analysis may name (the local engine's, data/issues.conf).
const std::vector<std::string>& IssueCategories();

// Parses the first JSON object in `text` (a ```json fence or leading prose is skipped).
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(absl::string_view text);
// INVALID_ARGUMENT naming the first violation ("SummaryOutput.sentiment: must be one of ...").
absl::Status Validate(const google::protobuf::Struct& value, const Schema& schema);

// The schema as a JSON Schema document (an object with properties, required, additionalProperties false;
// enums and numeric ranges; lengths and item counts are left to Validate), for response_format
// json_schema.
std::string ToJsonSchema(const Schema& schema);
std::string ToJsonSchema(const std::vector<FieldSpec>& fields);

// The schemas of the prompt templates in data/prompts.
const Schema& AnalyzeReviewSchema();
const Schema& SummarySchema();
const Schema& EmailSchema();
const Schema& BriefSchema();

// Field access helpers (empty / 0 when absent).
std::string GetString(const google::protobuf::Struct& s, const std::string& name);
double GetNumber(const google::protobuf::Struct& s, const std::string& name);
std::vector<std::string> GetStrings(const google::protobuf::Struct& s, const std::string& name);
std::vector<google::protobuf::Struct> GetObjects(const google::protobuf::Struct& s, const std::string& name);

}  // namespace marketlens::analyzer::llm

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_JSON_SCHEMA_H_
