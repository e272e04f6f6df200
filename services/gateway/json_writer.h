// A tiny ordered JSON value for documents the gateway builds itself (the OpenAPI document): objects keep
// insertion order, so the output is stable and readable. Not a parser.
#ifndef MARKETLENS_SERVICES_GATEWAY_JSON_WRITER_H_
#define MARKETLENS_SERVICES_GATEWAY_JSON_WRITER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace marketlens::gateway {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  JsonValue() = default;
  static JsonValue Object() { return JsonValue(Kind::kObject); }
  static JsonValue Array() { return JsonValue(Kind::kArray); }
  static JsonValue String(absl::string_view s);
  static JsonValue Number(double n);
  static JsonValue Bool(bool b);

  // Objects: sets (replacing) a member and returns it.
  JsonValue& Set(absl::string_view key, JsonValue value);
  // Objects: the member, created as an object when missing.
  JsonValue& operator[](absl::string_view key);
  bool Has(absl::string_view key) const;
  // Arrays: appends.
  JsonValue& Push(JsonValue value);

  Kind kind() const { return kind_; }
  size_t size() const { return kind_ == Kind::kObject ? members_.size() : items_.size(); }

  std::string Serialize() const;
  void SerializeTo(std::string* out) const;

 private:
  explicit JsonValue(Kind kind) : kind_(kind) {}
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<std::pair<std::string, JsonValue>> members_;
  std::vector<JsonValue> items_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_JSON_WRITER_H_
