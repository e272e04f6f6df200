#include "services/gateway/field_path.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace marketlens::gateway {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

const FieldDescriptor* FindField(const Descriptor* message, absl::string_view name) {
  const std::string key(name);
  if (const FieldDescriptor* f = message->FindFieldByName(key); f != nullptr) return f;
  for (int i = 0; i < message->field_count(); ++i) {
    if (message->field(i)->json_name() == key) return message->field(i);
  }
  return nullptr;
}

absl::StatusOr<FieldPath> ResolveFieldPath(const Descriptor* message, absl::string_view path) {
  FieldPath out;
  const Descriptor* current = message;
  const std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (current == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", FieldPathName(out), "\" is not a message, so it has no field \"", parts[i], "\""));
    }
    const FieldDescriptor* f = FindField(current, parts[i]);
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("no field \"", parts[i], "\" in ", current->full_name()));
    }
    if (i + 1 < parts.size() && (f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)) {
      return absl::InvalidArgumentError(absl::StrCat("\"", f->name(), "\" is ",
                                                     f->is_repeated() ? "repeated" : "not a message",
                                                     ": it cannot have sub-fields"));
    }
    out.push_back(f);
    current = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? f->message_type() : nullptr;
  }
  return out;
}

std::string FieldPathName(const FieldPath& path) {
  return absl::StrJoin(path, ".", [](std::string* out, const FieldDescriptor* f) { out->append(f->name()); });
}

bool IsUrlBindable(const FieldDescriptor* field) {
  if (field->is_map()) return false;
  if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return true;
  const std::string& name = field->message_type()->full_name();
  return name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration" ||
         name == "google.protobuf.FieldMask" || name == "google.protobuf.StringValue" ||
         name == "google.protobuf.BytesValue" || name == "google.protobuf.BoolValue" ||
         name == "google.protobuf.Int32Value" || name == "google.protobuf.Int64Value" ||
         name == "google.protobuf.UInt32Value" || name == "google.protobuf.UInt64Value" ||
         name == "google.protobuf.FloatValue" || name == "google.protobuf.DoubleValue";
}

}  // namespace marketlens::gateway
