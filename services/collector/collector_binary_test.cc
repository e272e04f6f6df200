// The collector binary as it runs in the stack, against a real marketplace (in this process), PostgreSQL and
// Redis: a full crawl survives `kill -9` twice (resuming each time where it stopped, no page stored twice,
// nothing missing), a graceful SIGTERM hands the crawl over at once to another instance, and the gRPC API
// (StartCrawl, GetCrawl, ListCrawls, CancelCrawl, IngestFile through the CLI) behaves.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/testing/child_process.h"
#include "common/testing/http_get.h"
#include "common/testing/free_port.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "services/collector/marketplace_fixture.h"

namespace marketlens::collector {
namespace {

using ::marketlens::testing::CreateMigratedDatabase;
using ::marketlens::testing::IsOk;

namespace cv1 = ::marketlens::collector::v1;
namespace mp = ::marketlens::marketplace;
using ::marketlens::testing::PostgresServer;

using ::marketlens::testing::ChildProcess;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class CollectorBinaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = PostgresServer::StartOrDie().release(); }
  static void TearDownTestSuite() { delete pg_; }

  void SetUp() override {
    auto db = CreateMigratedDatabase(*pg_, {.pool_size = 8});
    ASSERT_THAT(db, IsOk());
    pool_ = std::move(db->pool);
    dsn_ = db->dsn;
    auto redis = marketlens::testing::RedisServer::Create();
    ASSERT_THAT(redis, IsOk());
    redis_ = *std::move(redis);
    // Kept after the test (bazel-testlogs/.../test.outputs) when Bazel offers a place for it.
    const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    log_ = absl::StrCat(outputs != nullptr ? std::string(outputs) : ::testing::TempDir(), "/collector_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".log");
  }

  // Starts the collector binary and waits until it answers gRPC.
  std::unique_ptr<ChildProcess> StartCollector(const testing::Marketplace& m, const std::string& instance,
                                               std::vector<std::string> extra = {}) {
    auto grpc_port = marketlens::testing::PickFreePort();
    auto metrics_port = marketlens::testing::PickFreePort();
    EXPECT_THAT(grpc_port, IsOk());
    EXPECT_THAT(metrics_port, IsOk());
    grpc_port_ = *grpc_port;
    metrics_port_ = *metrics_port;
    std::vector<std::string> args = {"services/collector/collector",
                                     absl::StrCat("--grpc_port=", *grpc_port),
                                     absl::StrCat("--metrics_port=", *metrics_port),
                                     absl::StrCat("--pg_dsn=", dsn_),
                                     absl::StrCat("--redis_address=127.0.0.1:", redis_->port()),
                                     absl::StrCat("--marketplace_address=", m.address()),
                                     absl::StrCat("--instance_id=", instance),
                                     "--crawl_progress_interval=1s",
                                     "--drain_seconds=2"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<ChildProcess>(args, log_);
    stub_ = cv1::CollectorService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", *grpc_port), grpc::InsecureChannelCredentials()));
    const absl::Time until = absl::Now() + absl::Seconds(20);
    for (;;) {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
      cv1::ListCrawlsRequest req;
      cv1::ListCrawlsResponse resp;
      if (stub_->ListCrawls(&ctx, req, &resp).ok()) break;
      if (absl::Now() > until || !p->Running()) {
        ADD_FAILURE() << "collector did not come up; log:\n" << ReadFile(log_);
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return p;
  }

  grpc::Status Get(const std::string& id, cv1::Crawl* crawl) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    cv1::GetCrawlRequest req;
    req.set_crawl_id(id);
    return stub_->GetCrawl(&ctx, req, crawl);
  }

  int64_t Count(const std::string& sql) {
    auto r = pool_->Exec(sql);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  }

  // Waits until the crawl (read from Postgres) has stored at least `pages` pages.
  void WaitForPages(const std::string& id, int64_t pages) {
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (Count(absl::StrCat("SELECT pages FROM ops.crawls WHERE id = '", id, "'")) < pages) {
      ASSERT_LT(absl::Now(), until) << ReadFile(log_);
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  static PostgresServer* pg_;
  std::string dsn_;
  std::unique_ptr<postgres::PgPool> pool_;
  std::unique_ptr<marketlens::testing::RedisServer> redis_;
  std::string log_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::unique_ptr<cv1::CollectorService::Stub> stub_;
};
PostgresServer* CollectorBinaryTest::pg_ = nullptr;

TEST_F(CollectorBinaryTest, KillNineMidCrawlResumesWithNothingMissingAndNothingTwice) {
  testing::MarketplaceOptions mo;
  mo.products = 25;
  mo.service = testing::OpenService();
  auto m = testing::Marketplace::Start(mo);
  ASSERT_THAT(m, IsOk());
  const std::vector<std::string> flags = {"--crawl_page_size=20", "--marketplace_rate=150",
                                          "--marketplace_burst=1", "--crawl_lease=30s"};
  auto collector = StartCollector(**m, "collector-a", flags);

  cv1::Crawl crawl;
  {
    grpc::ClientContext ctx;
    cv1::StartCrawlRequest req;
    req.set_mode(cv1::CRAWL_MODE_FULL);
    ASSERT_THAT(stub_->StartCrawl(&ctx, req, &crawl), IsOk());
  }
  const std::string id = crawl.id();
  const mp::v1::WorldInfo info = (*m)->world().Info();
  int64_t want_pages = 0;
  for (int64_t n : {info.products(), info.reviews(), info.customers(), info.interactions(),
                    info.campaign_posts(), info.contacts()}) {
    want_pages += std::max<int64_t>(1, (n + 19) / 20);
  }
  ASSERT_GT(want_pages, 400);

  // kill -9 twice at different points; the same instance restarted takes its crawl over at once.
  WaitForPages(id, 60);
  EXPECT_EQ(collector->Kill(SIGKILL), 128 + SIGKILL);
  const int64_t at_first_kill = Count(absl::StrCat("SELECT pages FROM ops.crawls WHERE id = '", id, "'"));
  EXPECT_EQ(
      Count(absl::StrCat("SELECT count(*) FROM ops.crawls WHERE id = '", id, "' AND state = 'running'")), 1);
  collector = StartCollector(**m, "collector-a", flags);
  WaitForPages(id, at_first_kill + 120);
  EXPECT_EQ(collector->Kill(SIGKILL), 128 + SIGKILL);

  // A graceful stop releases the lease: another instance (with a 30 s lease) resumes at once.
  collector = StartCollector(**m, "collector-a", flags);
  WaitForPages(id, at_first_kill + 200);
  EXPECT_EQ(collector->Kill(SIGTERM), 0);
  const absl::Time handover = absl::Now();
  collector = StartCollector(**m, "collector-b", flags);
  for (;;) {
    ASSERT_THAT(Get(id, &crawl), IsOk());
    if (crawl.state() != cv1::CRAWL_STATE_RUNNING) break;
    ASSERT_LT(absl::Now() - handover, absl::Seconds(25)) << "the crawl did not finish; log:\n"
                                                         << ReadFile(log_);
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(crawl.state(), cv1::CRAWL_STATE_SUCCEEDED) << crawl.last_error();
  EXPECT_EQ(crawl.resumes(), 3);
  EXPECT_EQ(crawl.rate_limited(), 0);
  // Every page exactly once ...
  EXPECT_EQ(crawl.pages(), want_pages);
  int64_t items = 0;
  for (const auto& r : crawl.resources()) {
    EXPECT_TRUE(r.done()) << r.resource();
    EXPECT_EQ(r.items(), r.expected_items()) << r.resource();
    items += r.items();
  }
  EXPECT_EQ(crawl.items(), items);
  // ... every item there once, and history not doubled.
  EXPECT_EQ(Count("SELECT count(*) FROM raw.products"), info.products());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.reviews"), info.reviews());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.customers"), info.customers());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.interactions"), info.interactions());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.campaign_posts"), info.campaign_posts());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.contacts"), info.contacts());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.product_snapshots"), info.products());
  EXPECT_EQ(Count("SELECT count(*) FROM raw.review_versions"), info.reviews());
  // Each review announced (the outbox drains to the stream; at-least-once, so the stream holds at least one
  // entry per review and the outbox ends empty).
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (Count("SELECT count(*) FROM ops.review_outbox") > 0 && absl::Now() < until)
    absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Count("SELECT count(*) FROM ops.review_outbox"), 0);
  auto xlen = redis_->RawCommand("XLEN marketlens:reviews");
  ASSERT_THAT(xlen, IsOk());
  int64_t stream_length = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripPrefix(*xlen, ":"), &stream_length)) << *xlen;
  EXPECT_GE(stream_length, info.reviews());
  const std::string log = ReadFile(log_);
  EXPECT_NE(log.find("\"msg\":\"crawl resumed\""), std::string::npos);
  EXPECT_NE(log.find("\"msg\":\"crawl progress\""), std::string::npos);
  EXPECT_NE(log.find("crawl paused for shutdown"), std::string::npos);
  // The crawl's metrics on /metrics (this instance ran the last part of the crawl).
  absl::SleepFor(absl::Seconds(5.5));  // the lag gauge is refreshed every 5 s
  const std::string metrics = marketlens::testing::HttpGet(metrics_port_, "/metrics");
  for (const char* want : {"collector_crawl_pages_total{resource=\"interactions\"}",
                           "collector_crawl_items_total{resource=\"interactions\"}",
                           "collector_marketplace_requests_total{code=\"OK\",method=\"ListInteractions\"}",
                           "collector_crawl_rate_limit_waits_total", "collector_crawl_rate_limited_total 0",
                           "collector_crawl_lag_seconds{resource=\"products\"}",
                           "collector_stream_published_total", "collector_crawls_running 0"}) {
    EXPECT_NE(metrics.find(want), std::string::npos) << want << "\n" << metrics.substr(0, 3000);
  }
  EXPECT_EQ(collector->Kill(SIGTERM), 0);
}

