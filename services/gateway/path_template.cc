#include "services/gateway/path_template.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/macros.h"

namespace marketlens::gateway {
namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

bool IsFieldPath(absl::string_view path) {
  if (path.empty()) return false;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (part.empty() || !IsIdentStart(part[0])) return false;
    for (char c : part) {
      if (!IsIdentChar(c)) return false;
    }
  }
  return true;
}

bool IsLiteral(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c == '{' || c == '}' || c == '*' || c == '/' || c == '?' || c == '#' || c == ' ') return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("path template \"", text, "\": ", why));
}

}  // namespace

std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view text) {
  PathTemplate t;
  t.text_ = std::string(text);
  if (text.empty() || text[0] != '/') return Invalid(text, "must start with '/'");

  // The verb: a ':' outside braces after the last '/' outside braces.
  size_t verb_pos = absl::string_view::npos;
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{') {
      ++depth;
    } else if (c == '}') {
      --depth;
    } else if (depth == 0 && c == '/') {
      verb_pos = absl::string_view::npos;
    } else if (depth == 0 && c == ':') {
      verb_pos = i;
    }
    if (depth < 0 || depth > 1) return Invalid(text, "unbalanced or nested braces");
  }
  if (depth != 0) return Invalid(text, "missing '}'");
  absl::string_view body = text.substr(1);
  if (verb_pos != absl::string_view::npos) {
    t.verb_ = std::string(text.substr(verb_pos + 1));
    if (!IsLiteral(t.verb_) || t.verb_.find(':') != std::string::npos) {
      return Invalid(text, "the custom verb must be a literal");
    }
    body = text.substr(1, verb_pos - 1);
  }
  if (body.empty()) return Invalid(text, "no path segments");

  // Split on '/' outside braces.
  std::vector<absl::string_view> parts;
  size_t start = 0;
  depth = 0;
  for (size_t i = 0; i <= body.size(); ++i) {
    if (i == body.size() || (body[i] == '/' && depth == 0)) {
      parts.push_back(body.substr(start, i - start));
      start = i + 1;
    } else if (body[i] == '{') {
      ++depth;
    } else if (body[i] == '}') {
      --depth;
    }
  }

  auto add_plain = [&](absl::string_view seg) -> absl::Status {
    Segment s;
    if (seg == "*") {
      s.kind = Segment::kSingle;
    } else if (seg == "**") {
      s.kind = Segment::kMulti;
    } else if (IsLiteral(seg) && seg.find(':') == absl::string_view::npos) {
      s.kind = Segment::kLiteral;
      s.literal = std::string(seg);
    } else {
      return Invalid(text, absl::StrCat("bad segment \"", seg, "\""));
    }
    t.segments_.push_back(std::move(s));
    return absl::OkStatus();
  };

  for (absl::string_view part : parts) {
    if (part.empty()) return Invalid(text, "empty segment");
    if (part.front() == '{') {
      if (part.back() != '}') return Invalid(text, "a variable must be a whole segment");
      absl::string_view inner = part.substr(1, part.size() - 2);
      absl::string_view field = inner;
      absl::string_view pattern = "*";
      if (const size_t eq = inner.find('='); eq != absl::string_view::npos) {
        field = inner.substr(0, eq);
        pattern = inner.substr(eq + 1);
      }
      if (!IsFieldPath(field)) return Invalid(text, absl::StrCat("bad field path \"", field, "\""));
      for (const Variable& v : t.variables_) {
        if (v.field_path == field) return Invalid(text, absl::StrCat("field \"", field, "\" bound twice"));
      }
      if (pattern.empty()) return Invalid(text, "empty variable pattern");
      Variable v;
      v.field_path = std::string(field);
      v.first = static_cast<int>(t.segments_.size());
      for (absl::string_view seg : absl::StrSplit(pattern, '/')) {
        RETURN_IF_ERROR(add_plain(seg));
      }
      v.last = static_cast<int>(t.segments_.size());
      t.variables_.push_back(std::move(v));
    } else if (part.find_first_of("{}") != absl::string_view::npos) {
      return Invalid(text, "a variable must be a whole segment");
    } else {
      RETURN_IF_ERROR(add_plain(part));
    }
  }
  for (size_t i = 0; i + 1 < t.segments_.size(); ++i) {
    if (t.segments_[i].kind == Segment::kMulti) return Invalid(text, "'**' must be the last segment");
  }
  return t;
}

