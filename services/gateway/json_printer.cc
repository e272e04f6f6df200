#include "services/gateway/json_printer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace marketlens::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kHex[] = "0123456789abcdef";

// Whether a byte can be copied into a JSON string as is (printable ASCII other than '"' and '\\').
constexpr bool kPlain[128] = {
    false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
    false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
    false, false, true,  true,  false, true,  true,  true,  true,  true,  true,  true,  true,  true,  true,
    true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,
    true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,
    true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,
    true,  true,  false, true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,
    true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,
    true,  true,  true,  true,  true,  true,  true,  false};

// JSON string with quotes; invalid UTF-8 becomes U+FFFD.
void AppendString(absl::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run of bytes that need nothing.
    size_t j = i;
    while (j < s.size() && static_cast<unsigned char>(s[j]) < 0x80 &&
           kPlain[static_cast<unsigned char>(s[j])])
      ++j;
    if (j > i) {
      out->append(s.data() + i, j - i);
      i = j;
      if (i == s.size()) break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        default:
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
      }
      ++i;
      continue;
    }
    int extra = -1;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    }
    bool ok = extra > 0 && i + extra < s.size();
    for (int k = 1; ok && k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
               cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (ok) {
      out->append(s.data() + i, static_cast<size_t>(extra + 1));
      i += extra + 1;
    } else {
      out->append("\xEF\xBF\xBD");
      ++i;
    }
  }
  out->push_back('"');
}