TEST_F(CollectorBinaryTest, GrpcApiAndIngestThroughTheCli) {
  testing::MarketplaceOptions mo;
  mo.products = 5;
  mo.service = testing::OpenService();
  auto m = testing::Marketplace::Start(mo);
  ASSERT_THAT(m, IsOk());
  auto collector = StartCollector(**m, "collector-api", {"--marketplace_rate=200"});

  // Three crawls one after the other, listed newest first over two pages.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    cv1::StartCrawlRequest req;
    req.set_mode(i == 0 ? cv1::CRAWL_MODE_FULL : cv1::CRAWL_MODE_INCREMENTAL);
    req.add_resources("products");
    req.add_resources("reviews");
    cv1::Crawl crawl;
    grpc::Status s = stub_->StartCrawl(&ctx, req, &crawl);
    ASSERT_THAT(s, IsOk());
    ids.push_back(crawl.id());
    const absl::Time until = absl::Now() + absl::Seconds(20);
    while (crawl.state() == cv1::CRAWL_STATE_RUNNING || crawl.state() == cv1::CRAWL_STATE_PENDING) {
      ASSERT_LT(absl::Now(), until);
      absl::SleepFor(absl::Milliseconds(20));
      ASSERT_THAT(Get(crawl.id(), &crawl), IsOk());
    }
    EXPECT_EQ(crawl.state(), cv1::CRAWL_STATE_SUCCEEDED) << crawl.last_error();
    ASSERT_EQ(crawl.resources_size(), 2);
    if (i > 0) {
      EXPECT_TRUE(crawl.resources(0).has_since());
      EXPECT_EQ(crawl.resources(0).items(), 0);  // nothing changed
    }
  }
  cv1::ListCrawlsResponse page1, page2;
  {
    grpc::ClientContext ctx;
    cv1::ListCrawlsRequest req;
    req.set_page_size(2);
    ASSERT_THAT(stub_->ListCrawls(&ctx, req, &page1), IsOk());
  }
  ASSERT_EQ(page1.crawls_size(), 2);
  EXPECT_EQ(page1.crawls(0).id(), ids[2]);
  EXPECT_EQ(page1.crawls(1).id(), ids[1]);
  ASSERT_FALSE(page1.next_page_token().empty());
  {
    grpc::ClientContext ctx;
    cv1::ListCrawlsRequest req;
    req.set_page_size(2);
    req.set_page_token(page1.next_page_token());
    ASSERT_THAT(stub_->ListCrawls(&ctx, req, &page2), IsOk());
  }
  ASSERT_EQ(page2.crawls_size(), 1);
  EXPECT_EQ(page2.crawls(0).id(), ids[0]);
  EXPECT_TRUE(page2.next_page_token().empty());

  // Errors.
  cv1::Crawl crawl;
  EXPECT_EQ(Get("not-a-uuid", &crawl).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Get("00000000-0000-0000-0000-000000000000", &crawl).error_code(), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext ctx;
    cv1::StartCrawlRequest req;
    req.add_resources("everything");
    EXPECT_EQ(stub_->StartCrawl(&ctx, req, &crawl).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    cv1::CancelCrawlRequest req;
    req.set_crawl_id(ids[0]);
    EXPECT_EQ(stub_->CancelCrawl(&ctx, req, &crawl).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }

  // IngestFile, streamed by the CLI in chunks.
  const std::string csv = absl::StrCat(::testing::TempDir(), "/contacts.csv");
  {
    std::ofstream out(csv);
    out << "customer,date,channel,notes\nC1,2024-01-15,phone,\"long\nnote\"\nC2,2024-02-30,chat,x\n";
  }
  const std::string command = absl::StrCat(
      "services/collector/cli ingest --kind contacts --collector=127.0.0.1:", grpc_port_, " ", csv, " 2>&1");
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("line 4, column started_at"), std::string::npos) << out;
  EXPECT_TRUE(absl::EndsWith(out, "rows=2 accepted=1 rejected=1 duplicates=0\n")) << out;
  EXPECT_EQ(Count("SELECT count(*) FROM raw.contacts WHERE notes = E'long\\nnote'"), 1);
  EXPECT_EQ(collector->Kill(SIGTERM), 0);
}

