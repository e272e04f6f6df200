// POST /api/v1/ingest end to end: the REAL collector and analyzer binaries as processes against a real
// PostgreSQL (real migrations) and Redis, the gateway (GatewayStack) in this process. Brief 001's CSV and
// brief 002's workbook, written at test time by openpyxl (services/collector/testdata/make_workbooks.py), are
// uploaded as users would (raw body, multipart form); every row is accepted or rejected with a reason, and
// the seed-style endpoints (interactions-by-product, generate-content, summarized_interactions) answer from
// what was loaded. Plus the refusals: 415 for other content types, 413 past the upload limit, 400 for a
// bad kind or a file nothing can be read from.
#include "services/gateway/ingest_upload.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/postgres/pool.h"
#include "common/testing/child_process.h"
#include "common/testing/free_port.h"
#include "common/testing/migrated_database.h"
#include "common/testing/protobuf_status_matchers.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/gateway/gateway_stack.h"
#include "services/gateway/test_http_client.h"

namespace marketlens::gateway {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;
using testing::HttpCall;

TEST(ExtractUploadedFile, BodiesAndMultipart) {
  UploadedFile f;
  EXPECT_FALSE(ExtractUploadedFile("text/csv; charset=utf-8", "a,b\n", &f).has_value());
  EXPECT_EQ(f.data, "a,b\n");
  EXPECT_FALSE(ExtractUploadedFile("", "raw", &f).has_value());
  auto bad = ExtractUploadedFile("application/json", "{}", &f);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status(), 415);
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"brief.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\na,b\r\n1,2\r\n--XyZ--\r\n";
  EXPECT_FALSE(ExtractUploadedFile("multipart/form-data; boundary=XyZ", body, &f).has_value());
  EXPECT_EQ(f.data, "a,b\r\n1,2");
  EXPECT_EQ(f.filename, "brief.csv");
  auto no_boundary = ExtractUploadedFile("multipart/form-data", body, &f);
  ASSERT_TRUE(no_boundary.has_value());
  EXPECT_EQ(no_boundary->status(), 400);
  // No part with a filename: the first part. No part at all, or a cut one: 400.
  EXPECT_FALSE(ExtractUploadedFile("multipart/form-data; boundary=XyZ",
                                   "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n"
                                   "--XyZ\r\n\r\ntwo\r\n--XyZ--",
                                   &f)
                   .has_value());
  EXPECT_EQ(f.data, "one");
  EXPECT_EQ(f.filename, "");
  auto none = ExtractUploadedFile("multipart/form-data; boundary=XyZ", "just text", &f);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->status(), 400);
  auto cut =
      ExtractUploadedFile("multipart/form-data; boundary=XyZ",
                          "--XyZ\r\nContent-Disposition: form-data; filename=\"a.csv\"\r\n\r\na,b\r\n1", &f);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->status(), 400);
}

// The streamed form parser gives the same file whatever the pieces the body arrives in (every split point,
// and byte by byte), with the file's own "\r\n--" lookalikes kept.
TEST(MultipartFileStream, SameFileWhateverThePieces) {
  const std::string file = "a,b\r\n1,2\r\n--XyYnot-the-boundary\r\n-\r\n--X\r\n3,4";
  const std::string body = absl::StrCat(
      "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"brief.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\n",
      file, "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nx\r\n--XyZ--\r\n");
  for (size_t split = 0; split <= body.size(); ++split) {
    MultipartFileStream parts("XyZ");
    std::string out;
    ASSERT_THAT(parts.Feed(body.substr(0, split), &out), IsOk());
    ASSERT_THAT(parts.Feed(body.substr(split), &out), IsOk());
    ASSERT_THAT(parts.Finish(&out), IsOk());
    EXPECT_EQ(out, file) << "split at " << split;
    EXPECT_EQ(parts.filename(), "brief.csv");
  }
  MultipartFileStream parts("XyZ");
  std::string out;
  for (char c : body) ASSERT_THAT(parts.Feed(std::string(1, c), &out), IsOk());
  ASSERT_THAT(parts.Finish(&out), IsOk());
  EXPECT_EQ(out, file);
  // The file's bytes go out before the body ends (all but a boundary's length).
  MultipartFileStream early("XyZ");
  std::string head;
  const size_t file_at = body.find(file);
  ASSERT_THAT(early.Feed(body.substr(0, file_at + file.size()), &head), IsOk());
  EXPECT_TRUE(early.file_started());
  EXPECT_EQ(head, file.substr(0, file.size() - std::string("\r\n--XyZ").size() + 1));
}

