// POST /api/v1/ingest: a file uploaded over REST, sent on to the collector's IngestFile (a client-streaming
// RPC, which the JSON transcoder cannot serve), answering the collector's IngestReport as JSON.
//
//   POST /api/v1/ingest?kind=contacts&sheet=External%20interactions%3Dcontacts&date_order=dmy&filename=x.csv
//   Content-Type: text/csv | application/vnd.openxmlformats-officedocument.spreadsheetml.sheet |
//                 application/octet-stream | multipart/form-data (the first file part)
//   -> 200 {"fileId":..., "rows":..., "accepted":..., "rejected":..., "rejects":[...], "sheets":[...]}
//
// Every query parameter is optional: without `kind` the collector tells the kind from the header (of each
// sheet). 413 past HttpServerOptions::upload_max_body_bytes (the HTTP server refuses it before the handler
// runs), 415 for any other content type, 400 for a bad parameter or file, 503 when the collector is down or
// max_concurrent uploads are already running.
//
// Why a thread per upload: the gateway's event loops never block, but a client stream written from a
// callback is much more code than these rare, large requests deserve; the uploads in flight are bounded.
// The body is held by the gateway (up to the upload limit) and streamed to the collector in chunks, so the
// collector parses it as it arrives (CSV) or spools it (a workbook).
#ifndef MARKETLENS_SERVICES_GATEWAY_INGEST_UPLOAD_H_
#define MARKETLENS_SERVICES_GATEWAY_INGEST_UPLOAD_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/gateway/api_error.h"
#include "services/gateway/http_server.h"

namespace marketlens::gateway {

inline constexpr char kIngestPath[] = "/api/v1/ingest";

struct IngestUploadOptions {
  int max_concurrent = 4;
  absl::Duration timeout = absl::Minutes(10);
  size_t chunk_bytes = 1 << 20;
};

// The file inside a request body: the body itself, or the first part with a filename (else the first part)
// of a multipart/form-data body. 415 for other content types, 400 for a malformed multipart body.
struct UploadedFile {
  absl::string_view data;
  std::string filename;
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
  std::shared_ptr<grpc::Channel> collector_;
  const IngestUploadOptions options_;
  std::atomic<int> in_flight_{0};
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_INGEST_UPLOAD_H_