SplitPath SplitPath::Split(absl::string_view path) {
  SplitPath out;
  if (path.empty() || path[0] != '/') return out;
  out.valid = true;
  out.raw = absl::StrSplit(path.substr(1), '/');
  out.decoded.reserve(out.raw.size());
  for (absl::string_view seg : out.raw) out.decoded.push_back(PercentDecode(seg));
  return out;
}

std::optional<PathBindings> PathTemplate::Match(absl::string_view path) const {
  return Match(SplitPath::Split(path));
}

std::optional<PathBindings> PathTemplate::Match(const SplitPath& path) const {
  if (!path.valid) return std::nullopt;
  const size_t n = path.raw.size();
  // With a verb, the last segment must end in ":verb", which is not part of it.
  std::string last_decoded;
  absl::string_view last_raw;
  if (!verb_.empty()) {
    const absl::string_view last = path.raw.back();
    if (last.size() <= verb_.size() || last[last.size() - verb_.size() - 1] != ':' ||
        last.substr(last.size() - verb_.size()) != verb_) {
      return std::nullopt;
    }
    last_raw = last.substr(0, last.size() - verb_.size() - 1);
    last_decoded = PercentDecode(last_raw);
  }
  auto raw = [&](size_t j) { return !verb_.empty() && j + 1 == n ? last_raw : path.raw[j]; };
  auto decoded = [&](size_t j) -> const std::string& {
    return !verb_.empty() && j + 1 == n ? last_decoded : path.decoded[j];
  };
  // Template segment i covers path segments [from[i], to[i]).
  std::vector<size_t> from(segments_.size()), to(segments_.size());
  size_t j = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    from[i] = j;
    switch (s.kind) {
      case Segment::kLiteral:
        if (j >= n || decoded(j) != s.literal) return std::nullopt;
        ++j;
        break;
      case Segment::kSingle:
        if (j >= n || raw(j).empty()) return std::nullopt;
        ++j;
        break;
      case Segment::kMulti:
        j = n;
        break;
    }
    to[i] = j;
  }
  if (j != n) return std::nullopt;

  PathBindings bindings;
  bindings.reserve(variables_.size());
  for (const Variable& v : variables_) {
    std::string value;
    for (size_t k = from[v.first]; k < to[v.last - 1]; ++k) {
      if (k > from[v.first]) value.push_back('/');
      value += decoded(k);
    }
    if (value.empty()) return std::nullopt;
    bindings.emplace_back(v.field_path, std::move(value));
  }
  return bindings;
}

std::vector<std::string> PathTemplate::variable_fields() const {
  std::vector<std::string> out;
  for (const Variable& v : variables_) out.push_back(v.field_path);
  return out;
}

int PathTemplate::literal_count() const {
  int n = 0;
  for (const Segment& s : segments_) n += s.kind == Segment::kLiteral ? 1 : 0;
  return n;
}

bool PathTemplate::has_multi_wildcard() const {
  return !segments_.empty() && segments_.back().kind == Segment::kMulti;
}

std::string PathTemplate::Shape() const {
  std::string out;
  for (const Segment& s : segments_) {
    absl::StrAppend(&out, "/",
                    s.kind == Segment::kLiteral ? s.literal : (s.kind == Segment::kSingle ? "*" : "**"));
  }
  if (!verb_.empty()) absl::StrAppend(&out, ":", verb_);
  return out;
}

std::string PathTemplate::OpenApiPath() const {
  std::string out;
  size_t i = 0;
  size_t next_var = 0;
  while (i < segments_.size()) {
    out += "/";
    if (next_var < variables_.size() && variables_[next_var].first == static_cast<int>(i)) {
      absl::StrAppend(&out, "{", variables_[next_var].field_path, "}");
      i = variables_[next_var].last;
      ++next_var;
      continue;
    }
    const Segment& s = segments_[i];
    out += s.kind == Segment::kLiteral ? s.literal : (s.kind == Segment::kSingle ? "*" : "**");
    ++i;
  }
  if (!verb_.empty()) absl::StrAppend(&out, ":", verb_);
  return out;
}

}  // namespace marketlens::gateway
