// The HTTP server on its own, with a handler that echoes: keep-alive, pipelining, answers from other
// threads, and every way a client can misbehave (too big, malformed, slow, idle, too many connections).
#include "services/gateway/http_server.h"

#include <atomic>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gateway/test_http_client.h"

namespace marketlens::gateway {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;
using testing::HttpCall;
using testing::TestConnection;
using testing::TestResponse;

// Waits up to `timeout` for `done()`.
template <typename Fn>
bool WaitFor(Fn done, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > until) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

class HttpServerTest : public ::testing::Test {
 protected:
  // The server's threads call back into the members below (protocol errors, handled requests): stop it
  // before they are destroyed (members go in reverse order, server_ last).
  void TearDown() override {
    paused_.store(false);
    server_.reset();
    for (std::thread& t : readers_) t.join();
  }

  void StartServer(HttpServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.on_protocol_error = [this](int status, absl::string_view, absl::string_view) {
      absl::MutexLock lock(&mu_);
      protocol_errors_.push_back(status);
    };
    auto s = HttpServer::Start(
        options, [this](HttpRequest req, Responder respond) { Handle(std::move(req), respond); });
    ASSERT_THAT(s, IsOk());
    server_ = *std::move(s);
  }

  // GET /echo -> method, path, query and body; /slow?ms=N answers from another thread after N ms; /close asks
  // for the connection to be closed.
  void Handle(HttpRequest req, Responder respond) {
    handled_.fetch_add(1);
    HttpResponse r;
    r.headers.emplace_back("Content-Type", "text/plain");
    r.body = absl::StrCat(req.method, " ", req.path, " ", req.query, " ", req.body.size(), " ",
                          req.Header("x-test"));
    if (req.path == "/slow") {
      int ms = 0;
      (void)absl::SimpleAtoi(req.query.substr(req.query.find('=') + 1), &ms);
      std::thread([respond, r, ms] {
        absl::SleepFor(absl::Milliseconds(ms));
        respond(r);
        respond(r);  // a second answer is ignored
      }).detach();
      return;
    }
    if (req.path == "/hang") {
      // Answers only when the client goes away (and says so in disconnects_).
      ASSERT_NE(req.disconnect, nullptr);
      req.disconnect->OnDisconnect([this, respond, r] {
        disconnects_.fetch_add(1);
        respond(r);
      });
      return;
    }
    if (req.path == "/big") {
      // N bytes (a repeating pattern), answered from another thread.
      int bytes = 0;
      (void)absl::SimpleAtoi(req.query.substr(req.query.find('=') + 1), &bytes);
      std::string body(bytes, ' ');
      for (int i = 0; i < bytes; ++i) body[i] = static_cast<char>('a' + i % 26);
      r.body = std::move(body);
      std::thread([respond, r = std::move(r)] { respond(r); }).detach();
      return;
    }
    if (req.path == "/close") r.close = true;
    if (req.path == "/upload" && req.query == "refuse") {
      r.status = 415;  // at once, without reading the body
      return respond(std::move(r));
    }
    if (req.path == "/upload" && req.body_stream != nullptr) return ReadStreamed(std::move(req), respond);
    respond(std::move(r));
  }

  // A streamed upload, read on a thread of its own in 64 KiB pieces (none while paused_): answers
  // "streamed N bytes" at the end, or the body stream's error as the gateway would.
  void ReadStreamed(HttpRequest req, Responder respond) {
    absl::MutexLock lock(&mu_);
    readers_.emplace_back([this, stream = req.body_stream, respond] {
      int64_t total = 0;
      for (;;) {
        while (paused_.load()) absl::SleepFor(absl::Milliseconds(5));
        absl::StatusOr<std::string> piece = stream->ReadBlocking(64 << 10, absl::Seconds(5));
        if (!piece.ok()) {
          {
            absl::MutexLock lock(&mu_);
            stream_errors_.push_back(piece.status());
          }
          const ApiError e = BodyStreamError(piece.status());
          HttpResponse r;
          r.status = e.status();
          r.headers.emplace_back("Content-Type", "application/json");
          r.body = ErrorBodyJson(e);
          return respond(std::move(r));
        }
        if (piece->empty()) break;
        total += static_cast<int64_t>(piece->size());
        streamed_bytes_.fetch_add(static_cast<int64_t>(piece->size()));
      }
      HttpResponse r;
      r.body = absl::StrCat("streamed ", total, " bytes");
      respond(std::move(r));
    });
  }