TEST_F(CollectorBinaryTest, IngestFileCancelledMidStreamLeavesNothingAndTheServerStaysHealthy) {
  testing::MarketplaceOptions mo;
  mo.products = 10;
  mo.service = testing::OpenService();
  auto m = testing::Marketplace::Start(mo);
  ASSERT_THAT(m, IsOk());
  auto collector = StartCollector(**m, "ingest-cancel");
  // The collector's connections to its database (other than ours), and how many are busy.
  const std::string others =
      "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
      "AND backend_type = 'client backend'";
  auto wait_idle = [&] {
    const absl::Time until = absl::Now() + absl::Seconds(20);
    while (Count(absl::StrCat("SELECT count(*) ", others, " AND state <> 'idle'")) > 0) {
      if (absl::Now() > until) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  };
  ASSERT_TRUE(wait_idle());
  const int64_t connections_before = Count(absl::StrCat("SELECT count(*) ", others));

  for (int round = 0; round < 3; ++round) {
    const std::string filename = absl::StrCat("cancelled-", round, ".csv");
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    cv1::IngestReport report;
    auto writer = stub_->IngestFile(&ctx, &report);
    cv1::IngestFileChunk first;
    first.mutable_header()->set_kind(cv1::INGEST_KIND_CAMPAIGN_POSTS);
    first.mutable_header()->set_filename(filename);
    first.set_data("id,campaign,influencer,platform,date,caption,hashtags\n");
    ASSERT_TRUE(writer->Write(first));
    // Rows keep coming until the server has started the load, then a few more chunks, then the cancel:
    // round 0 cancels while the server waits for data, the others right after a chunk went out.
    int64_t row = 0;
    const absl::Time until = absl::Now() + absl::Seconds(20);
    int after_start = 0;
    while (after_start < 3 + round * 5) {
      cv1::IngestFileChunk chunk;
      std::string data;
      for (int i = 0; i < 2000; ++i, ++row) {
        absl::StrAppend(&data, "c", round, "-", row, ",C1,@a,tiktok,2024-01-15,hello #tag,#tag\n");
      }
      chunk.set_data(data);
      ASSERT_TRUE(writer->Write(chunk));
      if (Count(absl::StrCat("SELECT count(*) FROM ingest.files WHERE filename = '", filename, "'")) > 0) {
        ++after_start;
      }
      ASSERT_LT(absl::Now(), until) << "the server never started the ingest; log:\n" << ReadFile(log_);
    }
    if (round == 0) absl::SleepFor(absl::Milliseconds(200));  // the server has drained what was sent
    ctx.TryCancel();
    const grpc::Status st = writer->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();

    // The file is recorded as failed, never as complete, and none of its rows landed.
    const std::string status_sql =
        absl::StrCat("SELECT count(*) FROM ingest.files WHERE filename = '", filename, "' AND status = ");
    const absl::Time settle = absl::Now() + absl::Seconds(20);
    while (Count(status_sql + "'receiving'") > 0 && absl::Now() < settle)
      absl::SleepFor(absl::Milliseconds(20));
    EXPECT_EQ(Count(status_sql + "'failed'"), 1) << "round " << round;
    EXPECT_EQ(Count(status_sql + "'succeeded'"), 0) << "round " << round << ": a cut upload was committed";
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM raw.campaign_posts WHERE id LIKE 'c", round, "-%'")),
              0);
    EXPECT_EQ(
        Count(absl::StrCat("SELECT count(*) FROM ingest.rejects r JOIN ingest.files f ON f.id = r.file_id "
                           "WHERE f.filename = '",
                           filename, "'")),
        0);
  }
  // No connection left busy (no open COPY or transaction) and none leaked.
  EXPECT_TRUE(wait_idle()) << "a connection stayed busy after the cancelled uploads";
  EXPECT_LE(Count(absl::StrCat("SELECT count(*) ", others)), std::max<int64_t>(connections_before, 1) + 1);

  // The server is healthy: a whole upload afterwards lands completely.
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  cv1::IngestReport report;
  auto writer = stub_->IngestFile(&ctx, &report);
  cv1::IngestFileChunk chunk;
  chunk.mutable_header()->set_kind(cv1::INGEST_KIND_CAMPAIGN_POSTS);
  chunk.mutable_header()->set_filename("whole.csv");
  chunk.set_data(
      "id,campaign,influencer,platform,date,caption,hashtags\nw1,C1,@a,tiktok,2024-01-15,x,#a #b\n");
  ASSERT_TRUE(writer->Write(chunk));
  cv1::IngestFileChunk more;
  more.set_data("w2,C1,@b,youtube,2024-01-16,y #c,\n");
  ASSERT_TRUE(writer->Write(more));
  ASSERT_TRUE(writer->WritesDone());
  const grpc::Status st = writer->Finish();
  ASSERT_THAT(st, IsOk());
  EXPECT_EQ(report.rows(), 2);
  EXPECT_EQ(report.accepted(), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.campaign_posts WHERE id IN ('w1', 'w2')"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.campaign_posts WHERE id = 'w2' AND hashtags = '{c}'"), 1);
  EXPECT_EQ(collector->Kill(SIGTERM), 0);
}

