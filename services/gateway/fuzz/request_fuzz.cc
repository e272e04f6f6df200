// Fuzz target for the gateway's request parsing and routing: raw bytes go through the same HTTP parser
// settings as the server (Beast, header and body limits), then routing (RouteTable::Find over the real
// fronted services), query-string parsing and binding into the real request messages (JSON bodies
// included), and the error body. Invariants checked on every input:
//   - nothing crashes, hangs or reads out of bounds (run under ASan by run_libfuzzer.sh);
//   - a bound request serializes and parses back to an equal message;
//   - every error is INVALID_ARGUMENT and its JSON body parses as JSON;
//   - the path is also fed to the path template parser, which must refuse it cleanly or parse it.
// Built two ways: with libFuzzer (clang, fuzz/run_libfuzzer.sh) and, in the normal gcc build, as
// request_fuzz_test, which replays the seed corpus plus a fixed number of deterministic mutations.
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "marketlens/analyzer/v1/analyzer.pb.h"
#include "marketlens/collector/v1/collector.pb.h"
#include "marketlens/recommender/v1/recommender.pb.h"
#include "services/gateway/api_error.h"
#include "services/gateway/path_template.h"
#include "services/gateway/request_binder.h"
#include "services/gateway/route_table.h"

namespace {

namespace http = boost::beast::http;
using marketlens::gateway::RouteTable;

const RouteTable& Routes() {
  static const RouteTable* table = [] {
    auto t =
        RouteTable::Build({marketlens::collector::v1::StartCrawlRequest::descriptor()->file()->service(0),
                           marketlens::analyzer::v1::AnalyzeTextRequest::descriptor()->file()->service(0),
                           marketlens::recommender::v1::RecommendRequest::descriptor()->file()->service(0)});
    if (!t.ok()) {
      std::cerr << t.status() << "\n";
      std::abort();
    }
    return new RouteTable(*std::move(t));
  }();
  return *table;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::cerr << "invariant violated: " << what << "\n";
    std::abort();
  }
}

void CheckErrorBody(const marketlens::gateway::ApiError& e) {
  Check(e.code == absl::StatusCode::kInvalidArgument, "binding errors are INVALID_ARGUMENT");
  google::protobuf::Struct s;
  const std::string body = marketlens::gateway::ErrorBodyJson(e);
  if (!google::protobuf::util::JsonStringToMessage(body, &s).ok()) {
    std::cerr << "error body: " << body << "\n";
    Check(false, "the error body is valid JSON");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(input), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);

  std::string method, target, body;
  if (!ec && parser.is_done()) {
    const auto& req = parser.get();
    method = std::string(req.method_string());
    target = std::string(req.target());
    body = req.body();
  } else {
    // Not valid HTTP: still exercise routing with "METHOD target\nbody".
    const size_t sp = input.find(' ');
    const size_t nl = input.find('\n');
    method = input.substr(0, sp == std::string::npos ? 0 : sp);
    target = sp == std::string::npos
                 ? input
                 : input.substr(sp + 1, nl == std::string::npos ? std::string::npos : nl - sp - 1);
    body = nl == std::string::npos ? "" : input.substr(nl + 1);
  }
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);

  (void)marketlens::gateway::ParseQueryString(query);
  if (auto t = marketlens::gateway::PathTemplate::Parse(path); t.ok()) {
    (void)t->Match(path);
    (void)t->OpenApiPath();
  }

  RouteTable::Lookup l = Routes().Find(method, path);
  if (l.route == nullptr) return 0;
  std::unique_ptr<google::protobuf::Message> msg(google::protobuf::MessageFactory::generated_factory()
                                                     ->GetPrototype(l.route->method->input_type())
                                                     ->New());
  auto err = marketlens::gateway::BindRequest(*l.route, l.bindings, query, body, msg.get());
  if (err.has_value()) {
    CheckErrorBody(*err);
    return 0;
  }
  std::string bytes;
  Check(msg->SerializeToString(&bytes), "a bound request serializes");
  std::unique_ptr<google::protobuf::Message> back(msg->New());
  Check(back->ParseFromString(bytes), "and parses back");
  Check(google::protobuf::util::MessageDifferencer::Equals(*msg, *back), "to an equal message");
  return 0;
}
