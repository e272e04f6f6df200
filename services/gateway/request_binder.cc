#include "services/gateway/request_binder.h"

#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/logging/log.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "services/gateway/path_template.h"

namespace marketlens::gateway {
namespace {

using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

ApiError Invalid(absl::string_view field, absl::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, message, field);
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string Quote(absl::string_view value) {
  std::string v(value.substr(0, 64));
  if (value.size() > 64) v += "...";
  return absl::StrCat("\"", absl::CEscape(v), "\"");
}

bool IsWrapper(const google::protobuf::Descriptor* d) {
  const std::string& n = d->full_name();
  return absl::StartsWith(n, "google.protobuf.") && absl::EndsWith(n, "Value") &&
         n != "google.protobuf.Value" && n != "google.protobuf.ListValue";
}

template <typename T>
bool ParseInt(absl::string_view v, T* out) {
  return absl::SimpleAtoi(v, out);
}

// A scalar (non-message) leaf.
std::optional<ApiError> SetScalar(Message* msg, const FieldDescriptor* f, absl::string_view value,
                                  const std::string& name) {
  const Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  auto bad = [&](absl::string_view expected) {
    return Invalid(name, absl::StrCat(name, ": ", Quote(value), " is not ", expected));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!ParseInt(value, &v)) return bad("a valid int32");
      rep ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!ParseInt(value, &v)) return bad("a valid int64");
      rep ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!ParseInt(value, &v)) return bad("a valid uint32");
      rep ? r->AddUInt32(msg, f, v) : r->SetUInt32(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!ParseInt(value, &v)) return bad("a valid uint64");
      rep ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(value, &v)) return bad("a number");
      rep ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      if (!absl::SimpleAtof(value, &v)) return bad("a number");
      rep ? r->AddFloat(msg, f, v) : r->SetFloat(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (value == "true" || value == "1") {
        v = true;
      } else if (value == "false" || value == "0") {
        v = false;
      } else {
        return bad("true or false");
      }
      rep ? r->AddBool(msg, f, v) : r->SetBool(msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* ev = f->enum_type()->FindValueByName(std::string(value));
      int number;
      if (ev == nullptr && absl::SimpleAtoi(value, &number)) ev = f->enum_type()->FindValueByNumber(number);
      if (ev == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < f->enum_type()->value_count(); ++i)
          names.push_back(f->enum_type()->value(i)->name());
        return bad(absl::StrCat("one of ", absl::StrJoin(names, ", ")));
      }
      rep ? r->AddEnum(msg, f, ev) : r->SetEnum(msg, f, ev);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v;
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        if (!absl::WebSafeBase64Unescape(value, &v) && !absl::Base64Unescape(value, &v)) {
          return bad("valid base64");
        }
      } else {
        if (!IsValidUtf8(value)) return bad("valid UTF-8");
        v = std::string(value);
      }
      rep ? r->AddString(msg, f, std::move(v)) : r->SetString(msg, f, std::move(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return Invalid(name, absl::StrCat(name, " is a message: set its fields as ", name, ".<field>"));
  }
  return std::nullopt;
}

// JSON parse errors of protobuf 3.21 look like "(context.time): invalid value ... for type ...",
// "foo: Cannot find field." or a syntax error with a caret under the bad spot.
ApiError JsonError(absl::string_view status_message) {
  absl::string_view m = status_message;
  if (absl::ConsumePrefix(&m, "(")) {
    const size_t close = m.find("):");
    if (close != absl::string_view::npos) {
      const std::string field(m.substr(0, close));
      std::string rest(absl::StripAsciiWhitespace(m.substr(close + 2)));
      // "invalid value "abc" for type TYPE_INT32" -> "invalid value "abc" (expected int32)"
      if (const size_t t = rest.rfind(" for type TYPE_"); t != std::string::npos) {
        rest =
            absl::StrCat(rest.substr(0, t), " (expected ", absl::AsciiStrToLower(rest.substr(t + 15)), ")");
      } else if (const size_t t2 = rest.rfind(" for type type.googleapis.com/"); t2 != std::string::npos) {
        rest = rest.substr(0, t2);
      }
      return Invalid(field, absl::StrCat(field, ": ", rest));
    }
  }
  if (const size_t at = status_message.find(": Cannot find field.");
      at != absl::string_view::npos && at > 0) {
    // "name: Cannot find field." at the top, "(parent.path) name: Cannot find field." below it.
    absl::string_view where = status_message.substr(0, at);
    std::string field(where);
    if (absl::ConsumePrefix(&where, "(")) {
      const size_t close = where.find(") ");
      if (close != absl::string_view::npos) {
        field = absl::StrCat(where.substr(0, close), ".", where.substr(close + 2));
      }
    }
    return Invalid(field, absl::StrCat("unknown field \"", field, "\""));
  }
  if (absl::StrContains(m, "Root element must be a message")) {
    return Invalid("", "the request body must be a JSON object");
  }
  const size_t nl = m.find('\n');
  return Invalid("", absl::StrCat("malformed JSON: ", m.substr(0, nl)));
}

bool IsBlankBody(absl::string_view body) {
  absl::string_view b = absl::StripAsciiWhitespace(body);
  if (b.empty()) return true;
  if (b.front() != '{' || b.back() != '}') return false;
  return absl::StripAsciiWhitespace(b.substr(1, b.size() - 2)).empty();
}