std::string OutputPath(const std::string& name) {
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (dir == nullptr) dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The services run as child processes (common/testing's ChildProcess), logs in the test outputs.
using ::marketlens::testing::ChildProcess;

google::protobuf::Struct ParseStruct(const std::string& json) {
  google::protobuf::Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(json, &s);
  EXPECT_THAT(st, IsOk()) << " in " << json.substr(0, 400);
  return s;
}

double Num(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  if (it == s.fields().end()) return -1;
  if (it->second.has_string_value()) return std::stod(it->second.string_value());  // int64 as a string
  return it->second.number_value();
}

std::string Str(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? "" : it->second.string_value();
}

class IngestUploadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = new std::string(absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/uploads"));
    ASSERT_EQ(
        std::system(absl::StrCat("mkdir -p ", *dir_,
                                 " && /usr/bin/python3 services/collector/testdata/make_workbooks.py ", *dir_)
                        .c_str()),
        0)
        << "cannot write the test workbooks (python3-openpyxl: deploy/local/install_deps.sh)";
    auto db = marketlens::testing::CreateMigratedDatabase(marketlens::testing::SharedPostgresServer(),
                                                          {.pool_size = 2});
    ASSERT_THAT(db, IsOk());
    const std::string dsn = db->dsn;
    pool_ = db->pool.release();
    const marketlens::testing::RedisServer& redis_server = marketlens::testing::SharedRedisServer();
    const std::string redis_address = absl::StrCat(redis_server.host(), ":", redis_server.port());

    auto port = [] {
      absl::StatusOr<int> p = marketlens::testing::PickFreePort();
      EXPECT_THAT(p, IsOk());
      return p.ok() ? *p : 0;
    };
    const int collector = port(), analyzer = port(), unused = port();
    auto argv = [&](const std::string& binary, int grpc_port) {
      return std::vector<std::string>{binary,
                                      absl::StrCat("--grpc_port=", grpc_port),
                                      absl::StrCat("--metrics_port=", port()),
                                      "--drain_seconds=0",
                                      "--pg_dsn=" + dsn,
                                      "--redis_address=" + redis_address};
    };
    auto c = argv("services/collector/collector", collector);
    c.push_back(absl::StrCat("--marketplace_address=127.0.0.1:", unused));  // no crawl in this test
    auto a = argv("services/analyzer/analyzer", analyzer);
    a.push_back(absl::StrCat("--recommender_address=127.0.0.1:", unused));
    collector_ = new ChildProcess(c, OutputPath("collector.log"));
    analyzer_ = new ChildProcess(a, OutputPath("analyzer.log"));

    GatewayStackOptions o;
    o.http.host = "127.0.0.1";
    o.http.port = 0;
    o.http.upload_max_body_bytes = 4 << 20;
    o.gateway.require_api_key = false;
    o.gateway.access_log = false;
    o.gateway.rate_limit_per_second = 10000;
    o.transcoder.default_timeout = absl::Seconds(20);
    o.backends = {{"marketlens.analyzer.v1.AnalyzerService", absl::StrCat("127.0.0.1:", analyzer)},
                  {"marketlens.recommender.v1.RecommenderService", absl::StrCat("127.0.0.1:", unused)},
                  {"marketlens.collector.v1.CollectorService", absl::StrCat("127.0.0.1:", collector)}};
    o.registry = std::make_shared<prometheus::Registry>();
    o.cache_ttl = absl::ZeroDuration();
    auto stack = GatewayStack::Start(o, nullptr, nullptr);
    ASSERT_THAT(stack, IsOk());
    stack_ = stack->release();
    // Both backends serving.
    const absl::Time until = absl::Now() + absl::Seconds(60);
    for (;;) {
      auto r = HttpCall(stack_->http_port(), "GET", "/api/v1/interactions-by-product");
      auto s = HttpCall(stack_->http_port(), "GET", "/api/v1/crawls");
      if (r.ok() && r->status == 200 && s.ok() && s->status == 200) break;
      ASSERT_LT(absl::Now(), until) << "backends not serving; see collector.log / analyzer.log";
      absl::SleepFor(absl::Milliseconds(200));
    }
  }
  static void TearDownTestSuite() {
    if (stack_ != nullptr) stack_->Stop(absl::Seconds(2));
    delete stack_;
    delete analyzer_;
    delete collector_;
    delete pool_;
  }

  static absl::StatusOr<testing::TestResponse> Upload(const std::string& target,
                                                      const std::string& content_type,
                                                      const std::string& body) {
    return HttpCall(stack_->http_port(), "POST", target, {{"Content-Type", content_type}}, body,
                    absl::Seconds(120));
  }

  static int64_t Count(const std::string& sql) {
    auto r = pool_->Exec(sql);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  }
  static int64_t FilesWithStatus(const std::string& filename, const std::string& status) {
    return Count(absl::StrCat("SELECT count(*) FROM ingest.files WHERE filename = '", filename,
                              "' AND status = '", status, "'"));
  }
  // `rows` campaign posts with ids PREFIX-0.., as CSV (about 60 bytes a row).
  static std::string CampaignPosts(const std::string& prefix, int from, int to) {
    std::string out;
    for (int i = from; i < to; ++i) {
      absl::StrAppend(&out, prefix, "-", i, ",C1,@a,tiktok,2024-01-15,hello #tag number ", i, ",#tag\n");
    }
    return out;
  }
  // Waits until the collector has begun loading `filename` (its ingest.files row, status receiving).
  static bool WaitReceiving(const std::string& filename) {
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (FilesWithStatus(filename, "receiving") == 0) {
      if (absl::Now() > until) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }
  // The upload of `filename` ends as failed (never committed) and none of its rows landed.
  static void ExpectNothingCommitted(const std::string& filename, const std::string& prefix) {
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (FilesWithStatus(filename, "receiving") > 0 && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_EQ(FilesWithStatus(filename, "failed"), 1) << filename;
    EXPECT_EQ(FilesWithStatus(filename, "succeeded"), 0) << filename << ": a cut upload was committed";
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM raw.campaign_posts WHERE id LIKE '", prefix, "-%'")),
              0);
  }

  static std::string* dir_;
  static postgres::PgPool* pool_;
  static ChildProcess* collector_;
  static ChildProcess* analyzer_;
  static GatewayStack* stack_;
};
std::string* IngestUploadTest::dir_ = nullptr;
postgres::PgPool* IngestUploadTest::pool_ = nullptr;
ChildProcess* IngestUploadTest::collector_ = nullptr;
ChildProcess* IngestUploadTest::analyzer_ = nullptr;
GatewayStack* IngestUploadTest::stack_ = nullptr;

TEST_F(IngestUploadTest, Brief001CsvAsARawBody) {
  auto r = Upload("/api/v1/ingest?filename=brief001.csv", "text/csv", ReadFile(*dir_ + "/brief001.csv"));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->status, 200) << r->body;
  const google::protobuf::Struct report = ParseStruct(r->body);
  EXPECT_EQ(Str(report, "kind"), "campaign_posts");
  EXPECT_EQ(Num(report, "rows"), 10002);
  EXPECT_EQ(Num(report, "accepted"), 9966);
  EXPECT_EQ(Num(report, "rejected"), 34);
  EXPECT_EQ(Num(report, "duplicates"), 2);
  EXPECT_THAT(r->body, HasSubstr("malformed line: 6 fields but the header has 8 (the row is cut short)"));
}

TEST_F(IngestUploadTest, Brief002WorkbookAsAFormAndTheEndpointsAnswerFromIt) {
  const std::string boundary = "----marketlens42";
  const std::string body = absl::StrCat(
      "--", boundary, "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"brief002.xlsx\"\r\n",
      "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n",
      ReadFile(*dir_ + "/brief002.xlsx"), "\r\n--", boundary, "--\r\n");
  auto r = Upload("/api/v1/ingest", absl::StrCat("multipart/form-data; boundary=", boundary), body);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->status, 200) << r->body;
  const google::protobuf::Struct report = ParseStruct(r->body);
  EXPECT_EQ(Num(report, "rows"), 20);
  EXPECT_EQ(Num(report, "accepted"), 15);
  EXPECT_EQ(Num(report, "rejected"), 5);
  const auto& sheets = report.fields().at("sheets").list_value().values();
  ASSERT_EQ(sheets.size(), 3);
  EXPECT_EQ(Str(sheets[1].struct_value(), "sheet"), "External interactions");
  EXPECT_EQ(Str(sheets[1].struct_value(), "kind"), "contacts");
  EXPECT_EQ(Num(sheets[1].struct_value(), "accepted"), 7);
  EXPECT_THAT(r->body, HasSubstr("day first (decided by '13/10/2019 10:00')"));
  EXPECT_THAT(r->body, HasSubstr("sheet=\\\"Notes\\\" skipped"));

  // The seed-style endpoints answer from what was loaded.
  auto email =
      HttpCall(stack_->http_port(), "GET", "/api/v1/generate-content/C001", {}, "", absl::Seconds(30));
  ASSERT_THAT(email, IsOk());
  ASSERT_EQ(email->status, 200) << email->body;
  EXPECT_THAT(email->body, HasSubstr("Dear Jedi,"));
  auto summary =
      HttpCall(stack_->http_port(), "GET", "/api/v1/summarized_interactions/C003", {}, "", absl::Seconds(30));
  ASSERT_THAT(summary, IsOk());
  ASSERT_EQ(summary->status, 200) << summary->body;
  EXPECT_THAT(summary->body, HasSubstr("Customer C003 (Smuggler, Loyal) has contacted us 2 times"));
  EXPECT_THAT(summary->body, HasSubstr("Products under discussion in the months of their contacts: "));
  auto by_product =
      HttpCall(stack_->http_port(), "GET", "/api/v1/interactions-by-product?customerType=Loyal");
  ASSERT_THAT(by_product, IsOk());
  ASSERT_EQ(by_product->status, 200) << by_product->body;
  // Loyal customers C001 and C003 have 4 contacts, none about a product, so each counts for the products
  // discussed in its month: April 2019 (Lightsaber), October x2 (Lightsaber, Hyperdrive), November
  // (Hyperdrive): 3 each.
  const google::protobuf::Struct counts = ParseStruct(by_product->body);
  const auto& products = counts.fields().at("products").list_value().values();
  ASSERT_EQ(products.size(), 2) << by_product->body;
  EXPECT_EQ(Str(products[0].struct_value(), "customerType"), "loyal");
  EXPECT_EQ(Str(products[0].struct_value(), "productId"), "Hyperdrive");
  EXPECT_EQ(Num(products[0].struct_value(), "interactions"), 3);
  EXPECT_EQ(Str(products[1].struct_value(), "productId"), "Lightsaber");
  EXPECT_EQ(Num(products[1].struct_value(), "interactions"), 3);
}

