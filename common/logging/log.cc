#include "common/logging/log.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/strings/utf8.h"

namespace marketlens::logging {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

struct Settings {
  std::mutex mu;
  std::string service = "marketlens";
  std::function<void(absl::string_view)> sink;
};

Settings& GetSettings() {
  static auto* settings = new Settings();  // never destroyed: logging may run during exit
  return *settings;
}

thread_local std::string t_request_id;

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string Quoted(absl::string_view text) { return absl::StrCat("\"", JsonEscape(text), "\""); }

void WriteToStderr(absl::string_view line) {
  // One write() per line keeps lines whole when several threads log at once.
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n <= 0) return;
    data += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

Field::Field(absl::string_view key, absl::string_view value) : key_(key), json_value_(Quoted(value)) {}
Field::Field(absl::string_view key, const char* value)
    : Field(key, absl::string_view(value == nullptr ? "" : value)) {}
Field::Field(absl::string_view key, const std::string& value) : Field(key, absl::string_view(value)) {}
Field::Field(absl::string_view key, bool value) : key_(key), json_value_(value ? "true" : "false") {}
Field::Field(absl::string_view key, int value) : key_(key), json_value_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, long value) : key_(key), json_value_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, long long value) : key_(key), json_value_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, unsigned value) : key_(key), json_value_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, unsigned long value) : key_(key), json_value_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, unsigned long long value) : key_(key), json_value_(absl::StrCat(value)) {}
Field::Field(absl::string_view key, double value) : key_(key) {
  // JSON has no NaN or infinity.
  json_value_ = std::isfinite(value) ? absl::StrFormat("%.6g", value) : "null";
}
Field::Field(absl::string_view key, const absl::Status& status)
    : key_(key), json_value_(Quoted(status.ToString())) {}

void SetServiceName(absl::string_view name) {
  Settings& s = GetSettings();
  std::lock_guard<std::mutex> lock(s.mu);
  s.service = std::string(name);
}

void SetMinLevel(Level level) { g_min_level.store(static_cast<int>(level)); }

absl::Status SetMinLevelFromString(absl::string_view level) {
  const std::string l = absl::AsciiStrToLower(level);
  if (l == "debug") {
    SetMinLevel(Level::kDebug);
  } else if (l == "info") {
    SetMinLevel(Level::kInfo);
  } else if (l == "warning" || l == "warn") {
    SetMinLevel(Level::kWarning);
  } else if (l == "error") {
    SetMinLevel(Level::kError);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("log level \"", level, "\" is not one of debug, info, warning, error"));
  }
  return absl::OkStatus();
}

void SetSinkForTesting(std::function<void(absl::string_view line)> sink) {
  Settings& s = GetSettings();
  std::lock_guard<std::mutex> lock(s.mu);
  s.sink = std::move(sink);
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

std::string FormatLine(Level level, absl::string_view message, Fields fields) {
  std::string service;
  {
    Settings& s = GetSettings();
    std::lock_guard<std::mutex> lock(s.mu);
    service = s.service;
  }
  std::string line = absl::StrCat(
      "{\"ts\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      "\",\"level\":\"", LevelName(level), "\",\"service\":", Quoted(service), ",\"msg\":", Quoted(message));
  if (!t_request_id.empty()) absl::StrAppend(&line, ",\"request_id\":", Quoted(t_request_id));
  for (const Field& f : fields) {
    absl::StrAppend(&line, ",", Quoted(f.key()), ":", f.json_value());
  }
  line += "}\n";
  return line;
}

void Log(Level level, absl::string_view message, Fields fields) {
  if (!Enabled(level)) return;
  const std::string line = FormatLine(level, message, fields);
  Settings& s = GetSettings();
  std::function<void(absl::string_view)> sink;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    sink = s.sink;
  }
  if (sink) {
    sink(line);
  } else {
    WriteToStderr(line);
  }
}

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      // Log lines carry client bytes: invalid UTF-8 becomes U+FFFD so every line stays valid JSON.
      const size_t n = strings::Utf8SequenceLength(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.data() + i, n);
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string NewRequestId() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen));
}

const std::string& CurrentRequestId() { return t_request_id; }

ScopedRequestId::ScopedRequestId(std::string id) : previous_(std::move(t_request_id)) {
  t_request_id = std::move(id);
}

ScopedRequestId::~ScopedRequestId() { t_request_id = std::move(previous_); }

}  // namespace marketlens::logging
