#include "services/analyzer/llm/local_backend.h"

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "google/protobuf/util/json_util.h"

namespace marketlens::analyzer::llm {

absl::StatusOr<LlmResponse> LocalBackend::Complete(const RenderedPrompt& prompt, absl::Time /*deadline*/) {
  auto it = writers_.find(prompt.name());
  if (it == writers_.end()) {
    return absl::UnimplementedError(absl::StrCat("the local engine has no writer for prompt ", prompt.id));
  }
  if (prompt.context == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt ", prompt.id, " carries no context for the local engine"));
  }
  ASSIGN_OR_RETURN(google::protobuf::Struct answer, it->second(prompt));
  LlmResponse r;
  r.model = model_;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto st = google::protobuf::util::MessageToJsonString(answer, &r.content, options);
  if (!st.ok())
    return absl::InternalError(absl::StrCat("local answer to ", prompt.id, ": ", st.message().as_string()));
  return r;
}

void SetString(google::protobuf::Struct* s, const std::string& name, const std::string& value) {
  (*s->mutable_fields())[name].set_string_value(value);
}
void SetNumber(google::protobuf::Struct* s, const std::string& name, double value) {
  (*s->mutable_fields())[name].set_number_value(value);
}
void SetStrings(google::protobuf::Struct* s, const std::string& name,
                const std::vector<std::string>& values) {
  auto* list = (*s->mutable_fields())[name].mutable_list_value();
  list->Clear();
  for (const auto& v : values) list->add_values()->set_string_value(v);
}

}  // namespace marketlens::analyzer::llm
