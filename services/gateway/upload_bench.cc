// What a REST upload costs the gateway in memory and time (bench/gateway_upload_bench.sh): POST
// /api/v1/ingest of an --mib MiB CSV body through the gateway (GatewayStack, in this process) to a stand-in
// collector (in this process) whose IngestFile reads and drops the chunks. The gateway's peak RSS growth
// during the upload is measured with the body streamed (IngestUploadOptions::stream, the default) and, as
// the baseline, read whole before the call (how uploads worked before streaming). Each mode runs in a child
// process of its own (a clean peak: VmHWM after clear_refs); --mode=both (the default) runs the two and
// prints the "figure:" lines. Target: the streamed peak stays under 16 MiB whatever the file's size.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "grpcpp/grpcpp.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "services/gateway/gateway_stack.h"
#include "services/gateway/test_http_client.h"

ABSL_FLAG(int, mib, 256, "size of the uploaded body");
ABSL_FLAG(std::string, mode, "both", "streamed, buffered, or both (each in a child process)");

namespace {

namespace cv1 = ::marketlens::collector::v1;
using marketlens::gateway::GatewayStack;
using marketlens::gateway::GatewayStackOptions;

// Reads the chunks and drops them (the collector would parse or spool them).
class DroppingCollector final : public cv1::CollectorService::Service {
 public:
  grpc::Status IngestFile(grpc::ServerContext*, grpc::ServerReader<cv1::IngestFileChunk>* reader,
                          cv1::IngestReport* report) override {
    cv1::IngestFileChunk chunk;
    int64_t bytes = 0;
    while (reader->Read(&chunk)) bytes += static_cast<int64_t>(chunk.data().size());
    report->set_bytes(bytes);
    report->set_kind("campaign_posts");
    return grpc::Status::OK;
  }
};

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM").
int64_t StatusKib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    int64_t kib = 0;
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib;
  }
  return -1;
}

// One upload in this process; prints "result: peak_growth_mib=... seconds=...".
int RunOne(bool streamed, int mib) {
  DroppingCollector collector;
  grpc::ServerBuilder builder;
  int collector_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &collector_port);
  builder.RegisterService(&collector);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return 1;

  GatewayStackOptions o;
  o.http.host = "127.0.0.1";
  o.http.port = 0;
  o.http.upload_max_body_bytes = static_cast<size_t>(mib + 1) << 20;
  o.gateway.require_api_key = false;
  o.gateway.access_log = false;
  o.cache_ttl = absl::ZeroDuration();
  o.uploads.stream = streamed;
  o.backends = {{"marketlens.collector.v1.CollectorService", absl::StrCat("127.0.0.1:", collector_port)},
                {"marketlens.analyzer.v1.AnalyzerService", "127.0.0.1:1"},
                {"marketlens.recommender.v1.RecommenderService", "127.0.0.1:1"}};
  auto stack = GatewayStack::Start(o, nullptr, nullptr);
  if (!stack.ok()) {
    std::fprintf(stderr, "gateway: %s\n", stack.status().ToString().c_str());
    return 1;
  }
  const int port = (*stack)->http_port();
  std::string block;
  while (block.size() < (1 << 20)) block += "c1-123456,C1,@someone,tiktok,2024-01-15,a caption #tag,#tag\n";
  block.resize(1 << 20);
  // Warm up (threads, channels, allocator) with a small upload, then measure from here.
  auto upload = [&](int blocks) -> bool {
    auto c = marketlens::gateway::testing::TestConnection::Connect(port);
    if (!c.ok()) return false;
    if (!c->Send(absl::StrCat("POST /api/v1/ingest?kind=campaign_posts HTTP/1.1\r\nHost: x\r\n"
                              "Content-Type: text/csv\r\nContent-Length: ",
                              static_cast<size_t>(blocks) << 20, "\r\n\r\n"))
             .ok()) {
      return false;
    }
    for (int i = 0; i < blocks; ++i) {
      if (!c->Send(block).ok()) return false;
    }
    auto r = c->ReadResponse(absl::Minutes(5));
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "upload: %s\n", r.ok() ? r->body.c_str() : r.status().ToString().c_str());
      return false;
    }
    return true;
  };
  if (!upload(2)) return 1;
  { std::ofstream("/proc/self/clear_refs") << "5"; }  // resets VmHWM to the current RSS
  const int64_t before = StatusKib("VmRSS");
  const absl::Time start = absl::Now();
  if (!upload(mib)) return 1;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const int64_t peak = StatusKib("VmHWM");
  std::printf("result: peak_growth_mib=%.1f seconds=%.3f\n", (peak - before) / 1024.0, seconds);
  (*stack)->Stop(absl::Seconds(2));
  server->Shutdown();
  return 0;
}

// Runs this binary with --mode=MODE; returns its result line's numbers.
bool RunChild(const std::string& mode, int mib, double* peak_mib, double* seconds) {
  const std::string cmd = absl::StrCat("/proc/", getpid(), "/exe --mode=", mode, " --mib=", mib);
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return false;
  char line[512];
  bool found = false;
  while (std::fgets(line, sizeof line, p) != nullptr) {
    found |= std::sscanf(line, "result: peak_growth_mib=%lf seconds=%lf", peak_mib, seconds) == 2;
  }
  return pclose(p) == 0 && found;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  marketlens::logging::SetMinLevel(marketlens::logging::Level::kWarning);
  const int mib = absl::GetFlag(FLAGS_mib);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "streamed" || mode == "buffered") return RunOne(mode == "streamed", mib);
  double streamed_peak = 0, streamed_s = 0, buffered_peak = 0, buffered_s = 0;
  if (!RunChild("streamed", mib, &streamed_peak, &streamed_s) ||
      !RunChild("buffered", mib, &buffered_peak, &buffered_s)) {
    std::fprintf(stderr, "an upload failed\n");
    return 1;
  }
  std::printf("upload of %d MiB: streamed peak RSS growth %.1f MiB in %.2f s; buffered %.1f MiB in %.2f s\n",
              mib, streamed_peak, streamed_s, buffered_peak, buffered_s);
  std::printf(
      "figure: name=gateway_upload_%dmib_peak_rss_growth value=%.1f unit=MiB target=<16 "
      "baseline=gateway_upload_buffered baseline_value=%.1f\n",
      mib, streamed_peak, buffered_peak);
  std::printf(
      "figure: name=gateway_upload_%dmib_throughput value=%.1f unit=MiB/s target=- "
      "baseline=gateway_upload_buffered baseline_value=%.1f\n",
      mib, mib / streamed_s, mib / buffered_s);
  return 0;
}
