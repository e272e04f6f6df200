// A small JSON reader for replaying real dumps, where one line is one record. Two reasons not to map the
// lines straight onto a proto: fields change type between dumps ("price": 12.99 vs "$12.99", "vote": "1,234"
// vs 3) and the 2014 Amazon metadata files are Python reprs, not JSON ({'asin': '0001', 'x': True}).
// Lenient mode accepts those (single-quoted strings, True/False/None); strict mode is plain RFC 8259.
// Depth and size are bounded, and every error names the byte offset, so bad lines are reported, not fatal.
#ifndef MARKETLENS_SERVICES_MARKETPLACE_JSON_LITE_H_
#define MARKETLENS_SERVICES_MARKETPLACE_JSON_LITE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::marketplace::json {

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;
  static Value Bool(bool b);
  static Value Number(double d, std::string text);
  static Value String(std::string s);
  static Value Array(std::vector<Value> items);
  static Value Object(std::map<std::string, Value> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_bool() const { return type_ == Type::kBool; }

  bool bool_value() const { return bool_; }
  double number() const { return number_; }
  // Strings as they are; numbers as written in the source; booleans "true"/"false"; else "".
  const std::string& text() const { return text_; }
  const std::vector<Value>& items() const { return items_; }
  const std::map<std::string, Value>& members() const { return members_; }

  // The member `key` of an object, or nullptr (also when this is not an object).
  const Value* Find(absl::string_view key) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string text_;
  std::vector<Value> items_;
  std::map<std::string, Value> members_;
};

struct ParseOptions {
  // Also accept Python reprs: 'single quoted' strings, True / False / None.
  bool lenient = true;
  int max_depth = 32;
};

// One JSON value filling all of `text` (surrounding whitespace allowed). INVALID_ARGUMENT with the offset.
absl::StatusOr<Value> Parse(absl::string_view text, const ParseOptions& options = {});

}  // namespace marketlens::marketplace::json

#endif  // MARKETLENS_SERVICES_MARKETPLACE_JSON_LITE_H_