// --max_ingest_file_bytes: a streamed file past it is refused with RESOURCE_EXHAUSTED naming the limit, a
// workbook's spool file is removed, a CSV commits nothing; a file within it is ingested.
TEST_F(CollectorBinaryTest, IngestFileLargerThanTheLimitIsRefusedAndNotSpooled) {
  testing::MarketplaceOptions mo;
  mo.products = 10;
  mo.service = testing::OpenService();
  auto m = testing::Marketplace::Start(mo);
  ASSERT_THAT(m, IsOk());
  // The collector's temporary files go to a directory of this test's own.
  const std::string spool_dir = absl::StrCat(::testing::TempDir(), "/spool");
  ASSERT_EQ(std::system(absl::StrCat("rm -rf ", spool_dir, " && mkdir -p ", spool_dir).c_str()), 0);
  const char* old_tmpdir = std::getenv("TMPDIR");
  const std::string saved = old_tmpdir != nullptr ? old_tmpdir : "";
  setenv("TMPDIR", spool_dir.c_str(), 1);
  auto collector = StartCollector(**m, "ingest-limit", {"--max_ingest_file_bytes=200000"});
  if (old_tmpdir != nullptr) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  // Files left in the spool directory.
  auto spool_files = [&] {
    return std::distance(std::filesystem::directory_iterator(spool_dir),
                         std::filesystem::directory_iterator());
  };
  // Sends `chunks` chunks of `size` bytes (the first starting with `start`) as one IngestFile call.
  auto send = [&](cv1::IngestKind kind, const std::string& filename, const std::string& start, int chunks,
                  size_t size, cv1::IngestReport* report) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    auto writer = stub_->IngestFile(&ctx, report);
    cv1::IngestFileChunk first;
    first.mutable_header()->set_kind(kind);
    first.mutable_header()->set_filename(filename);
    first.set_data(start);
    bool ok = writer->Write(first);
    for (int i = 0; ok && i < chunks; ++i) {
      cv1::IngestFileChunk chunk;
      std::string data;
      while (data.size() < size)
        absl::StrAppend(&data, filename, "-", i, "-", data.size(), ",C1,@a,tiktok,2024-01-15,x,#t\n");
      chunk.set_data(data);
      ok = writer->Write(chunk);
    }
    writer->WritesDone();
    return writer->Finish();
  };

  // A workbook (a zip: spooled before it is read), 300 kB.
  cv1::IngestReport report;
  grpc::Status st =
      send(cv1::INGEST_KIND_UNSPECIFIED, "big.xlsx", std::string("PK\x03\x04", 4), 3, 100000, &report);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("larger than 200000 bytes"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("--max_ingest_file_bytes"), std::string::npos) << st.error_message();
  EXPECT_EQ(spool_files(), 0) << "the spooled upload was left in " << spool_dir;

  // A CSV of a known kind (parsed as it streams): refused the same way, nothing committed.
  st = send(cv1::INGEST_KIND_CAMPAIGN_POSTS, "big.csv",
            "id,campaign,influencer,platform,date,caption,hashtags\n", 3, 100000, &report);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("--max_ingest_file_bytes"), std::string::npos) << st.error_message();
  EXPECT_EQ(Count("SELECT count(*) FROM raw.campaign_posts WHERE id LIKE 'big.csv-%'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM ingest.files WHERE filename = 'big.csv' AND status = 'succeeded'"),
            0);
  EXPECT_EQ(spool_files(), 0);

  // Within the limit: ingested.
  st = send(cv1::INGEST_KIND_CAMPAIGN_POSTS, "small.csv",
            "id,campaign,influencer,platform,date,caption,hashtags\n", 1, 100000, &report);
  ASSERT_THAT(st, IsOk());
  EXPECT_GT(report.accepted(), 1000);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.campaign_posts WHERE id LIKE 'small.csv-%'"), report.accepted());
  EXPECT_EQ(collector->Kill(SIGTERM), 0);
}

}  // namespace
}  // namespace marketlens::collector