TEST_F(IngestUploadTest, Refusals) {
  auto json = Upload("/api/v1/ingest", "application/json", "{}");
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ(json->status, 415);
  EXPECT_THAT(json->body, HasSubstr("\"field\":\"content_type\""));

  // Past the upload limit (4 MiB here): 413 from the Content-Length, before the body is sent.
  auto conn = testing::TestConnection::Connect(stack_->http_port());
  ASSERT_THAT(conn, IsOk());
  ASSERT_THAT(conn->Send("POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                         "Content-Length: 5242880\r\n\r\n"),
              IsOk());
  auto big = conn->ReadResponse();
  ASSERT_THAT(big, IsOk());
  EXPECT_EQ(big->status, 413);
  EXPECT_THAT(big->body, HasSubstr("exceeds 4194304 bytes"));
  // Under it but over the other routes' limit (1 MiB): accepted and read (then refused as no known kind).
  auto two_mb = Upload("/api/v1/ingest", "text/csv", "name,age\n" + std::string(2 << 20, 'x') + "\n");
  ASSERT_THAT(two_mb, IsOk());
  EXPECT_EQ(two_mb->status, 400) << two_mb->body.substr(0, 300);
  // Other routes keep theirs.
  auto conn2 = testing::TestConnection::Connect(stack_->http_port());
  ASSERT_THAT(conn2, IsOk());
  ASSERT_THAT(conn2->Send("POST /api/v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: 2097152\r\n\r\n"),
              IsOk());
  auto other = conn2->ReadResponse();
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->status, 413);

  auto kind = Upload("/api/v1/ingest?kind=people", "text/csv", "a,b\n");
  ASSERT_THAT(kind, IsOk());
  EXPECT_EQ(kind->status, 400);
  EXPECT_THAT(kind->body, HasSubstr("\"field\":\"kind\""));

  auto unreadable = Upload("/api/v1/ingest", "text/csv", "name,age\nx,1\n");
  ASSERT_THAT(unreadable, IsOk());
  EXPECT_EQ(unreadable->status, 400);
  EXPECT_THAT(unreadable->body,
              HasSubstr("cannot tell what the file holds from its header (read: name,age)"));

  auto get = HttpCall(stack_->http_port(), "GET", "/api/v1/ingest");
  ASSERT_THAT(get, IsOk());
  EXPECT_EQ(get->status, 405);
}

