// What quoting log lines through nlohmann-json costs: common/logging's line writer (logging::FormatLine,
// which quotes through nlohmann-json's serializer, one per thread, reused) against the hand-written
// JsonEscape it replaced (kept here only, as the baseline) and two plainer nlohmann-json writers, on typical
// lines: a message and 10 fields (strings, some non-ASCII, some invalid UTF-8; integers, a double, a bool, a
// status), with a request id. Nanoseconds per line (Field construction, timestamp and escaping included: what
// a service pays per logging::Info call, less the write). The writers alternate in short rounds so that a
// busy machine weighs on all alike; the median round, and the median per-round ratio, count. Before timing, a
// line of each shape from every writer is parsed back with nlohmann and compared: they say the same thing.
// Writers:
// - hand: the writer as it was, JsonEscape by hand (invalid UTF-8 -> \ufffd escapes) [baseline];
// - hand_append: the hand-written quoting, the line assembled by appends as FormatLine now does (the quoting
//   alone: logging against hand_append);
// - logging: logging::FormatLine as it is (nlohmann serializer reused per thread; invalid UTF-8 -> raw
//   U+FFFD);
// - nl_dump: the same line, each string quoted by a fresh nlohmann::json(text).dump(..,
//   error_handler_t::replace);
// - nl_object: the whole line one nlohmann::ordered_json object, dumped once (ensure_ascii: \ufffd escapes).
// The lead's rule: the library way, as cheaply as it allows; the cost per line is reported, not gated.
// Prints figure: lines for bench/run.sh (bench/log_line_bench.sh).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging/log.h"
#include "common/strings/utf8.h"
#include "nlohmann/json.hpp"

