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
#include "nlohmann/json.hpp"

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

// Quotes strings through nlohmann-json's serializer (RFC 8259 escaping; invalid UTF-8 becomes U+FFFD, written
// raw, so every line stays valid JSON whatever bytes a client sent). One serializer, string value and output
// buffer per thread, reused: json::dump would build all three, and a 512-byte indent string, per field
// (bench/log_line_bench.sh measures both against the hand-written escaping this replaced).
class Quoter {
 public:
  // Appends `text` as a JSON string, quotes included, to `out`.
  void AppendQuoted(std::string* out, absl::string_view text) {
    value_.get_ref<std::string&>().assign(text.data(), text.size());
    buffer_.clear();
    serializer_.dump(value_, /*pretty_print=*/false, /*ensure_ascii=*/false, /*indent_step=*/0);
    out->append(buffer_);
  }

 private:
  std::string buffer_;  // declared before serializer_, which writes into it
  nlohmann::json value_ = std::string();
  nlohmann::detail::serializer<nlohmann::json> serializer_{
      nlohmann::detail::output_adapter<char, std::string>(buffer_), ' ',
      nlohmann::json::error_handler_t::replace};
};

void AppendQuoted(std::string* out, absl::string_view text) {
  thread_local Quoter quoter;
  quoter.AppendQuoted(out, text);
}

std::string Quoted(absl::string_view text) {
  std::string out;
  AppendQuoted(&out, text);
  return out;
}

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
  std::string line =
      absl::StrCat("{\"ts\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   "\",\"level\":\"", LevelName(level), "\",\"service\":");
  AppendQuoted(&line, service);
  line += ",\"msg\":";
  AppendQuoted(&line, message);
  if (!t_request_id.empty()) {
    line += ",\"request_id\":";
    AppendQuoted(&line, t_request_id);
  }
  for (const Field& f : fields) {
    line += ',';
    AppendQuoted(&line, f.key());
    line += ':';
    line += f.json_value();
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