constexpr char kPostsHeader[] = "id,campaign,influencer,platform,date,caption,hashtags\n";

// The body goes on to the collector as it arrives: the collector has begun the load (its ingest.files row)
// while most of the file is not even sent, and the whole file lands.
TEST_F(IngestUploadTest, RawBodyIsStreamedToTheCollectorWhileItArrives) {
  const std::string filename = "streamed.csv";
  const std::string first = absl::StrCat(kPostsHeader, CampaignPosts("st", 0, 20000));
  const std::string rest = CampaignPosts("st", 20000, 60000);
  ASSERT_LT(first.size() + rest.size(), size_t{4} << 20);  // the fixture's upload limit
  auto c = testing::TestConnection::Connect(stack_->http_port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->Send(absl::StrCat("POST /api/v1/ingest?kind=campaign_posts&filename=", filename,
                                   " HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: ",
                                   first.size() + rest.size(), "\r\n\r\n", first)),
              IsOk());
  ASSERT_TRUE(WaitReceiving(filename)) << "the collector did not start before the upload finished";
  EXPECT_EQ(FilesWithStatus(filename, "succeeded"), 0);
  ASSERT_THAT(c->Send(rest), IsOk());
  auto r = c->ReadResponse(absl::Seconds(120));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->status, 200) << r->body;
  const google::protobuf::Struct report = ParseStruct(r->body);
  EXPECT_EQ(Num(report, "rows"), 60000);
  EXPECT_EQ(Num(report, "accepted"), 60000);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.campaign_posts WHERE id LIKE 'st-%'"), 60000);
  EXPECT_EQ(FilesWithStatus(filename, "succeeded"), 1);
}

