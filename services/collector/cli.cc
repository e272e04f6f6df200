// The collector's command line.
//
//   cli ingest [--kind KIND] [--sheet "NAME=KIND"]... [--date_order auto|dmy|mdy] [--json]
//              [--dsn DSN | --collector HOST:PORT] FILE
//       Ingests a CSV file or an .xlsx workbook straight into Postgres (--dsn, the default) or through a
//       running collector's IngestFile RPC (--collector). Without --kind, the kind comes from the header (of
//       each sheet). Lists the rejected rows and notes on stderr and ends with the summary line
//       "rows=N accepted=A rejected=R duplicates=D" for CSV, one line per sheet for a workbook
//       ('sheet="Customers" kind=customers rows=N ...'), or the report as one JSON object with --json.
//   cli crawl start [--mode full|incremental] [--resources products,reviews,...] [--wait]
//   cli crawl get CRAWL_ID | crawl list [--limit N] | crawl cancel CRAWL_ID   [--collector HOST:PORT]
//   [--json]
//       Talk to a running collector over gRPC.
//   cli retention --retention_days=N [--dsn DSN] [--json]
//       Deletes raw contacts and interactions older than N days (docs/privacy.md; run daily by the
//       retention CronJob and the local stack). Prints "contacts=C interactions=I" (counts deleted).
//
// Exit codes: 0 done, 1 failed, 2 usage error.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config/secret.h"
#include "common/logging/log.h"
#include "common/postgres/pool.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/collector/ingest.h"
#include "services/collector/person_data.h"
#include "services/collector/workbook_ingest.h"

ABSL_FLAG(std::string, kind, "",
          "ingest: campaign_posts, contacts, interactions, customers or discussed_products (empty: from the "
          "header)");
ABSL_FLAG(std::vector<std::string>, sheet, {},
          "ingest: NAME=KIND for a workbook sheet (comma-separated or repeated); other sheets go by header");
ABSL_FLAG(std::string, date_order, "auto",
          "ingest: day/month order of dates like 04/10/2019: auto (inferred from the file), dmy or mdy");
ABSL_FLAG(bool, json, false, "print the result as JSON");
ABSL_FLAG(std::string, dsn, "host=127.0.0.1 port=55432 dbname=marketlens user=marketlens",
          "ingest: libpq connection string (password from PGPASSWORD or ~/.pgpass)");
ABSL_FLAG(std::string, collector, "",
          "address of a running collector (ingest: use its IngestFile RPC instead of --dsn; crawl: default "
          "127.0.0.1:50052)");
ABSL_FLAG(std::string, mode, "incremental", "crawl start: full or incremental");
ABSL_FLAG(std::string, resources, "", "crawl start: comma-separated resources (empty: all)");
ABSL_FLAG(bool, wait, false, "crawl start: wait until the crawl ends, printing progress");
ABSL_FLAG(int, limit, 20, "crawl list: how many");
ABSL_FLAG(
    std::string, pg_password_file, "",
    "retention: file holding the Postgres password (a mounted Secret; default $MARKETLENS_PG_PASSWORD_FILE, "
    "else PGPASSWORD)");
ABSL_FLAG(int, retention_days, 0,
          "retention: raw contacts and interactions older than this many days are deleted");
ABSL_FLAG(std::string, log_level, "warning", "library log level (debug, info, warning, error)");