template <typename T>
void AppendInteger(T v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

// Shortest representation that reads back to the same value; non-finite values as JSON strings.
template <typename T>
void AppendFloating(T v, std::string* out) {
  if (std::isnan(v)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

// "snake_case" -> "snakeCase" (FieldMask paths).
std::string ToCamel(absl::string_view s) {
  std::string out;
  bool upper = false;
  for (char c : s) {
    if (c == '_') {
      upper = true;
    } else if (upper) {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      upper = false;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Fractional digits as protobuf prints them: none, 3, 6 or 9.
void AppendNanos(int32_t nanos, std::string* out) {
  if (nanos == 0) return;
  char buf[16];
  if (nanos % 1000000 == 0) {
    std::snprintf(buf, sizeof(buf), ".%03d", nanos / 1000000);
  } else if (nanos % 1000 == 0) {
    std::snprintf(buf, sizeof(buf), ".%06d", nanos / 1000);
  } else {
    std::snprintf(buf, sizeof(buf), ".%09d", nanos);
  }
  out->append(buf);
}

bool AppendValue(const Message& m, const FieldDescriptor* f, int index, std::string* out);
bool AppendMessage(const Message& m, std::string* out);

bool AppendTimestamp(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  const int64_t seconds = r->GetInt64(m, d->FindFieldByNumber(1));
  const int32_t nanos = r->GetInt32(m, d->FindFieldByNumber(2));
  // 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, as protobuf requires.
  if (seconds < -62135596800LL || seconds > 253402300799LL || nanos < 0 || nanos > 999999999) return false;
  // Days since the epoch -> civil date (H. Hinnant's civil_from_days), proleptic Gregorian, UTC.
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[21] = "\"0000-00-00T00:00:00";
  auto put = [&buf](int at, int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k, v /= 10) buf[at + k] = static_cast<char>('0' + v % 10);
  };
  put(1, year, 4);
  put(6, month, 2);
  put(9, day, 2);
  put(12, rem / 3600, 2);
  put(15, rem / 60 % 60, 2);
  put(18, rem % 60, 2);
  out->append(buf, 20);
  AppendNanos(nanos, out);
  out->append("Z\"");
  return true;
}

bool AppendDuration(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  const int64_t seconds = r->GetInt64(m, d->FindFieldByNumber(1));
  const int32_t nanos = r->GetInt32(m, d->FindFieldByNumber(2));
  if (seconds < -315576000000LL || seconds > 315576000000LL || nanos < -999999999 || nanos > 999999999 ||
      (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return false;
  }
  out->push_back('"');
  if (seconds < 0 || nanos < 0) out->push_back('-');
  AppendInteger(seconds < 0 ? -seconds : seconds, out);
  AppendNanos(nanos < 0 ? -nanos : nanos, out);
  out->append("s\"");
  return true;
}

bool AppendStructValue(const Message& m, std::string* out);

// A google.protobuf.Value with no kind set. protobuf's printer leaves such values out (the key of a Struct,
// the element of a list, the field of a message), and so does this one.
bool IsEmptyValue(const Message& m) {
  return m.GetDescriptor()->well_known_type() == Descriptor::WELLKNOWNTYPE_VALUE &&
         m.GetReflection()->GetOneofFieldDescriptor(m, m.GetDescriptor()->oneof_decl(0)) == nullptr;
}

// Whether element `index` (or the singular value, index < 0) of message field `f` is an empty Value.
bool IsEmptyValueField(const Message& m, const FieldDescriptor* f, int index) {
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
      f->message_type()->well_known_type() != Descriptor::WELLKNOWNTYPE_VALUE) {
    return false;
  }
  const Reflection* r = m.GetReflection();
  return IsEmptyValue(index >= 0 ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
}

bool AppendStruct(const Message& m, std::string* out) {
  // Struct { map<string, Value> fields = 1; }
  const FieldDescriptor* fields = m.GetDescriptor()->FindFieldByNumber(1);
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  const int n = r->FieldSize(m, fields);
  std::vector<std::string> keys(n);
  absl::flat_hash_map<std::string, int> last;  // a repeated key: the last one wins
  for (int i = 0; i < n; ++i) {
    const Message& entry = r->GetRepeatedMessage(m, fields, i);
    keys[i] = entry.GetReflection()->GetString(entry, entry.GetDescriptor()->FindFieldByNumber(1));
    last[keys[i]] = i;
  }
  bool first = true;
  for (int i = 0; i < n; ++i) {
    if (last[keys[i]] != i) continue;
    const Message& entry = r->GetRepeatedMessage(m, fields, i);
    if (IsEmptyValueField(entry, entry.GetDescriptor()->FindFieldByNumber(2), -1)) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendString(keys[i], out);
    out->push_back(':');
    if (!AppendStructValue(
            entry.GetReflection()->GetMessage(entry, entry.GetDescriptor()->FindFieldByNumber(2)), out)) {
      return false;
    }
  }
  out->push_back('}');
  return true;
}

bool AppendListValue(const Message& m, std::string* out) {
  const FieldDescriptor* values = m.GetDescriptor()->FindFieldByNumber(1);
  const Reflection* r = m.GetReflection();
  out->push_back('[');
  bool first = true;
  for (int i = 0; i < r->FieldSize(m, values); ++i) {
    if (IsEmptyValue(r->GetRepeatedMessage(m, values, i))) continue;
    if (!first) out->push_back(',');
    first = false;
    if (!AppendStructValue(r->GetRepeatedMessage(m, values, i), out)) return false;
  }
  out->push_back(']');
  return true;
}

bool AppendStructValue(const Message& m, std::string* out) {
  const Reflection* r = m.GetReflection();
  const Descriptor* d = m.GetDescriptor();
  const google::protobuf::OneofDescriptor* kind = d->oneof_decl(0);
  const FieldDescriptor* set = r->GetOneofFieldDescriptor(m, kind);
  if (set == nullptr) return false;  // protobuf refuses an empty Value
  switch (set->number()) {
    case 1:
      out->append("null");
      return true;
    case 2: {
      const double v = r->GetDouble(m, set);
      if (!std::isfinite(v)) return false;
      AppendFloating(v, out);
      return true;
    }
    case 3:
      AppendString(r->GetString(m, set), out);
      return true;
    case 4:
      out->append(r->GetBool(m, set) ? "true" : "false");
      return true;
    case 5:
      return AppendStruct(r->GetMessage(m, set), out);
    case 6:
      return AppendListValue(r->GetMessage(m, set), out);
  }
  return false;
}

// Well-known types with a special JSON form; `handled` tells whether `m` was one.
bool AppendWellKnown(const Message& m, std::string* out, bool* handled) {
  *handled = true;
  switch (m.GetDescriptor()->well_known_type()) {
    case Descriptor::WELLKNOWNTYPE_TIMESTAMP:
      return AppendTimestamp(m, out);
    case Descriptor::WELLKNOWNTYPE_DURATION:
      return AppendDuration(m, out);
    case Descriptor::WELLKNOWNTYPE_STRUCT:
      return AppendStruct(m, out);
    case Descriptor::WELLKNOWNTYPE_LISTVALUE:
      return AppendListValue(m, out);
    case Descriptor::WELLKNOWNTYPE_VALUE:
      return AppendStructValue(m, out);
    case Descriptor::WELLKNOWNTYPE_ANY:
      return false;
    case Descriptor::WELLKNOWNTYPE_FIELDMASK: {
      const Reflection* r = m.GetReflection();
      const FieldDescriptor* paths = m.GetDescriptor()->FindFieldByNumber(1);
      std::string joined;
      for (int i = 0; i < r->FieldSize(m, paths); ++i) {
        if (i > 0) joined.push_back(',');
        joined += ToCamel(r->GetRepeatedString(m, paths, i));
      }
      AppendString(joined, out);
      return true;
    }
    case Descriptor::WELLKNOWNTYPE_DOUBLEVALUE:
    case Descriptor::WELLKNOWNTYPE_FLOATVALUE:
    case Descriptor::WELLKNOWNTYPE_INT64VALUE:
    case Descriptor::WELLKNOWNTYPE_UINT64VALUE:
    case Descriptor::WELLKNOWNTYPE_INT32VALUE:
    case Descriptor::WELLKNOWNTYPE_UINT32VALUE:
    case Descriptor::WELLKNOWNTYPE_STRINGVALUE:
    case Descriptor::WELLKNOWNTYPE_BYTESVALUE:
    case Descriptor::WELLKNOWNTYPE_BOOLVALUE:
      return AppendValue(m, m.GetDescriptor()->FindFieldByNumber(1), -1, out);
    default:
      *handled = false;  // google.protobuf.Empty is an ordinary message without fields: {}
      return true;
  }
}

void AppendMapKey(const Message& entry, std::string* out) {
  const FieldDescriptor* k = entry.GetDescriptor()->FindFieldByNumber(1);
  const Reflection* r = entry.GetReflection();
  switch (k->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      AppendString(r->GetString(entry, k), out);
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append(r->GetBool(entry, k) ? "\"true\"" : "\"false\"");
      return;
    default:
      out->push_back('"');
      switch (k->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          AppendInteger(r->GetInt32(entry, k), out);
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          AppendInteger(r->GetInt64(entry, k), out);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          AppendInteger(r->GetUInt32(entry, k), out);
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          AppendInteger(r->GetUInt64(entry, k), out);
          break;
        default:
          break;
      }
      out->push_back('"');
  }
}

// One value of field `f` of `m`: element `index` of a repeated field, or the singular value (index < 0).
bool AppendValue(const Message& m, const FieldDescriptor* f, int index, std::string* out) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      AppendInteger(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f), out);
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      AppendInteger(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f), out);
      return true;
    case FieldDescriptor::CPPTYPE_INT64:
      out->push_back('"');
      AppendInteger(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f), out);
      out->push_back('"');
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      out->push_back('"');
      AppendInteger(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f), out);
      out->push_back('"');
      return true;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      AppendFloating(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f), out);
      return true;
    case FieldDescriptor::CPPTYPE_FLOAT:
      AppendFloating(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f), out);
      return true;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false");
      return true;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      if (f->enum_type()->full_name() == "google.protobuf.NullValue") {
        out->append("null");
        return true;
      }
      const google::protobuf::EnumValueDescriptor* v = f->enum_type()->FindValueByNumber(number);
      if (v != nullptr) {
        AppendString(v->name(), out);
      } else {
        AppendInteger(number, out);
      }
      return true;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s =
          rep ? r->GetRepeatedStringReference(m, f, index, &scratch) : r->GetStringReference(m, f, &scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        out->push_back('"');
        out->append(absl::Base64Escape(s));
        out->push_back('"');
      } else {
        AppendString(s, out);
      }
      return true;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return AppendMessage(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), out);
  }
  return false;
}