// A form is streamed as well (its boundaries stripped on the fly), in chunked transfer encoding.
TEST_F(IngestUploadTest, MultipartBodyIsStreamedToo) {
  const std::string filename = "streamed-form.csv";
  const std::string boundary = "b0undary";
  const std::string head =
      absl::StrCat("--", boundary, "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"", filename,
                   "\"\r\nContent-Type: text/csv\r\n\r\n", kPostsHeader);
  auto chunk = [](const std::string& data) {
    return absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
  };
  auto c = testing::TestConnection::Connect(stack_->http_port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->Send(absl::StrCat("POST /api/v1/ingest?kind=campaign_posts HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Type: multipart/form-data; boundary=",
                                   boundary, "\r\nTransfer-Encoding: chunked\r\n\r\n",
                                   chunk(head + CampaignPosts("mf", 0, 20000)))),
              IsOk());
  ASSERT_TRUE(WaitReceiving(filename)) << "the collector did not start before the upload finished";
  ASSERT_THAT(c->Send(absl::StrCat(chunk(CampaignPosts("mf", 20000, 30000)),
                                   chunk(absl::StrCat("\r\n--", boundary, "--\r\n")), "0\r\n\r\n")),
              IsOk());
  auto r = c->ReadResponse(absl::Seconds(120));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Num(ParseStruct(r->body), "accepted"), 30000);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.campaign_posts WHERE id LIKE 'mf-%'"), 30000);
}

// Past the limit mid-stream (chunked: no Content-Length to refuse it by): 413, and the collector, which had
// begun the load, commits nothing.
TEST_F(IngestUploadTest, PastTheLimitMidStreamIs413AndNothingIsCommitted) {
  const std::string filename = "too-big.csv";
  auto chunk = [](const std::string& data) {
    return absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
  };
  auto c = testing::TestConnection::Connect(stack_->http_port());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(c->Send(absl::StrCat("POST /api/v1/ingest?kind=campaign_posts&filename=", filename,
                                   " HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n",
                                   chunk(absl::StrCat(kPostsHeader, CampaignPosts("tb", 0, 30000))))),
              IsOk());
  ASSERT_TRUE(WaitReceiving(filename));
  // 30000 more rows pass 4 MiB.
  (void)c->Send(chunk(CampaignPosts("tb", 30000, 80000)));
  auto r = c->ReadResponse(absl::Seconds(60));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_THAT(r->body, HasSubstr("exceeds 4194304 bytes"));
  ExpectNothingCommitted(filename, "tb");
}

// The client going away mid-upload cancels the collector's call: nothing is committed.
TEST_F(IngestUploadTest, ClientGoingAwayMidUploadCommitsNothing) {
  const std::string filename = "abandoned.csv";
  {
    auto c = testing::TestConnection::Connect(stack_->http_port());
    ASSERT_THAT(c, IsOk());
    const std::string first = absl::StrCat(kPostsHeader, CampaignPosts("ab", 0, 20000));
    ASSERT_THAT(c->Send(absl::StrCat("POST /api/v1/ingest?kind=campaign_posts&filename=", filename,
                                     " HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: ",
                                     first.size() * 2, "\r\n\r\n", first)),
                IsOk());
    ASSERT_TRUE(WaitReceiving(filename));
  }  // closed half-way
  ExpectNothingCommitted(filename, "ab");
  // The gateway and the collector go on serving uploads.
  auto r = Upload("/api/v1/ingest?kind=campaign_posts&filename=after.csv", "text/csv",
                  absl::StrCat(kPostsHeader, CampaignPosts("af", 0, 10)));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
}  // namespace marketlens::gateway