namespace {

namespace v1 = ::marketlens::collector::v1;
using ::marketlens::collector::IngestResult;

int Usage(const std::string& problem) {
  std::cerr << "collector cli: " << problem << "\n"
            << "usage:\n"
            << "  cli ingest [--kind KIND] [--sheet NAME=KIND] [--date_order auto|dmy|mdy] [--json] "
               "[--dsn DSN | --collector ADDR] FILE.csv|FILE.xlsx\n"
            << "  cli crawl start [--mode full|incremental] [--resources a,b] [--wait] [--collector ADDR]\n"
            << "  cli crawl get ID | cli crawl list [--limit N] | cli crawl cancel ID\n"
            << "  cli retention --retention_days=N [--dsn DSN] [--json]\n";
  return 2;
}

void PrintRejects(const IngestResult& r) {
  for (const auto& reject : r.rejects) {
    std::cerr << "line " << reject.line << (reject.column.empty() ? "" : ", column " + reject.column) << ": "
              << reject.reason << "\n";
  }
  if (r.rejected > static_cast<int64_t>(r.rejects.size())) {
    std::cerr << "... and " << (r.rejected - static_cast<int64_t>(r.rejects.size()))
              << " more rejected rows (all are in ingest.rejects, file_id " << r.file_id << ")\n";
  }
  if (!r.ignored_columns.empty()) {
    std::cerr << "ignored columns: " << absl::StrJoin(r.ignored_columns, ", ") << "\n";
  }
  for (const std::string& note : r.notes) std::cerr << "note: " << note << "\n";
}

IngestResult FromReport(const v1::IngestReport& report) {
  IngestResult r;
  r.file_id = report.file_id();
  r.rows = report.rows();
  r.accepted = report.accepted();
  r.rejected = report.rejected();
  r.duplicates = report.duplicates();
  r.bytes = report.bytes();
  r.sha256 = report.sha256();
  for (const auto& c : report.ignored_columns()) r.ignored_columns.push_back(c);
  for (const auto& reject : report.rejects())
    r.rejects.push_back({reject.line(), reject.column(), reject.reason()});
  r.kind = report.kind();
  r.sheet = report.sheet();
  for (const auto& n : report.notes()) r.notes.push_back(n);
  return r;
}

v1::IngestKind KindEnum(const std::string& kind) {
  if (kind == "campaign_posts") return v1::INGEST_KIND_CAMPAIGN_POSTS;
  if (kind == "contacts") return v1::INGEST_KIND_CONTACTS;
  if (kind == "interactions") return v1::INGEST_KIND_INTERACTIONS;
  if (kind == "customers") return v1::INGEST_KIND_CUSTOMERS;
  if (kind == "discussed_products") return v1::INGEST_KIND_DISCUSSED_PRODUCTS;
  return v1::INGEST_KIND_UNSPECIFIED;
}

int Ingest(const std::vector<std::string>& args) {
  namespace mc = ::marketlens::collector;
  if (args.size() != 1) return Usage("ingest takes exactly one FILE");
  const std::string kind = absl::GetFlag(FLAGS_kind);
  if (!kind.empty() && mc::FindKind(kind) == nullptr) {
    return Usage(absl::StrCat("--kind must be one of ", absl::StrJoin(mc::KindNames(), ", ")));
  }
  mc::WorkbookOptions options;
  options.kind = kind;
  for (const std::string& mapping : absl::GetFlag(FLAGS_sheet)) {
    if (absl::Status st = mc::ParseSheetMapping(mapping, &options.sheet_kinds); !st.ok()) {
      return Usage(std::string(st.message()));
    }
  }
  auto order = mc::ParseDayMonthOrder(absl::GetFlag(FLAGS_date_order));
  if (!order.ok()) return Usage(std::string(order.status().message()));
  options.ingest.dates.order = *order;
  // `bazel run` starts us in the runfiles tree: a relative path means relative to where the user was.
  std::string path = args[0];
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
      cwd != nullptr && !path.empty() && path[0] != '/') {
    path = absl::StrCat(cwd, "/", path);
  }
  const std::string filename = path.substr(path.find_last_of('/') + 1);
  mc::ChunkSource source = mc::FileChunkSource(path);
  absl::StatusOr<std::vector<mc::SheetOutcome>> outcomes;
  const absl::Time start = absl::Now();
  if (!absl::GetFlag(FLAGS_collector).empty()) {
    auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_collector), grpc::InsecureChannelCredentials());
    auto stub = v1::CollectorService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::hours(1));
    v1::IngestReport report;
    auto writer = stub->IngestFile(&context, &report);
    v1::IngestFileChunk first;
    first.mutable_header()->set_kind(KindEnum(kind));
    first.mutable_header()->set_filename(filename);
    first.mutable_header()->set_date_order(absl::GetFlag(FLAGS_date_order));
    for (const std::string& mapping : absl::GetFlag(FLAGS_sheet)) first.mutable_header()->add_sheets(mapping);
    bool ok = writer->Write(first);
    std::string chunk;
    absl::Status read_status;
    while (ok) {
      absl::StatusOr<bool> more = source(&chunk);
      if (!more.ok()) {
        read_status = more.status();
        context.TryCancel();
        break;
      }
      if (!*more) break;
      v1::IngestFileChunk data;
      data.set_data(chunk);
      ok = writer->Write(data);
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!read_status.ok()) {
      outcomes = read_status;
    } else if (!status.ok()) {
      outcomes = absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    } else {
      outcomes.emplace();
      if (report.sheets().empty()) {
        outcomes->push_back({"", FromReport(report)});
      } else {
        for (const auto& sheet : report.sheets()) outcomes->push_back({sheet.sheet(), FromReport(sheet)});
      }
      for (const auto& skipped : report.skipped_sheets()) std::cerr << skipped << "\n";
    }
  } else {
    auto pool = marketlens::postgres::PgPool::Create(
        {.dsn = absl::GetFlag(FLAGS_dsn), .max_size = 2, .application_name = "collector-cli"});
    if (!pool.ok()) {
      std::cerr << "collector cli: " << pool.status() << "\n";
      return 1;
    }
    outcomes = mc::IngestUploadedFile(**pool, path, filename, options);
  }
  if (outcomes.ok() && outcomes->size() == 1 && !(*outcomes)[0].result.ok()) {
    outcomes = (*outcomes)[0].result.status();
  }
  if (!outcomes.ok()) {
    std::cerr << "collector cli: ingest failed: " << outcomes.status() << "\n";
    if (absl::GetFlag(FLAGS_json)) {
      const nlohmann::ordered_json error = {{"error",
                                             {{"code", absl::StatusCodeToString(outcomes.status().code())},
                                              {"message", outcomes.status().message()}}}};
      std::cout << error.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    }
    return 1;
  }
  bool failed = false;
  for (mc::SheetOutcome& o : *outcomes) {
    if (o.result.ok()) {
      o.result->elapsed = absl::Now() - start;
      if (!o.sheet.empty()) std::cerr << "sheet \"" << o.sheet << "\":\n";
      PrintRejects(*o.result);
    } else {
      failed |= !o.skipped;
    }
  }
  if (absl::GetFlag(FLAGS_json)) {
    if (outcomes->size() == 1 && (*outcomes)[0].sheet.empty()) {
      std::cout << (*outcomes)[0].result->Json() << "\n";
    } else {
      std::cout << mc::OutcomesJson(*outcomes) << "\n";
    }
  } else {
    for (const mc::SheetOutcome& o : *outcomes) {
      std::cout << (o.sheet.empty() && o.result.ok() ? o.result->Summary() : o.Line()) << "\n";
    }
  }
  return failed ? 1 : 0;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

