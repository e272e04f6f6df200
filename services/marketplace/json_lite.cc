#include "services/marketplace/json_lite.h"

#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/strings/utf8.h"

namespace marketlens::marketplace::json {

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  v.text_ = b ? "true" : "false";
  return v;
}
Value Value::Number(double d, std::string text) {
  Value v;
  v.type_ = Type::kNumber;
  v.number_ = d;
  v.text_ = std::move(text);
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.text_ = std::move(s);
  return v;
}
Value Value::Array(std::vector<Value> items) {
  Value v;
  v.type_ = Type::kArray;
  v.items_ = std::move(items);
  return v;
}
Value Value::Object(std::map<std::string, Value> members) {
  Value v;
  v.type_ = Type::kObject;
  v.members_ = std::move(members);
  return v;
}

const Value* Value::Find(absl::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  auto it = members_.find(std::string(key));
  return it == members_.end() ? nullptr : &it->second;
}

namespace {

class Parser {
 public:
  Parser(absl::string_view text, const ParseOptions& options) : s_(text), options_(options) {}

  absl::StatusOr<Value> ParseAll() {
    SkipSpace();
    absl::StatusOr<Value> v = ParseValue(0);
    if (!v.ok()) return v;
    SkipSpace();
    if (pos_ != s_.size()) return Error("trailing characters");
    return v;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("json: ", what, " at offset ", pos_));
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(absl::string_view word) {
    if (s_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  absl::StatusOr<Value> ParseValue(int depth) {
    if (depth > options_.max_depth) return Error("nested too deeply");
    if (pos_ >= s_.size()) return Error("unexpected end");
    const char c = s_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"' || (c == '\'' && options_.lenient)) {
      ASSIGN_OR_RETURN(std::string str, ParseString());
      return Value::String(std::move(str));
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    if (Consume("true")) return Value::Bool(true);
    if (Consume("false")) return Value::Bool(false);
    if (Consume("null")) return Value();
    if (options_.lenient) {
      if (Consume("True")) return Value::Bool(true);
      if (Consume("False")) return Value::Bool(false);
      if (Consume("None")) return Value();
    }
    return Error("unexpected character");
  }

  absl::StatusOr<Value> ParseObject(int depth) {
    ++pos_;  // {
    std::map<std::string, Value> members;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Value::Object(std::move(members));
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || !(s_[pos_] == '"' || (s_[pos_] == '\'' && options_.lenient))) {
        return Error("expected a member name");
      }
      ASSIGN_OR_RETURN(std::string key, ParseString());
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      SkipSpace();
      ASSIGN_OR_RETURN(Value v, ParseValue(depth + 1));
      members.insert_or_assign(std::move(key), std::move(v));  // a repeated name: the last wins
      SkipSpace();
      if (pos_ >= s_.size()) return Error("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return Value::Object(std::move(members));
      }
      return Error("expected ',' or '}'");
    }
  }

  absl::StatusOr<Value> ParseArray(int depth) {
    ++pos_;  // [
    std::vector<Value> items;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Value::Array(std::move(items));
    }
    while (true) {
      SkipSpace();
      ASSIGN_OR_RETURN(Value v, ParseValue(depth + 1));
      items.push_back(std::move(v));
      SkipSpace();
      if (pos_ >= s_.size()) return Error("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return Value::Array(std::move(items));
      }
      return Error("expected ',' or ']'");
    }
  }

  absl::StatusOr<Value> ParseNumber() {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const size_t d = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > d;
    };
    if (!digits()) return Error("bad number");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Error("bad number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return Error("bad number");
    }
    std::string text(s_.substr(start, pos_ - start));
    const double d = std::strtod(text.c_str(), nullptr);
    return Value::Number(d, std::move(text));
  }

  bool Hex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    pos_ += 4;
    *out = v;
    return true;
  }

  absl::StatusOr<std::string> ParseString() {
    const char quote = s_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) return Error("unterminated string");
      const char c = s_[pos_++];
      if (c == quote) return out;
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return Error("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case '\'':
          if (!options_.lenient) return Error("bad escape");
          out.push_back('\'');
          break;
        case 'x': {  // Python repr: \xNN (Latin-1 code point)
          if (!options_.lenient || pos_ + 2 > s_.size()) return Error("bad escape");
          const std::string hex(s_.substr(pos_, 2));
          char* end = nullptr;
          const long cp = std::strtol(hex.c_str(), &end, 16);
          if (end != hex.c_str() + 2) return Error("bad \\x escape");
          pos_ += 2;
          strings::AppendUtf8(static_cast<uint32_t>(cp), &out);
          break;
        }
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return Error("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (s_.substr(pos_, 2) == "\\u") {
              pos_ += 2;
              if (!Hex4(&low) || low < 0xDC00 || low > 0xDFFF) return Error("bad surrogate pair");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              cp = 0xFFFD;  // lone high surrogate: replacement character
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          strings::AppendUtf8(cp, &out);
          break;
        }
        default:
          return Error("bad escape");
      }
    }
  }

  absl::string_view s_;
  ParseOptions options_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<Value> Parse(absl::string_view text, const ParseOptions& options) {
  return Parser(text, options).ParseAll();
}

}  // namespace marketlens::marketplace::json