  std::vector<absl::Status> StreamErrors() {
    absl::MutexLock lock(&mu_);
    return stream_errors_;
  }

  std::vector<int> ProtocolErrors() {
    absl::MutexLock lock(&mu_);
    return protocol_errors_;
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
  std::atomic<int> disconnects_{0};
  absl::Mutex mu_;
  std::vector<int> protocol_errors_;
  // Streamed uploads (/upload with HttpServerOptions::stream_uploads).
  std::atomic<bool> paused_{false};
  std::atomic<int64_t> streamed_bytes_{0};
  std::vector<std::thread> readers_;
  std::vector<absl::Status> stream_errors_;
};

HttpServerOptions StreamingOptions() {
  HttpServerOptions o;
  o.max_body_bytes = 1000;
  o.upload_paths = {"/upload"};
  o.upload_max_body_bytes = 64 << 20;
  o.stream_uploads = true;
  return o;
}

TEST_F(HttpServerTest, ServesAndKeepsAlive) {
  StartServer();
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(c->SendRequest("POST", absl::StrCat("/echo?i=", i), {{"X-Test", "yes"}}, "hello"), IsOk());
    auto r = c->ReadResponse();
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, absl::StrCat("POST /echo i=", i, " 5 yes"));
    EXPECT_TRUE(r->keep_alive);
    EXPECT_EQ(r->Header("server"), "marketlens-gateway");
  }
  EXPECT_EQ(server_->open_connections(), 1);
  // Connection: close is honoured.
  ASSERT_THAT(c->SendRequest("GET", "/echo", {{"Connection", "close"}}), IsOk());
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c->WaitClosed(absl::Seconds(2)));
}

TEST_F(HttpServerTest, ResponsesBiggerThanTheSocketBufferArriveWhole) {
  StartServer();
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  constexpr int kBytes = 8 << 20;
  // Pipelined behind the big one: parsed only once the big response is out.
  ASSERT_THAT(c->Send(absl::StrCat("GET /big?bytes=", kBytes, " HTTP/1.1\r\nHost: x\r\n\r\n",
                                   "GET /echo?after=big HTTP/1.1\r\nHost: x\r\n\r\n")),
              IsOk());
  // Not reading for a while: the socket's buffers fill up, and the rest of the answer waits for us.
  absl::SleepFor(absl::Milliseconds(200));
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(r->body.size(), kBytes);
  bool intact = true;
  for (int i = 0; i < kBytes && intact; ++i) intact = r->body[i] == static_cast<char>('a' + i % 26);
  EXPECT_TRUE(intact);
  EXPECT_TRUE(r->keep_alive);
  auto r2 = c->ReadResponse();
  ASSERT_THAT(r2, IsOk());
  EXPECT_EQ(r2->body, "GET /echo after=big 0 ");
  // And the connection goes on.
  ASSERT_THAT(c->SendRequest("GET", "/echo?n=3"), IsOk());
  auto r3 = c->ReadResponse();
  ASSERT_THAT(r3, IsOk());
  EXPECT_EQ(r3->body, "GET /echo n=3 0 ");
  EXPECT_TRUE(WaitFor([&] { return server_->requests_in_flight() == 0; }, absl::Seconds(5)));
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(
      c->Send("GET /slow?ms=100 HTTP/1.1\r\nHost: x\r\n\r\nGET /echo?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"),
      IsOk());
  auto r1 = c->ReadResponse();
  auto r2 = c->ReadResponse();
  ASSERT_THAT(r1, IsOk());
  ASSERT_THAT(r2, IsOk());
  EXPECT_EQ(r1->body, "GET /slow ms=100 0 ");
  EXPECT_EQ(r2->body, "GET /echo n=2 0 ");
}