std::string StateName(v1::CrawlState s) {
  std::string name = v1::CrawlState_Name(s);
  return absl::AsciiStrToLower(absl::StripPrefix(name, "CRAWL_STATE_"));
}

std::string Describe(const v1::Crawl& c) {
  std::string out = absl::StrCat(c.id(), " ", StateName(c.state()),
                                 " mode=", c.mode() == v1::CRAWL_MODE_FULL ? "full" : "incremental",
                                 " pages=", c.pages(), " items=", c.items(), " retries=", c.retries(),
                                 " errors=", c.errors(), " rate_limited=", c.rate_limited());
  if (c.eta_seconds() >= 0 && c.state() == v1::CRAWL_STATE_RUNNING)
    absl::StrAppend(&out, " eta=", c.eta_seconds(), "s");
  if (!c.last_error().empty()) absl::StrAppend(&out, " last_error=\"", c.last_error(), "\"");
  return out;
}

int Fail(const grpc::Status& s) {
  std::cerr << "collector cli: " << s.error_code() << ": " << s.error_message() << "\n";
  return 1;
}

int Crawl(const std::vector<std::string>& args) {
  if (args.empty()) return Usage("crawl needs a subcommand: start, get, list or cancel");
  std::string address = absl::GetFlag(FLAGS_collector);
  if (address.empty()) address = "127.0.0.1:50052";
  auto stub = v1::CollectorService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  const bool json = absl::GetFlag(FLAGS_json);
  auto call = [](grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  };
  const std::string& sub = args[0];
  auto print = [&](const v1::Crawl& c) { std::cout << (json ? ToJson(c) : Describe(c)) << "\n"; };
  if (sub == "start") {
    v1::StartCrawlRequest request;
    const std::string mode = absl::GetFlag(FLAGS_mode);
    if (mode == "full") {
      request.set_mode(v1::CRAWL_MODE_FULL);
    } else if (mode == "incremental") {
      request.set_mode(v1::CRAWL_MODE_INCREMENTAL);
    } else {
      return Usage("--mode must be full or incremental");
    }
    for (absl::string_view r : absl::StrSplit(absl::GetFlag(FLAGS_resources), ',', absl::SkipEmpty())) {
      request.add_resources(std::string(r));
    }
    v1::Crawl crawl;
    grpc::ClientContext ctx;
    call(&ctx);
    if (auto s = stub->StartCrawl(&ctx, request, &crawl); !s.ok()) return Fail(s);
    print(crawl);
    if (!absl::GetFlag(FLAGS_wait)) return 0;
    for (;;) {
      absl::SleepFor(absl::Seconds(2));
      v1::GetCrawlRequest get;
      get.set_crawl_id(crawl.id());
      grpc::ClientContext gctx;
      call(&gctx);
      if (auto s = stub->GetCrawl(&gctx, get, &crawl); !s.ok()) return Fail(s);
      if (!json) std::cerr << Describe(crawl) << "\n";
      if (crawl.state() != v1::CRAWL_STATE_RUNNING && crawl.state() != v1::CRAWL_STATE_PENDING) break;
    }
    print(crawl);
    return crawl.state() == v1::CRAWL_STATE_SUCCEEDED ? 0 : 1;
  }
  if (sub == "get" || sub == "cancel") {
    if (args.size() != 2) return Usage(absl::StrCat("crawl ", sub, " takes a CRAWL_ID"));
    v1::Crawl crawl;
    grpc::ClientContext ctx;
    call(&ctx);
    grpc::Status s;
    if (sub == "get") {
      v1::GetCrawlRequest request;
      request.set_crawl_id(args[1]);
      s = stub->GetCrawl(&ctx, request, &crawl);
    } else {
      v1::CancelCrawlRequest request;
      request.set_crawl_id(args[1]);
      s = stub->CancelCrawl(&ctx, request, &crawl);
    }
    if (!s.ok()) return Fail(s);
    print(crawl);
    return 0;
  }
  if (sub == "list") {
    v1::ListCrawlsRequest request;
    request.set_page_size(absl::GetFlag(FLAGS_limit));
    v1::ListCrawlsResponse response;
    grpc::ClientContext ctx;
    call(&ctx);
    if (auto s = stub->ListCrawls(&ctx, request, &response); !s.ok()) return Fail(s);
    if (json) {
      std::cout << ToJson(response) << "\n";
    } else {
      for (const auto& c : response.crawls()) print(c);
    }
    return 0;
  }
  return Usage(absl::StrCat("unknown crawl subcommand '", sub, "'"));
}

