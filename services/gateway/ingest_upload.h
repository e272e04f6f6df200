// POST /api/v1/ingest: a file uploaded over REST, sent on to the collector's IngestFile (a client-streaming
// RPC, which the JSON transcoder cannot serve), answering the collector's IngestReport as JSON.
//
//   POST /api/v1/ingest?kind=contacts&sheet=External%20interactions%3Dcontacts&date_order=dmy&filename=x.csv
//   Content-Type: text/csv | application/vnd.openxmlformats-officedocument.spreadsheetml.sheet |
//                 application/octet-stream | multipart/form-data (the first file part)
//   -> 200 {"fileId":..., "rows":..., "accepted":..., "rejected":..., "rejects":[...], "sheets":[...]}
//
// Every query parameter is optional: without `kind` the collector tells the kind from the header (of each
// sheet). 413 past HttpServerOptions::upload_max_body_bytes (at once from a Content-Length, or mid-stream),
// 415 for any other content type, 400 for a bad parameter or file, 503 when the collector is down or
// max_concurrent uploads are already running.
//
// Streaming: with HttpServerOptions::stream_uploads (the gateway sets it) the body is read from the socket
// as the collector's stream takes it (HttpBodyStream: one piece of chunk_bytes at a time, gRPC flow control
// blocking the next read), so the gateway holds a few MiB whatever the file's size and the collector parses
// a CSV while it arrives. A multipart body is streamed too: MultipartFileStream strips the part boundaries
// on the fly. If the body fails mid-way (past the limit: 413; the client went away; too slow) or the client
// disconnects while the collector works, the IngestFile call is cancelled: the collector rolls the load back
// and marks the file failed, so nothing of a cut upload is committed. A request with its body read whole
// (stream_uploads off, or a test's request) is sent the same way.
//
// Why a thread per upload: the gateway's event loops never block, but a client stream written from a
// callback is much more code than these rare, large requests deserve; the uploads in flight are bounded.
#ifndef MARKETLENS_SERVICES_GATEWAY_INGEST_UPLOAD_H_
#define MARKETLENS_SERVICES_GATEWAY_INGEST_UPLOAD_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "services/gateway/api_error.h"
#include "services/gateway/http_server.h"

namespace marketlens::gateway {

inline constexpr char kIngestPath[] = "/api/v1/ingest";

struct IngestUploadOptions {
  int max_concurrent = 4;
  absl::Duration timeout = absl::Minutes(10);
  size_t chunk_bytes = 1 << 20;
  // The body is streamed from the socket (HttpServerOptions::stream_uploads, set by GatewayStack). false:
  // read whole before the call, as before streaming (the baseline of bench/gateway_upload_bench.sh).
  bool stream = true;
};

// The file inside a multipart/form-data body, taken out as the body streams in: the first part with a
// filename, else the first part. Parts before the file part are held (the first one, in case no part has a
// filename); the file part's bytes go out as they come, but for the last boundary's length held back.
class MultipartFileStream {
 public:
  explicit MultipartFileStream(std::string boundary);
  // Appends the file's bytes found in `in` to *out. INVALID_ARGUMENT for a malformed body.
  absl::Status Feed(absl::string_view in, std::string* out);
  // At the body's end: the rest of the file (the first part's data when no part has a filename).
  // INVALID_ARGUMENT when no complete part was found.
  absl::Status Finish(std::string* out);
  // The file part's filename, once its headers are read ("" for none).
  const std::string& filename() const { return filename_; }
  bool file_started() const { return file_started_; }

 private:
  enum class State { kPreamble, kPartHeaders, kData, kEnd };
  absl::Status Step(std::string* out, bool* progressed);

  const std::string delimiter_;       // "--boundary"
  const std::string data_delimiter_;  // "\r\n--boundary"
  std::string buffer_;                // input not consumed yet
  State state_ = State::kPreamble;
  int part_ = -1;              // the part being read
  bool file_started_ = false;  // the file part (a filename) was found
  bool current_is_file_ = false;
  bool first_part_complete_ = false;
  std::string held_;  // the first part's data, while no part with a filename has come
  std::string filename_;
};

// The file inside a request body read whole: the body itself, or the first part with a filename (else the
// first part) of a multipart/form-data body. 415 for other content types, 400 for a malformed multipart body.
struct UploadedFile {
  absl::string_view data;  // the body itself, or `storage`
  std::string filename;
  std::string storage;
};
std::optional<ApiError> ExtractUploadedFile(absl::string_view content_type, absl::string_view body,
                                            UploadedFile* out);

class IngestUploader {
 public:
  IngestUploader(std::shared_ptr<grpc::Channel> collector, IngestUploadOptions options = {});
  ~IngestUploader();

  // Answers through `done` exactly once: (200, report JSON) or an ApiError. Runs the call on its own thread.
  using Done = std::function<void(int status, std::string json, std::optional<ApiError> error)>;
  void Upload(HttpRequest request, const std::string& request_id, Done done);

  int in_flight() const { return in_flight_.load(); }

 private:
  std::optional<ApiError> Send(const HttpRequest& request, bool multipart, const std::string& boundary,
                               ::marketlens::collector::v1::IngestFileChunk first,
                               const std::string& query_filename, const std::string& request_id, Done* done);

  std::shared_ptr<grpc::Channel> collector_;
  const IngestUploadOptions options_;
  std::atomic<int> in_flight_{0};
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_INGEST_UPLOAD_H_
