#include "services/gateway/ingest_upload.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/logging/log.h"
#include "google/protobuf/util/json_util.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "services/gateway/request_binder.h"

namespace marketlens::gateway {
namespace {

namespace cv1 = ::marketlens::collector::v1;

std::string MediaType(absl::string_view content_type) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
}

// A parameter of a header value: boundary=..., filename="..."; "" when absent.
std::string HeaderParam(absl::string_view value, absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(value);
  size_t at = 0;
  while ((at = lower.find(absl::StrCat(name, "="), at)) != std::string::npos) {
    if (at == 0 || lower[at - 1] == ';' || lower[at - 1] == ' ') break;
    ++at;
  }
  if (at == std::string::npos) return "";
  absl::string_view rest = value.substr(at + name.size() + 1);
  if (absl::ConsumePrefix(&rest, "\"")) return std::string(rest.substr(0, rest.find('"')));
  return std::string(absl::StripAsciiWhitespace(rest.substr(0, rest.find(';'))));
}

ApiError Unsupported(absl::string_view content_type) {
  ApiError e =
      MakeError(absl::StatusCode::kInvalidArgument,
                absl::StrCat("unsupported Content-Type \"", SanitizeUtf8(content_type.substr(0, 100)),
                             "\": send the file as text/csv, an .xlsx workbook "
                             "(application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), "
                             "application/octet-stream or multipart/form-data"),
                "content_type");
  e.http_status = 415;
  return e;
}

cv1::IngestKind KindEnum(absl::string_view kind) {
  if (kind == "campaign_posts") return cv1::INGEST_KIND_CAMPAIGN_POSTS;
  if (kind == "contacts") return cv1::INGEST_KIND_CONTACTS;
  if (kind == "interactions") return cv1::INGEST_KIND_INTERACTIONS;
  if (kind == "customers") return cv1::INGEST_KIND_CUSTOMERS;
  if (kind == "discussed_products") return cv1::INGEST_KIND_DISCUSSED_PRODUCTS;
  return cv1::INGEST_KIND_UNSPECIFIED;
}

}  // namespace

std::optional<ApiError> ExtractUploadedFile(absl::string_view content_type, absl::string_view body,
                                            UploadedFile* out) {
  const std::string media = MediaType(content_type);
  static const char* const kWhole[] = {"text/csv",
                                       "application/csv",
                                       "text/plain",
                                       "text/tab-separated-values",
                                       "application/vnd.ms-excel",  // what browsers call a .csv on Windows
                                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                       "application/octet-stream"};
  if (media.empty()) {
    out->data = body;
    return std::nullopt;
  }
  for (const char* m : kWhole) {
    if (media == m) {
      out->data = body;
      return std::nullopt;
    }
  }
  if (media != "multipart/form-data") return Unsupported(content_type);
  const std::string boundary = HeaderParam(content_type, "boundary");
  if (boundary.empty()) {
    return MakeError(absl::StatusCode::kInvalidArgument, "multipart/form-data without a boundary",
                     "content_type");
  }
  const std::string delimiter = absl::StrCat("--", boundary);
  size_t pos = body.find(delimiter);
  std::optional<UploadedFile> first;
  while (pos != absl::string_view::npos) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // the closing delimiter
    const size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == absl::string_view::npos) break;
    const absl::string_view headers = body.substr(pos, headers_end - pos);
    const size_t data_start = headers_end + 4;
    const size_t next = body.find(absl::StrCat("\r\n", delimiter), data_start);
    if (next == absl::string_view::npos) break;
    UploadedFile part{body.substr(data_start, next - data_start), ""};
    for (absl::string_view line : absl::StrSplit(headers, "\r\n")) {
      if (absl::StartsWithIgnoreCase(line, "content-disposition:"))
        part.filename = HeaderParam(line, "filename");
    }
    if (!part.filename.empty()) {
      *out = part;
      return std::nullopt;
    }
    if (!first.has_value()) first = part;
    pos = next + 2;
  }
  if (!first.has_value()) {
    return MakeError(absl::StatusCode::kInvalidArgument, "malformed multipart/form-data body: no part found",
                     "body");
  }
  *out = *first;
  return std::nullopt;
}

