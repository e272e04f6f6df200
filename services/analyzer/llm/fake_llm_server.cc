#include "services/analyzer/llm/fake_llm_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace marketlens::analyzer::llm {
HttpResponse ChatCompletion(const std::string& content, int prompt_tokens, int completion_tokens,
                            const std::string& finish_reason) {
  HttpResponse r;
  r.headers = {{"Content-Type", "application/json"}};
  nlohmann::ordered_json body = {
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"model", "fake-model"},
      {"choices", nlohmann::ordered_json::array({{{"index", 0},
                                                  {"message", {{"role", "assistant"}, {"content", content}}},
                                                  {"finish_reason", finish_reason}}})}};
  if (prompt_tokens >= 0 && completion_tokens >= 0) {
    body["usage"] = {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}};
  }
  r.body = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return r;
}

absl::StatusOr<ChatRequest> ParseChatRequest(const std::string& body) {
  google::protobuf::Struct s;
  if (!google::protobuf::util::JsonStringToMessage(body, &s).ok())
    return absl::InvalidArgumentError("request body is not JSON");
  const auto& f = s.fields();
  ChatRequest r;
  if (auto m = f.find("model"); m != f.end()) r.model = m->second.string_value();
  auto messages = f.find("messages");
  if (messages == f.end() || messages->second.list_value().values_size() == 0)
    return absl::InvalidArgumentError("no messages");
  for (const auto& m : messages->second.list_value().values()) {
    const auto& mf = m.struct_value().fields();
    auto role = mf.find("role");
    auto content = mf.find("content");
    if (role == mf.end() || content == mf.end()) continue;
    (role->second.string_value() == "system" ? r.system : r.user) += content->second.string_value();
  }
  if (auto mt = f.find("max_tokens"); mt != f.end())
    r.max_tokens = static_cast<int>(mt->second.number_value());
  if (auto rf = f.find("response_format"); rf != f.end()) {
    const auto& rff = rf->second.struct_value().fields();
    if (auto t = rff.find("type"); t != rff.end()) r.response_format = t->second.string_value();
    if (auto js = rff.find("json_schema"); js != rff.end()) {
      const auto& jsf = js->second.struct_value().fields();
      if (auto n = jsf.find("name"); n != jsf.end()) r.schema_name = n->second.string_value();
      if (auto sc = jsf.find("schema"); sc != jsf.end())
        (void)google::protobuf::util::MessageToJsonString(sc->second, &r.schema);
    }
  }
  return r;
}

FakeLlmServer::FakeLlmServer(std::function<HttpResponse(const HttpRequest&)> handler)
    : handler_(std::move(handler)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen(listen_fd_, 64);
  accept_thread_ = std::thread([this] {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      absl::MutexLock lock(&mu_);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  });
}

FakeLlmServer::~FakeLlmServer() {
  stop_ = true;
  accept_thread_.join();
  std::vector<std::thread> workers;
  {
    absl::MutexLock lock(&mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  close(listen_fd_);
}

std::string FakeLlmServer::base_url() const { return absl::StrCat("http://127.0.0.1:", port_, "/v1"); }

int FakeLlmServer::requests() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(requests_.size());
}

std::vector<HttpRequest> FakeLlmServer::recorded() {
  absl::MutexLock lock(&mu_);
  return requests_;
}

void FakeLlmServer::set_handler(std::function<HttpResponse(const HttpRequest&)> handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

void FakeLlmServer::Serve(int fd) {
  std::string data;
  char buf[8192];
  size_t header_end = std::string::npos;
  size_t content_length = 0;
  HttpRequest req;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up && !stop_.load()) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, n);
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      std::vector<std::string> lines = absl::StrSplit(data.substr(0, header_end), "\r\n");
      std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
      if (first.size() >= 2) {
        req.method = first[0];
        req.path = first[1];
      }
      for (size_t i = 1; i < lines.size(); ++i) {
        const size_t colon = lines[i].find(':');
        if (colon == std::string::npos) continue;
        req.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      }
      (void)absl::SimpleAtoi(req.headers["content-length"], &content_length);
    }
    if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) break;
  }
  if (header_end != std::string::npos) {
    req.body = data.substr(header_end + 4, content_length);
    std::function<HttpResponse(const HttpRequest&)> handler;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(req);
      handler = handler_;
    }
    HttpResponse resp = handler(req);
    for (absl::Time until = absl::Now() + resp.delay; absl::Now() < until && !stop_.load();) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    std::string out = absl::StrCat("HTTP/1.1 ", resp.status,
                                   " X\r\nConnection: close\r\nContent-Length: ", resp.body.size(), "\r\n");
    for (const auto& [k, v] : resp.headers) absl::StrAppend(&out, k, ": ", v, "\r\n");
    absl::StrAppend(&out, "\r\n", resp.body);
    size_t off = 0;
    while (off < out.size()) {
      const ssize_t w = write(fd, out.data() + off, out.size() - off);
      if (w <= 0) break;
      off += w;
    }
  }
  close(fd);
}

}  // namespace marketlens::analyzer::llm