TEST_F(HttpServerTest, AnswersFromOtherThreadsWithoutBlockingOthers) {
  HttpServerOptions o;
  o.threads = 1;
  StartServer(o);
  // A slow answer does not hold the only server thread.
  auto slow = TestConnection::Connect(server_->port());
  ASSERT_THAT(slow, IsOk());
  ASSERT_THAT(slow->SendRequest("GET", "/slow?ms=500"), IsOk());
  const absl::Time start = absl::Now();
  auto fast = HttpCall(server_->port(), "GET", "/echo");
  ASSERT_THAT(fast, IsOk());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(300));
  auto r = slow->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, ResponseAskingToCloseClosesTheConnection) {
  StartServer();
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->SendRequest("GET", "/close"), IsOk());
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c->WaitClosed(absl::Seconds(2)));
}

TEST_F(HttpServerTest, OversizedBodyByContentLengthIs413) {
  HttpServerOptions o;
  o.max_body_bytes = 1000;
  StartServer(o);
  auto ok = HttpCall(server_->port(), "POST", "/echo", {}, std::string(1000, 'x'));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->status, 200);

  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  // Only the headers are sent: the refusal must come from Content-Length alone.
  ASSERT_THAT(c->Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"), IsOk());
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr(R"("code":"RESOURCE_EXHAUSTED")"));
  EXPECT_THAT(r->body, HasSubstr("exceeds 1000 bytes"));
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_TRUE(c->WaitClosed(absl::Seconds(2)));
  for (int i = 0; i < 100 && ProtocolErrors().empty(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_THAT(ProtocolErrors(), ::testing::Contains(413));
}

TEST_F(HttpServerTest, ExpectContinue) {
  HttpServerOptions o;
  o.max_body_bytes = 100;
  StartServer(o);
  // Within the limit: 100 Continue, then the body, then the answer.
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"),
              IsOk());
  auto cont = c->ReadResponse(absl::Seconds(2));
  ASSERT_THAT(cont, IsOk());
  EXPECT_EQ(cont->status, 100);
  ASSERT_THAT(c->Send("hello"), IsOk());
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /echo  5 ");
  // Over it: 413 at once, the body is never asked for.
  auto c2 = TestConnection::Connect(server_->port());
  ASSERT_THAT(c2, IsOk());
  ASSERT_THAT(
      c2->Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"),
      IsOk());
  auto r2 = c2->ReadResponse(absl::Seconds(2));
  ASSERT_THAT(r2, IsOk());
  EXPECT_EQ(r2->status, 413);
}

TEST_F(HttpServerTest, OversizedChunkedBodyIs413) {
  HttpServerOptions o;
  o.max_body_bytes = 100;
  StartServer(o);
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) absl::StrAppend(&req, "32\r\n", std::string(50, 'y'), "\r\n");
  absl::StrAppend(&req, "0\r\n\r\n");
  ASSERT_THAT(c->Send(req), IsOk());
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
  HttpServerOptions o;
  o.max_header_bytes = 2048;
  StartServer(o);
  auto r = HttpCall(server_->port(), "GET", "/echo", {{"X-Big", std::string(4000, 'h')}});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 431);
  EXPECT_THAT(r->body, HasSubstr("headers exceed 2048 bytes"));
}

