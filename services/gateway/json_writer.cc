#include "services/gateway/json_writer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"

namespace marketlens::gateway {

JsonValue JsonValue::String(absl::string_view s) {
  JsonValue v(Kind::kString);
  v.string_ = std::string(s);
  return v;
}

JsonValue JsonValue::Number(double n) {
  JsonValue v(Kind::kNumber);
  v.number_ = n;
  return v;
}

JsonValue JsonValue::Bool(bool b) {
  JsonValue v(Kind::kBool);
  v.bool_ = b;
  return v;
}

JsonValue& JsonValue::Set(absl::string_view key, JsonValue value) {
  kind_ = Kind::kObject;
  for (auto& [k, v] : members_) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  members_.emplace_back(std::string(key), std::move(value));
  return members_.back().second;
}

JsonValue& JsonValue::operator[](absl::string_view key) {
  for (auto& [k, v] : members_) {
    if (k == key) return v;
  }
  return Set(key, Object());
}

bool JsonValue::Has(absl::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return true;
  }
  return false;
}

JsonValue& JsonValue::Push(JsonValue value) {
  kind_ = Kind::kArray;
  items_.push_back(std::move(value));
  return items_.back();
}

std::string JsonValue::Serialize() const {
  std::string out;
  SerializeTo(&out);
  return out;
}

void JsonValue::SerializeTo(std::string* out) const {
  switch (kind_) {
    case Kind::kNull:
      out->append("null");
      break;
    case Kind::kBool:
      out->append(bool_ ? "true" : "false");
      break;
    case Kind::kNumber:
      if (std::isfinite(number_) && number_ == std::floor(number_) && std::fabs(number_) < 1e15) {
        absl::StrAppend(out, static_cast<int64_t>(number_));
      } else if (std::isfinite(number_)) {
        absl::StrAppend(out, number_);
      } else {
        out->append("null");
      }
      break;
    case Kind::kString:
      absl::StrAppend(out, "\"", logging::JsonEscape(string_), "\"");
      break;
    case Kind::kArray:
      out->push_back('[');
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out->push_back(',');
        items_[i].SerializeTo(out);
      }
      out->push_back(']');
      break;
    case Kind::kObject:
      out->push_back('{');
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) out->push_back(',');
        absl::StrAppend(out, "\"", logging::JsonEscape(members_[i].first), "\":");
        members_[i].second.SerializeTo(out);
      }
      out->push_back('}');
      break;
  }
}

}  // namespace marketlens::gateway