bool HasPrefix(const FieldPath& path, const FieldPath& prefix) {
  if (prefix.size() > path.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (path[i] != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseQueryString(absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::string key, value;
    const size_t eq = part.find('=');
    absl::string_view k = eq == absl::string_view::npos ? part : part.substr(0, eq);
    absl::string_view v = eq == absl::string_view::npos ? absl::string_view() : part.substr(eq + 1);
    key = PercentDecode(absl::StrReplaceAll(k, {{"+", " "}}));
    value = PercentDecode(absl::StrReplaceAll(v, {{"+", " "}}));
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::optional<ApiError> SetFieldFromString(Message* message, const FieldPath& path, absl::string_view value) {
  const std::string name = FieldPathName(path);
  Message* msg = message;
  for (size_t i = 0; i + 1 < path.size(); ++i) msg = msg->GetReflection()->MutableMessage(msg, path[i]);
  const FieldDescriptor* f = path.back();
  if (f->is_map()) return Invalid(name, absl::StrCat(name, " is a map: send it in a JSON body"));
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return SetScalar(msg, f, value, name);

  const google::protobuf::Descriptor* type = f->message_type();
  if (IsWrapper(type)) {
    Message* wrapper = f->is_repeated() ? msg->GetReflection()->AddMessage(msg, f)
                                        : msg->GetReflection()->MutableMessage(msg, f);
    const FieldDescriptor* inner = type->FindFieldByName("value");
    return SetScalar(wrapper, inner, value, name);
  }
  if (!IsUrlBindable(f)) {
    return Invalid(name, absl::StrCat(name, " is a message: set its fields as ", name, ".<field>"));
  }
  // Timestamp / Duration / FieldMask: their JSON form is a string, so let protobuf's JSON parser read it.
  std::unique_ptr<Message> tmp(msg->New());
  nlohmann::json field = std::string(value);
  if (f->is_repeated()) field = nlohmann::json::array({field});
  const std::string json =
      nlohmann::json{{f->json_name(), field}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  google::protobuf::util::JsonParseOptions options;
  if (!google::protobuf::util::JsonStringToMessage(json, tmp.get(), options).ok()) {
    return Invalid(name, absl::StrCat(name, ": ", Quote(value), " is not a valid ", type->name()));
  }
  msg->MergeFrom(*tmp);
  return std::nullopt;
}

std::optional<ApiError> MergeJson(absl::string_view json, Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  options.case_insensitive_enum_parsing = false;
  const auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (st.ok()) return std::nullopt;
  const auto msg = st.message();
  return JsonError(absl::string_view(msg.data(), msg.size()));
}

std::optional<ApiError> BindRequest(const Route& route, const PathBindings& bindings, absl::string_view query,
                                    absl::string_view body, Message* request) {
  // 1. Body.
  if (route.body.empty()) {
    if (!IsBlankBody(body)) {
      return Invalid(
          "", absl::StrCat(route.label, " takes no request body: send the fields in the query string"));
    }
  } else if (route.body == "*") {
    if (!absl::StripAsciiWhitespace(body).empty()) {
      if (auto err = MergeJson(body, request)) return err;
    }
  } else if (!absl::StripAsciiWhitespace(body).empty()) {
    const FieldDescriptor* f = route.body_field.front();
    const std::string wrapped = absl::StrCat("{\"", f->json_name(), "\":", body, "}");
    if (auto err = MergeJson(wrapped, request)) return err;
  }

  // 2. Query string.
  const std::vector<std::pair<std::string, std::string>> params = ParseQueryString(query);
  if (!params.empty() && route.body == "*") {
    return Invalid(params.front().first, absl::StrCat("query parameter \"", params.front().first,
                                                      "\" is not accepted: ", route.label,
                                                      " takes every field from the JSON body"));
  }
  absl::flat_hash_set<const FieldDescriptor*> set_singular;
  for (const auto& [key, value] : params) {
    absl::StatusOr<FieldPath> path = ResolveFieldPath(request->GetDescriptor(), key);
    if (!path.ok()) {
      return Invalid(key, absl::StrCat("unknown query parameter \"", key, "\": ", path.status().message()));
    }
    const std::string name = FieldPathName(*path);
    for (const FieldPath& p : route.path_fields) {
      if (HasPrefix(*path, p) || HasPrefix(p, *path)) {
        return Invalid(name, absl::StrCat("query parameter \"", key, "\" is set by the path"));
      }
    }
    if (!route.body_field.empty() && HasPrefix(*path, route.body_field)) {
      return Invalid(name, absl::StrCat("query parameter \"", key, "\" is set by the body"));
    }
    const FieldDescriptor* leaf = path->back();
    if (!IsUrlBindable(leaf)) {
      return Invalid(name,
                     absl::StrCat(name, " cannot be set from the query string: ",
                                  leaf->is_map() ? "it is a map" : "set its fields as " + name + ".<field>"));
    }
    if (leaf->is_repeated()) {
      for (absl::string_view item : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        if (auto err = SetFieldFromString(request, *path, item)) return err;
      }
      continue;
    }
    if (value.empty()) continue;
    if (!set_singular.insert(leaf).second) {
      return Invalid(name, absl::StrCat("query parameter \"", key, "\" given more than once"));
    }
    if (auto err = SetFieldFromString(request, *path, value)) return err;
  }

  // 3. Path variables (win over the body).
  for (size_t i = 0; i < bindings.size() && i < route.path_fields.size(); ++i) {
    const FieldPath& path = route.path_fields[i];
    // Clear first: the body may have set it already.
    Message* msg = request;
    for (size_t k = 0; k + 1 < path.size(); ++k) msg = msg->GetReflection()->MutableMessage(msg, path[k]);
    msg->GetReflection()->ClearField(msg, path.back());
    if (auto err = SetFieldFromString(request, path, bindings[i].second)) return err;
  }
  return std::nullopt;
}

}  // namespace marketlens::gateway