TEST_F(HttpServerTest, MalformedRequestsAre400) {
  StartServer();
  for (const char* bad :
       {"GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    auto c = TestConnection::Connect(server_->port());
    ASSERT_THAT(c, IsOk());
    ASSERT_THAT(c->Send(bad), IsOk());
    auto r = c->ReadResponse();
    ASSERT_THAT(r, IsOk()) << bad << ": " << r.status();
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_THAT(r->body, HasSubstr("malformed HTTP request")) << bad;
    EXPECT_TRUE(c->WaitClosed(absl::Seconds(2))) << bad;
  }
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerTest, SlowClientIsCutOffWhileOthersAreServed) {
  HttpServerOptions o;
  o.request_timeout = absl::Milliseconds(400);
  o.threads = 1;
  StartServer(o);
  // Slowloris: a header line every 100 ms, never finishing.
  auto slow = TestConnection::Connect(server_->port());
  ASSERT_THAT(slow, IsOk());
  ASSERT_THAT(slow->Send("GET /echo HTTP/1.1\r\n"), IsOk());
  const absl::Time start = absl::Now();
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {
    // Meanwhile, a normal client is served at once.
    if (i == 1) {
      auto r = HttpCall(server_->port(), "GET", "/echo");
      ASSERT_THAT(r, IsOk());
      EXPECT_EQ(r->status, 200);
    }
    if (!slow->Send(absl::StrCat("X-Drip-", i, ": 1\r\n")).ok()) break;
    closed = slow->WaitClosed(absl::Milliseconds(100));
  }
  if (!closed) closed = slow->WaitClosed(absl::Seconds(1));
  EXPECT_TRUE(closed);
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(350));
  EXPECT_LT(took, absl::Milliseconds(1500));
  // The socket is closed by the timer just before the read reports the timeout: wait for the report.
  for (int i = 0; i < 100 && ProtocolErrors().empty(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_THAT(ProtocolErrors(), ::testing::Contains(408));

  // A body that never completes is cut off the same way.
  auto slow_body = TestConnection::Connect(server_->port());
  ASSERT_THAT(slow_body, IsOk());
  ASSERT_THAT(slow_body->Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"), IsOk());
  EXPECT_TRUE(slow_body->WaitClosed(absl::Seconds(2)));
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionsAreClosed) {
  HttpServerOptions o;
  o.idle_timeout = absl::Milliseconds(300);
  StartServer(o);
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->SendRequest("GET", "/echo"), IsOk());
  ASSERT_THAT(c->ReadResponse(), IsOk());
  EXPECT_FALSE(c->WaitClosed(absl::Milliseconds(100)));
  EXPECT_TRUE(c->WaitClosed(absl::Seconds(2)));
}

TEST_F(HttpServerTest, TooManyConnectionsAreRefused) {
  HttpServerOptions o;
  o.max_connections = 2;
  StartServer(o);
  auto a = TestConnection::Connect(server_->port());
  auto b = TestConnection::Connect(server_->port());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(a->SendRequest("GET", "/echo"), IsOk());
  ASSERT_THAT(a->ReadResponse(), IsOk());
  ASSERT_THAT(b->SendRequest("GET", "/echo"), IsOk());
  ASSERT_THAT(b->ReadResponse(), IsOk());
  auto third = TestConnection::Connect(server_->port());
  ASSERT_THAT(third, IsOk());
  EXPECT_TRUE(third->WaitClosed(absl::Seconds(2)));
  // Once one goes away, new connections are served again.
  a = absl::CancelledError("closed by the test");  // closes the connection `a` held
  absl::SleepFor(absl::Milliseconds(100));
  auto r = HttpCall(server_->port(), "GET", "/echo");
  EXPECT_THAT(r, IsOk());
}

TEST_F(HttpServerTest, StopDrainsRequestsInFlight) {
  StartServer();
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->SendRequest("GET", "/slow?ms=300"), IsOk());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(server_->requests_in_flight(), 1);
  const int port = server_->port();
  server_->Stop(absl::Seconds(5));
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_FALSE(HttpCall(port, "GET", "/echo", {}, "", absl::Milliseconds(500)).ok());
  server_.reset();
}

TEST_F(HttpServerTest, PortInUse) {
  StartServer();
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = server_->port();
  auto s = HttpServer::Start(o, [](HttpRequest, Responder) {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(absl::StrCat("127.0.0.1:", server_->port())));
}

TEST_F(HttpServerTest, ClientGoingAwayIsSignalledToTheHandler) {
  StartServer();
  {
    auto c = TestConnection::Connect(server_->port());
    ASSERT_THAT(c, IsOk());
    ASSERT_THAT(c->SendRequest("GET", "/hang"), IsOk());
    ASSERT_TRUE(WaitFor([&] { return server_->requests_in_flight() == 1; }, absl::Seconds(5)));
    absl::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(disconnects_.load(), 0) << "a client that waits is not gone";
  }  // closes the connection
  EXPECT_TRUE(WaitFor([&] { return disconnects_.load() == 1; }, absl::Seconds(5)));
  EXPECT_TRUE(WaitFor([&] { return server_->requests_in_flight() == 0; }, absl::Seconds(5)));

  // A slow answer to a client that stays: no disconnect, and the connection still works afterwards.
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->SendRequest("GET", "/slow?ms=100"), IsOk());
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  ASSERT_THAT(c->SendRequest("GET", "/echo"), IsOk());
  r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  // Pipelined: the second request waits in the socket while the first is handled; it is not a disconnect.
  ASSERT_THAT(c->Send("GET /slow?ms=100 HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n"),
              IsOk());
  for (int i = 0; i < 2; ++i) {
    r = c->ReadResponse();
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(disconnects_.load(), 1);
}

TEST_F(HttpServerTest, StreamedUploadIsHandedOverPieceByPieceAsItArrives) {
  StartServer(StreamingOptions());
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  const size_t size = 3 << 20;
  ASSERT_THAT(c->Send(absl::StrCat("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ", size,
                                   "\r\nExpect: 100-continue\r\n\r\n")),
              IsOk());
  // The handler has the request before any byte of the body: "100 Continue" comes with its first read.
  auto cont = c->ReadResponse(absl::Seconds(5));
  ASSERT_THAT(cont, IsOk());
  EXPECT_EQ(cont->status, 100);
  EXPECT_EQ(handled_.load(), 1);
  // The first megabyte reaches the handler while the rest is not even sent.
  ASSERT_THAT(c->Send(std::string(1 << 20, 'a')), IsOk());
  EXPECT_TRUE(WaitFor([&] { return streamed_bytes_.load() == (1 << 20); }, absl::Seconds(5)))
      << streamed_bytes_.load();
  ASSERT_THAT(c->Send(std::string(size - (1 << 20), 'b')), IsOk());
  auto r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, absl::StrCat("streamed ", size, " bytes"));
  EXPECT_TRUE(r->keep_alive);
  // The connection goes on; other paths are read whole as before (and their own limit holds).
  ASSERT_THAT(c->SendRequest("POST", "/echo", {}, "hello"), IsOk());
  r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "POST /echo  5 ");
  // Chunked works as well.
  std::string chunked = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) absl::StrAppend(&chunked, "1000\r\n", std::string(4096, 'c'), "\r\n");
  absl::StrAppend(&chunked, "0\r\n\r\n");
  ASSERT_THAT(c->Send(chunked), IsOk());
  r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, absl::StrCat("streamed ", 40 * 4096, " bytes"));
}