int Retention(const std::vector<std::string>& args) {
  if (!args.empty()) return Usage("retention takes no arguments");
  const int days = absl::GetFlag(FLAGS_retention_days);
  if (days < 1 || days > 36500) return Usage("--retention_days must be 1..36500");
  std::string password_file = absl::GetFlag(FLAGS_pg_password_file);
  if (const char* env = std::getenv("MARKETLENS_PG_PASSWORD_FILE"); password_file.empty() && env != nullptr) {
    password_file = env;
  }
  if (!password_file.empty()) {
    // libpq reads PGPASSWORD: the password never appears in a connection string or a log line.
    auto password = marketlens::config::ReadSecret("", password_file, "pg_password");
    if (!password.ok()) {
      std::cerr << "collector cli: " << password.status() << "\n";
      return 1;
    }
    if (!password->empty()) ::setenv("PGPASSWORD", password->c_str(), 1);
  }
  auto pool = marketlens::postgres::PgPool::Create(
      {.dsn = absl::GetFlag(FLAGS_dsn), .max_size = 1, .application_name = "collector-cli"});
  if (!pool.ok()) {
    std::cerr << "collector cli: " << pool.status() << "\n";
    return 1;
  }
  auto done = marketlens::collector::EnforceRetention(**pool, absl::Hours(24) * days);
  if (!done.ok()) {
    std::cerr << "collector cli: retention: " << done.status() << "\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_json)) {
    const nlohmann::ordered_json line = {
        {"retention_days", days}, {"contacts", done->contacts}, {"interactions", done->interactions}};
    std::cout << line.dump() << "\n";
  } else {
    std::cout << "contacts=" << done->contacts << " interactions=" << done->interactions << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("collector cli: ingest CSV files, start and watch crawls");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  marketlens::logging::SetServiceName("collector-cli");
  (void)marketlens::logging::SetMinLevelFromString(absl::GetFlag(FLAGS_log_level));
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) return Usage("missing command");
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "ingest") return Ingest(args);
  if (command == "crawl") return Crawl(args);
  if (command == "retention") return Retention(args);
  return Usage(absl::StrCat("unknown command '", command, "'"));
}