namespace {

using marketlens::logging::Level;

// ---- hand: the writer as it was, with common/logging's former hand-written JsonEscape (the baseline) -----

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t n = marketlens::strings::Utf8SequenceLength(text, i);
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

std::string HandQuoted(absl::string_view text) { return absl::StrCat("\"", JsonEscape(text), "\""); }

// The field and the line as logging::FormatLine was, every string quoted by `Quote` (the service name read
// under the same kind of lock): the hand and nl_dump writers differ only in that function.
using QuoteFunction = std::string (*)(absl::string_view);

template <QuoteFunction Quote>
class FieldQuotedBy {
 public:
  FieldQuotedBy(absl::string_view key, absl::string_view value) : key_(key), json_value_(Quote(value)) {}
  FieldQuotedBy(absl::string_view key, const char* value) : FieldQuotedBy(key, absl::string_view(value)) {}
  FieldQuotedBy(absl::string_view key, int value) : key_(key), json_value_(absl::StrCat(value)) {}
  FieldQuotedBy(absl::string_view key, long long value) : key_(key), json_value_(absl::StrCat(value)) {}
  FieldQuotedBy(absl::string_view key, bool value) : key_(key), json_value_(value ? "true" : "false") {}
  FieldQuotedBy(absl::string_view key, double value)
      : key_(key), json_value_(std::isfinite(value) ? absl::StrFormat("%.6g", value) : "null") {}
  FieldQuotedBy(absl::string_view key, const absl::Status& s) : key_(key), json_value_(Quote(s.ToString())) {}
  std::string key_, json_value_;
};

template <QuoteFunction Quote>
std::string LineQuotedBy(Level, absl::string_view message,
                         std::initializer_list<FieldQuotedBy<Quote>> fields) {
  static std::mutex mu;
  std::string service;
  {
    std::lock_guard<std::mutex> lock(mu);
    service = "collector";
  }
  std::string line =
      absl::StrCat("{\"ts\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   "\",\"level\":\"info\",\"service\":", Quote(service), ",\"msg\":", Quote(message));
  const std::string& rid = marketlens::logging::CurrentRequestId();
  if (!rid.empty()) absl::StrAppend(&line, ",\"request_id\":", Quote(rid));
  for (const auto& f : fields) absl::StrAppend(&line, ",", Quote(f.key_), ":", f.json_value_);
  line += "}\n";
  return line;
}

using HandField = FieldQuotedBy<HandQuoted>;

// As logging::FormatLine is now (strings appended into the line, no temporaries), quoting by hand: separates
// what the line assembly saves from what the quoting costs.
std::string HandAppendLine(Level, absl::string_view message, std::initializer_list<HandField> fields) {
  static std::mutex mu;
  std::string service;
  {
    std::lock_guard<std::mutex> lock(mu);
    service = "collector";
  }
  auto append_quoted = [](std::string* out, absl::string_view text) {
    *out += '"';
    *out += JsonEscape(text);
    *out += '"';
  };
  std::string line =
      absl::StrCat("{\"ts\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   "\",\"level\":\"info\",\"service\":");
  append_quoted(&line, service);
  line += ",\"msg\":";
  append_quoted(&line, message);
  const std::string& rid = marketlens::logging::CurrentRequestId();
  if (!rid.empty()) {
    line += ",\"request_id\":";
    append_quoted(&line, rid);
  }
  for (const HandField& f : fields) {
    line += ',';
    append_quoted(&line, f.key_);
    line += ':';
    line += f.json_value_;
  }
  line += "}\n";
  return line;
}

// ---- nl_dump: the writer as it was, with a fresh nlohmann dump quoting every string ------------------

std::string NlQuoted(absl::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

using QuoteField = FieldQuotedBy<NlQuoted>;

// ---- nl_object: the line one ordered_json object ------------------------------------------------------

struct ObjectField {
  ObjectField(absl::string_view key, absl::string_view value) : key(key), value(std::string(value)) {}
  ObjectField(absl::string_view key, const char* value) : key(key), value(value) {}
  ObjectField(absl::string_view key, int value) : key(key), value(value) {}
  ObjectField(absl::string_view key, long long value) : key(key), value(value) {}
  ObjectField(absl::string_view key, bool value) : key(key), value(value) {}
  ObjectField(absl::string_view key, double value) : key(key) {
    if (std::isfinite(value)) this->value = value;  // else null
  }
  ObjectField(absl::string_view key, const absl::Status& s) : key(key), value(s.ToString()) {}
  std::string key;
  nlohmann::ordered_json value;
};

std::string ObjectLine(Level, absl::string_view message, std::initializer_list<ObjectField> fields) {
  nlohmann::ordered_json line = {
      {"ts", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())},
      {"level", "info"},
      {"service", "collector"},
      {"msg", std::string(message)}};
  const std::string& rid = marketlens::logging::CurrentRequestId();
  if (!rid.empty()) line["request_id"] = rid;
  for (const ObjectField& f : fields) line[f.key] = f.value;
  return line.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// ---- The typical lines ---------------------------------------------------------------------------------

// Three shapes of line, each with 10 fields, taken in turn.
template <typename Writer>
size_t WriteLines(int n, Writer write) {
  const absl::Status unavailable = absl::UnavailableError("connect to 10.0.0.7:5432: connection refused");
  size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    switch (i % 3) {
      case 0:  // ASCII: an access log
        bytes += write.template operator()<0>("http request", i, unavailable).size();
        break;
      case 1:  // non-ASCII product text
        bytes += write.template operator()<1>("review stored", i, unavailable).size();
        break;
      default:  // client bytes with invalid UTF-8
        bytes += write.template operator()<2>("ingest row rejected", i, unavailable).size();
    }
  }
  return bytes;
}

#define MARKETLENS_TYPICAL_FIELDS(F, shape, i, status)                                                  \
  (shape == 0 ? std::initializer_list<F>{{"method", "GET"},                                             \
                                         {"path", "/api/v1/products?page_size=20&category=books"},      \
                                         {"status", 200},                                               \
                                         {"bytes", static_cast<long long>(18234 + i % 7)},              \
                                         {"latency_ms", 3.25},                                          \
                                         {"cache", "HIT"},                                              \
                                         {"api_key", "mlk_3f9a2c"},                                     \
                                         {"user_agent", "Mozilla/5.0 (X11; Linux x86_64) curl/7.88.1"}, \
                                         {"ok", true},                                                  \
                                         {"upstream", "recommender"}}                                   \
   : shape == 1                                                                                         \
       ? std::initializer_list<F>{{"product_id", "B00XK2Q5VE"},                                         \
                                  {"title",                                                             \
                                   "Caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9"                       \
                                   "e set"},                                                            \
                                  {"reviewer", "\xE7\x94\xB0\xE4\xB8\xAD \xE5\xA4\xAA\xE9\x83\x8E"},    \
                                  {"summary",                                                           \
                                   "Great gift \xF0\x9F\x8E\x81 \xE2\x82\xAC"                           \
                                   "25 well spent"},                                                    \
                                  {"rating", 5},                                                        \
                                  {"helpful", static_cast<long long>(i % 11)},                          \
                                  {"sentiment", 0.8731},                                                \
                                  {"language", "fr"},                                                   \
                                  {"verified", false},                                                  \
                                  {"aspects", "price,quality,gift"}}                                    \
       : std::initializer_list<F>{{"source", "upload.csv"},                                             \
                                  {"row", static_cast<long long>(1000 + i % 97)},                       \
                                  {"field", "description"},                                             \
                                  {"value", "Jalape\xF1o salsa \"hot\"\tx2 caf\xE9 \xC0\xAF end"},      \
                                  {"reason", "invalid UTF-8 in a latin-1 export"},                      \
                                  {"error", status},                                                    \
                                  {"attempt", 2},                                                       \
                                  {"backoff_s", 1.5},                                                   \
                                  {"dropped", true},                                                    \
                                  {"batch", "b-20261207-0042"}})

struct Hand {  // the former hand-written writer (baseline)
  template <int shape>
  std::string operator()(const char* msg, int i, const absl::Status& status) const {
    return LineQuotedBy<HandQuoted>(Level::kInfo, msg,
                                    MARKETLENS_TYPICAL_FIELDS(HandField, shape, i, status));
  }
};
struct HandAppend {  // the hand-written quoting, the line assembled as FormatLine now does
  template <int shape>
  std::string operator()(const char* msg, int i, const absl::Status& status) const {
    return HandAppendLine(Level::kInfo, msg, MARKETLENS_TYPICAL_FIELDS(HandField, shape, i, status));
  }
};
struct Logging {  // common/logging's writer as it is
  template <int shape>
  std::string operator()(const char* msg, int i, const absl::Status& status) const {
    return marketlens::logging::FormatLine(
        Level::kInfo, msg, MARKETLENS_TYPICAL_FIELDS(marketlens::logging::Field, shape, i, status));
  }
};
struct Quote {
  template <int shape>
  std::string operator()(const char* msg, int i, const absl::Status& status) const {
    return LineQuotedBy<NlQuoted>(Level::kInfo, msg, MARKETLENS_TYPICAL_FIELDS(QuoteField, shape, i, status));
  }
};
struct Object {
  template <int shape>
  std::string operator()(const char* msg, int i, const absl::Status& status) const {
    return ObjectLine(Level::kInfo, msg, MARKETLENS_TYPICAL_FIELDS(ObjectField, shape, i, status));
  }
};

// Every writer's lines parse and say the same (ts aside; \ufffd and raw U+FFFD are the same string).
template <int shape>
bool SameMeaning(const absl::Status& status) {
  const std::string lines[] = {
      Hand().operator()<shape>("m", 1, status), Logging().operator()<shape>("m", 1, status),
      Quote().operator()<shape>("m", 1, status), Object().operator()<shape>("m", 1, status)};
  try {
    nlohmann::json first = nlohmann::json::parse(lines[0]);
    first.erase("ts");
    for (const std::string& line : lines) {
      nlohmann::json j = nlohmann::json::parse(line);
      j.erase("ts");
      if (j != first) {
        std::fprintf(stderr, "shape %d differs:\n%s%s", shape, lines[0].c_str(), line.c_str());
        return false;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shape %d does not parse: %s\n", shape, e.what());
    return false;
  }
  if (shape == 2) {
    std::printf("sample lines (hand, logging, nl_dump, nl_object):\n%s%s%s%s", lines[0].c_str(),
                lines[1].c_str(), lines[2].c_str(), lines[3].c_str());
  }
  return true;
}

bool SameMeaning() {
  const absl::Status status = absl::UnavailableError("connect to 10.0.0.7:5432: connection refused");
  return SameMeaning<0>(status) && SameMeaning<1>(status) && SameMeaning<2>(status);
}

template <typename Writer>
double NsPerLine(int n, Writer w, size_t* sink) {
  const auto start = std::chrono::steady_clock::now();
  *sink += WriteLines(n, w);
  const auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(end - start).count() / n;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int lines = 3000, rounds = 61;
  for (int a = 1; a < argc; ++a) {
    if (std::sscanf(argv[a], "--lines=%d", &lines) == 1 || std::sscanf(argv[a], "--rounds=%d", &rounds) == 1)
      continue;
    std::fprintf(stderr, "usage: log_line_bench [--lines=N] [--rounds=N]\n");
    return 2;
  }
  marketlens::logging::SetServiceName("collector");
  marketlens::logging::ScopedRequestId rid("9f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e");
  if (!SameMeaning()) return 1;
  size_t sink = 0;
  std::vector<double> hand, hand_append, logging, quote, object, logging_ratio, append_ratio, quote_ratio,
      object_ratio;
  WriteLines(lines, Hand());  // warm-up
  WriteLines(lines, Logging());
  for (int r = 0; r < rounds; ++r) {
    // Short rounds, the writers back to back: the ratio of one round compares like with like even when the
    // machine's load changes between rounds.
    hand.push_back(NsPerLine(lines, Hand(), &sink));
    hand_append.push_back(NsPerLine(lines, HandAppend(), &sink));
    logging.push_back(NsPerLine(lines, Logging(), &sink));
    quote.push_back(NsPerLine(lines, Quote(), &sink));
    object.push_back(NsPerLine(lines, Object(), &sink));
    logging_ratio.push_back(logging.back() / hand.back());
    append_ratio.push_back(logging.back() / hand_append.back());
    quote_ratio.push_back(quote.back() / hand.back());
    object_ratio.push_back(object.back() / hand.back());
  }
  const double h = Median(hand), ha = Median(hand_append), l = Median(logging), q = Median(quote),
               o = Median(object);
  std::printf(
      "%d rounds of %d lines (10 fields each), median ns/line: hand %.0f, hand_append %.0f, logging %.0f, "
      "nl_dump %.0f, nl_object %.0f; median per-round ratio to hand: logging %.2f, nl_dump %.2f, "
      "nl_object %.2f; logging to hand_append (the quoting alone): %.2f (%zu bytes written)\n",
      rounds, lines, h, ha, l, q, o, Median(logging_ratio), Median(quote_ratio), Median(object_ratio),
      Median(append_ratio), sink);
  std::printf(
      "figure: name=log_line_nlohmann value=%.0f unit=ns/line target=- baseline=hand_escape "
      "baseline_value=%.0f\n",
      l, h);
  std::printf(
      "figure: name=log_line_nlohmann_ratio value=%.2f unit=ratio target=- baseline=- baseline_value=-\n",
      Median(logging_ratio));
  std::printf(
      "figure: name=log_line_nlohmann_quoting_ratio value=%.2f unit=ratio target=- baseline=- "
      "baseline_value=-\n",
      Median(append_ratio));
  std::printf(
      "figure: name=log_line_nlohmann_dump value=%.0f unit=ns/line target=- baseline=hand_escape "
      "baseline_value=%.0f\n",
      q, h);
  return 0;
}