TEST_F(HttpServerTest, StreamedUploadIsNotReadFasterThanTheHandlerTakesIt) {
  StartServer(StreamingOptions());
  paused_.store(true);
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  const size_t size = 48 << 20;
  ASSERT_THAT(c->Send(absl::StrCat("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ", size, "\r\n\r\n")),
              IsOk());
  std::atomic<size_t> sent{0};
  std::thread sender([&] {
    const std::string block(64 << 10, 'z');
    while (sent.load() < size && c->Send(block).ok()) sent.fetch_add(block.size());
  });
  // While the handler reads nothing, the client is stalled by TCP flow control after the socket buffers
  // (a few MiB on loopback): the server does not take the body in on its own.
  absl::SleepFor(absl::Milliseconds(700));
  const size_t stalled_at = sent.load();
  EXPECT_LT(stalled_at, size_t{24} << 20);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(sent.load(), stalled_at) << "the body went on being read while the handler took nothing";
  paused_.store(false);
  sender.join();
  auto r = c->ReadResponse(absl::Seconds(30));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, absl::StrCat("streamed ", size, " bytes"));
}

TEST_F(HttpServerTest, StreamedUploadPastTheLimitIs413MidStream) {
  HttpServerOptions o = StreamingOptions();
  o.upload_max_body_bytes = 200000;
  StartServer(o);
  // By Content-Length: 413 at once, the handler never sees it.
  auto c0 = TestConnection::Connect(server_->port());
  ASSERT_THAT(c0, IsOk());
  ASSERT_THAT(c0->Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200001\r\n\r\n"), IsOk());
  auto r = c0->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(handled_.load(), 0);
  // Chunked: the handler has read pieces already when the body passes the limit; its read fails with
  // RESOURCE_EXHAUSTED, it answers 413 and the connection is closed.
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), IsOk());
  ASSERT_THAT(c->Send(absl::StrCat("186a0\r\n", std::string(100000, 'y'), "\r\n")), IsOk());
  EXPECT_TRUE(WaitFor([&] { return streamed_bytes_.load() == 100000; }, absl::Seconds(5)));
  ASSERT_THAT(c->Send(absl::StrCat("186a0\r\n", std::string(100000, 'y'), "\r\n")), IsOk());
  ASSERT_THAT(c->Send(absl::StrCat("10\r\n", std::string(16, 'y'), "\r\n0\r\n\r\n")), IsOk());
  r = c->ReadResponse();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("exceeds 200000 bytes"));
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c->WaitClosed(absl::Seconds(2)));
  ASSERT_EQ(StreamErrors().size(), 1u);
  EXPECT_EQ(StreamErrors()[0].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_LE(streamed_bytes_.load(), 200000);
}