IngestUploader::IngestUploader(std::shared_ptr<grpc::Channel> collector, IngestUploadOptions options)
    : collector_(std::move(collector)), options_(options) {}

IngestUploader::~IngestUploader() {
  // Uploads in flight answer their requests (the HTTP server drains them before the gateway goes).
  for (int i = 0; i < 3000 && in_flight_.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void IngestUploader::Upload(HttpRequest request, const std::string& request_id, Done done) {
  UploadedFile file;
  if (auto err = ExtractUploadedFile(request.Header("content-type"), request.body, &file)) {
    return done(0, "", *err);
  }
  // Where the file sits in the body (as offsets: moving a short body moves its bytes).
  const size_t offset = static_cast<size_t>(file.data.data() - request.body.data());
  const size_t size = file.data.size();
  cv1::IngestFileChunk first;
  auto* header = first.mutable_header();
  header->set_filename(file.filename);
  for (const auto& [name, value] : ParseQueryString(request.query)) {
    if (name == "kind") {
      header->set_kind(KindEnum(value));
      if (!value.empty() && header->kind() == cv1::INGEST_KIND_UNSPECIFIED) {
        return done(0, "",
                    MakeError(absl::StatusCode::kInvalidArgument,
                              absl::StrCat("unknown kind '", SanitizeUtf8(value),
                                           "' (campaign_posts, contacts, interactions, customers, "
                                           "discussed_products; empty: from the header)"),
                              "kind"));
      }
    } else if (name == "sheet") {
      header->add_sheets(value);
    } else if (name == "date_order") {
      header->set_date_order(value);
    } else if (name == "filename") {
      header->set_filename(value);
    } else {
      return done(0, "",
                  MakeError(absl::StatusCode::kInvalidArgument,
                            absl::StrCat("unknown parameter '", SanitizeUtf8(name),
                                         "' (kind, sheet, date_order, filename)"),
                            name));
    }
  }
  if (in_flight_.fetch_add(1) >= options_.max_concurrent) {
    in_flight_.fetch_sub(1);
    ApiError e =
        MakeError(absl::StatusCode::kUnavailable,
                  absl::StrCat(options_.max_concurrent, " uploads are already running; retry shortly"));
    e.headers.emplace_back("Retry-After", "5");
    return done(0, "", e);
  }
  // The thread owns the request (and so the body the file views) until the call ends.
  auto owned = std::make_shared<HttpRequest>(std::move(request));
  std::thread([this, owned, offset, size, first = std::move(first), request_id,
               done = std::move(done)]() mutable {
    logging::ScopedRequestId scoped(request_id);
    auto stub = cv1::CollectorService::NewStub(collector_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoSeconds(options_.timeout));
    context.AddMetadata("x-request-id", request_id);
    cv1::IngestReport report;
    auto writer = stub->IngestFile(&context, &report);
    bool ok = writer->Write(first);
    const absl::string_view data = absl::string_view(owned->body).substr(offset, size);
    for (size_t at = 0; ok && at < data.size(); at += options_.chunk_bytes) {
      if (owned->disconnect != nullptr && owned->disconnect->disconnected()) {
        context.TryCancel();
        break;
      }
      cv1::IngestFileChunk chunk;
      chunk.set_data(std::string(data.substr(at, options_.chunk_bytes)));
      ok = writer->Write(chunk);
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    in_flight_.fetch_sub(1);
    if (!status.ok()) {
      return done(0, "",
                  MakeError(static_cast<absl::StatusCode>(status.error_code()), status.error_message()));
    }
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(report, &json, print);
    done(200, std::move(json), std::nullopt);
  }).detach();
}

}  // namespace marketlens::gateway