bool AppendMessage(const Message& m, std::string* out) {
  bool handled = false;
  if (!AppendWellKnown(m, out, &handled)) return false;
  if (handled) return true;
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      // Printed even when empty (always_print_primitive_fields).
    } else if (f->has_presence()) {
      // Messages, oneof members and proto3 `optional` fields: only when set.
      if (!r->HasField(m, f)) continue;
      if (IsEmptyValueField(m, f, -1)) continue;
    }
    if (!first) out->push_back(',');
    first = false;
    out->push_back('"');
    out->append(f->json_name());
    out->append("\":");
    if (f->is_map()) {
      out->push_back('{');
      const int n = r->FieldSize(m, f);
      const FieldDescriptor* value = f->message_type()->FindFieldByNumber(2);
      // Entries added through reflection may repeat a key; as in a parsed map, the last one wins.
      std::vector<std::string> keys(n);
      absl::flat_hash_map<std::string, int> last;
      for (int k = 0; k < n; ++k) {
        AppendMapKey(r->GetRepeatedMessage(m, f, k), &keys[k]);
        last[keys[k]] = k;
      }
      bool first_entry = true;
      for (int k = 0; k < n; ++k) {
        if (last[keys[k]] != k) continue;
        if (IsEmptyValueField(r->GetRepeatedMessage(m, f, k), value, -1)) continue;
        if (!first_entry) out->push_back(',');
        first_entry = false;
        out->append(keys[k]);
        out->push_back(':');
        if (!AppendValue(r->GetRepeatedMessage(m, f, k), value, -1, out)) return false;
      }
      out->push_back('}');
    } else if (f->is_repeated()) {
      out->push_back('[');
      const int n = r->FieldSize(m, f);
      bool first_item = true;
      for (int k = 0; k < n; ++k) {
        if (IsEmptyValueField(m, f, k)) continue;
        if (!first_item) out->push_back(',');
        first_item = false;
        if (!AppendValue(m, f, k, out)) return false;
      }
      out->push_back(']');
    } else {
      if (!AppendValue(m, f, -1, out)) return false;
    }
  }
  out->push_back('}');
  return true;
}

}  // namespace

bool AppendMessageJson(const Message& message, std::string* out) { return AppendMessage(message, out); }

}  // namespace marketlens::gateway