// A streamed upload refused before its body is read (a bad type, a missing key): the client still gets the
// answer, however much it goes on sending (the server reads and drops the rest before closing, rather than
// resetting the connection under the answer).
TEST_F(HttpServerTest, StreamedUploadRefusedAtOnceStillGetsItsAnswer) {
  StartServer(StreamingOptions());
  for (int round = 0; round < 3; ++round) {
    auto c = TestConnection::Connect(server_->port());
    ASSERT_THAT(c, IsOk());
    const size_t size = 8 << 20;
    ASSERT_THAT(c->Send(absl::StrCat("POST /upload?refuse HTTP/1.1\r\nHost: x\r\nContent-Length: ", size,
                                     "\r\n\r\n")),
                IsOk());
    std::atomic<bool> send_ok{true};
    std::thread sender([&] {
      const std::string block(64 << 10, 'z');
      for (size_t sent = 0; sent < size && send_ok.load(); sent += block.size()) {
        if (!c->Send(block).ok()) send_ok.store(false);
      }
    });
    sender.join();
    EXPECT_TRUE(send_ok.load()) << "round " << round << ": the body could not be sent (connection reset)";
    auto r = c->ReadResponse();
    ASSERT_THAT(r, IsOk()) << "round " << round << ": " << r.status();
    EXPECT_EQ(r->status, 415);
    EXPECT_FALSE(r->keep_alive);
    EXPECT_TRUE(c->WaitClosed(absl::Seconds(5)));
  }
}

TEST_F(HttpServerTest, StreamedUploadTimesOut) {
  HttpServerOptions o = StreamingOptions();
  o.upload_request_timeout = absl::Milliseconds(400);
  StartServer(o);
  auto c = TestConnection::Connect(server_->port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc"), IsOk());
  EXPECT_TRUE(c->WaitClosed(absl::Seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return StreamErrors().size() == 1; }, absl::Seconds(5)));
  EXPECT_EQ(StreamErrors()[0].code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(streamed_bytes_.load(), 3);
  EXPECT_THAT(ProtocolErrors(), ::testing::Contains(408));
  EXPECT_TRUE(WaitFor([&] { return server_->requests_in_flight() == 0; }, absl::Seconds(5)));
}

TEST_F(HttpServerTest, StreamedUploadClientGoingAwayFailsTheReadAndFiresTheDisconnect) {
  StartServer(StreamingOptions());
  {
    auto c = TestConnection::Connect(server_->port());
    ASSERT_THAT(c, IsOk());
    ASSERT_THAT(c->Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc"), IsOk());
    ASSERT_TRUE(WaitFor([&] { return streamed_bytes_.load() == 3; }, absl::Seconds(5)));
  }  // closes the connection mid-body
  ASSERT_TRUE(WaitFor([&] { return StreamErrors().size() == 1; }, absl::Seconds(5)));
  EXPECT_EQ(StreamErrors()[0].code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(WaitFor([&] { return server_->requests_in_flight() == 0; }, absl::Seconds(5)));
  EXPECT_TRUE(ProtocolErrors().empty());
}

}  // namespace
}  // namespace marketlens::gateway
