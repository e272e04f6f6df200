#include "services/gateway/ingest_upload.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
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

MultipartFileStream::MultipartFileStream(std::string boundary)
    : delimiter_(absl::StrCat("--", boundary)), data_delimiter_(absl::StrCat("\r\n--", boundary)) {}

absl::Status MultipartFileStream::Feed(absl::string_view in, std::string* out) {
  buffer_.append(in.data(), in.size());
  bool progressed = true;
  while (progressed) {
    RETURN_IF_ERROR(Step(out, &progressed));
  }
  return absl::OkStatus();
}

// One step of the parse over buffer_; *progressed false when more input is needed.
absl::Status MultipartFileStream::Step(std::string* out, bool* progressed) {
  // Part headers (and a preamble) are small: a body that never shows them is not a form.
  constexpr size_t kMaxHeaderBytes = 64 << 10;
  *progressed = false;
  switch (state_) {
    case State::kPreamble: {
      const size_t at = buffer_.find(delimiter_);
      if (at == std::string::npos) {
        if (buffer_.size() > kMaxHeaderBytes) {
          return absl::InvalidArgumentError("malformed multipart/form-data body: no boundary found");
        }
        return absl::OkStatus();
      }
      buffer_.erase(0, at + delimiter_.size());
      state_ = State::kPartHeaders;
      *progressed = true;
      return absl::OkStatus();
    }
    case State::kPartHeaders: {
      // Right after a delimiter: "--" closes the body, else the part's headers up to a blank line.
      if (buffer_.size() < 2) return absl::OkStatus();
      if (absl::StartsWith(buffer_, "--")) {
        state_ = State::kEnd;
        buffer_.clear();
        return absl::OkStatus();
      }
      const size_t end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (buffer_.size() > kMaxHeaderBytes) {
          return absl::InvalidArgumentError("malformed multipart/form-data body: part headers too long");
        }
        return absl::OkStatus();
      }
      std::string filename;
      for (absl::string_view line : absl::StrSplit(absl::string_view(buffer_).substr(0, end), "\r\n")) {
        if (absl::StartsWithIgnoreCase(line, "content-disposition:"))
          filename = HeaderParam(line, "filename");
      }
      buffer_.erase(0, end + 4);
      ++part_;
      current_is_file_ = !file_started_ && !filename.empty();
      if (current_is_file_) {
        file_started_ = true;
        filename_ = filename;
        held_.clear();
      }
      state_ = State::kData;
      *progressed = true;
      return absl::OkStatus();
    }
    case State::kData: {
      // The part's bytes: up to the next delimiter, or all but what could be the start of one.
      const size_t at = buffer_.find(data_delimiter_);
      const size_t take = at != std::string::npos ? at
                                                  : (buffer_.size() >= data_delimiter_.size()
                                                         ? buffer_.size() - (data_delimiter_.size() - 1)
                                                         : 0);
      if (take > 0) {
        if (current_is_file_) {
          out->append(buffer_, 0, take);
        } else if (part_ == 0 && !file_started_) {
          held_.append(buffer_, 0, take);
        }
        buffer_.erase(0, take);
        *progressed = true;
      }
      if (at != std::string::npos) {
        buffer_.erase(0, data_delimiter_.size());
        if (part_ == 0) first_part_complete_ = true;
        if (current_is_file_) current_is_file_ = false;
        state_ = State::kPartHeaders;
        *progressed = true;
      }
      return absl::OkStatus();
    }
    case State::kEnd:
      buffer_.clear();  // the epilogue
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status MultipartFileStream::Finish(std::string* out) {
  if (file_started_) {
    if (state_ == State::kData && current_is_file_) {
      return absl::InvalidArgumentError("malformed multipart/form-data body: it ends inside the file part");
    }
    return absl::OkStatus();
  }
  if (!first_part_complete_) {
    return absl::InvalidArgumentError("malformed multipart/form-data body: no part found");
  }
  out->append(held_);
  held_.clear();
  return absl::OkStatus();
}

namespace {

// How a body holds its file: as is, or in a multipart form (with its boundary). An ApiError for anything
// else.
struct BodyFormat {
  bool multipart = false;
  std::string boundary;
};

std::optional<ApiError> BodyFormatOf(absl::string_view content_type, BodyFormat* format) {
  const std::string media = MediaType(content_type);
  static const char* const kWhole[] = {"text/csv",
                                       "application/csv",
                                       "text/plain",
                                       "text/tab-separated-values",
                                       "application/vnd.ms-excel",  // what browsers call a .csv on Windows
                                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                       "application/octet-stream"};
  if (media.empty()) return std::nullopt;
  for (const char* m : kWhole) {
    if (media == m) return std::nullopt;
  }
  if (media != "multipart/form-data") return Unsupported(content_type);
  format->multipart = true;
  format->boundary = HeaderParam(content_type, "boundary");
  if (format->boundary.empty()) {
    return MakeError(absl::StatusCode::kInvalidArgument, "multipart/form-data without a boundary",
                     "content_type");
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> ExtractUploadedFile(absl::string_view content_type, absl::string_view body,
                                            UploadedFile* out) {
  BodyFormat format;
  if (auto err = BodyFormatOf(content_type, &format)) return err;
  if (!format.multipart) {
    out->data = body;
    return std::nullopt;
  }
  MultipartFileStream parts(format.boundary);
  out->storage.clear();
  absl::Status st = parts.Feed(body, &out->storage);
  if (st.ok()) st = parts.Finish(&out->storage);
  if (!st.ok()) return MakeError(absl::StatusCode::kInvalidArgument, st.message(), "body");
  out->filename = parts.filename();
  out->data = out->storage;
  return std::nullopt;
}

namespace {

// Reads a body stream one piece ahead: the next piece comes in from the socket while the current one is
// written to the collector, so the two overlap (two pieces in memory at most).
class PieceReader {
 public:
  PieceReader(HttpBodyStream* stream, size_t piece_bytes) : stream_(stream), piece_bytes_(piece_bytes) {}

  // The next piece ("" at the end); asks for the one after it at once.
  absl::StatusOr<std::string> Next(absl::Duration wait) {
    if (pending_ == nullptr) pending_ = Ask();
    absl::StatusOr<std::string> piece = Wait(std::exchange(pending_, nullptr), wait);
    if (piece.ok() && !piece->empty()) pending_ = Ask();
    return piece;
  }

  // Waits (at most `wait`) for a piece still asked for, dropping it.
  void Settle(absl::Duration wait) {
    if (pending_ != nullptr) (void)Wait(std::exchange(pending_, nullptr), wait);
  }

 private:
  struct Slot {
    absl::Mutex mu;
    std::optional<absl::StatusOr<std::string>> piece ABSL_GUARDED_BY(mu);
  };

  std::shared_ptr<Slot> Ask() {
    auto slot = std::make_shared<Slot>();
    stream_->Read(piece_bytes_, [slot](absl::StatusOr<std::string> piece) {
      absl::MutexLock lock(&slot->mu);
      slot->piece = std::move(piece);
    });
    return slot;
  }

  static absl::StatusOr<std::string> Wait(const std::shared_ptr<Slot>& slot, absl::Duration wait) {
    absl::MutexLock lock(&slot->mu);
    auto ready = [&slot]() ABSL_SHARED_LOCKS_REQUIRED(slot->mu) { return slot->piece.has_value(); };
    if (!slot->mu.AwaitWithTimeout(absl::Condition(&ready), wait)) {
      return absl::DeadlineExceededError("the request body did not arrive in time");
    }
    return *std::move(slot->piece);
  }

  HttpBodyStream* stream_;
  const size_t piece_bytes_;
  std::shared_ptr<Slot> pending_;
};

}  // namespace

IngestUploader::IngestUploader(std::shared_ptr<grpc::Channel> collector, IngestUploadOptions options)
    : collector_(std::move(collector)), options_(options) {}

IngestUploader::~IngestUploader() {
  // Uploads in flight answer their requests (the HTTP server drains them before the gateway goes).
  for (int i = 0; i < 3000 && in_flight_.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void IngestUploader::Upload(HttpRequest request, const std::string& request_id, Done done) {
  BodyFormat format;
  if (auto err = BodyFormatOf(request.Header("content-type"), &format)) return done(0, "", *err);
  cv1::IngestFileChunk first;
  auto* header = first.mutable_header();
  std::string query_filename;
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
      query_filename = value;
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
  auto owned = std::make_shared<HttpRequest>(std::move(request));
  std::thread([this, owned, format = std::move(format), first = std::move(first),
               query_filename = std::move(query_filename), request_id, done = std::move(done)]() mutable {
    logging::ScopedRequestId scoped(request_id);
    std::optional<ApiError> error =
        Send(*owned, format.multipart, format.boundary, std::move(first), query_filename, request_id, &done);
    in_flight_.fetch_sub(1);
    if (error.has_value()) done(0, "", *error);
  }).detach();
}

// On the upload's thread: reads the body (as it arrives when streamed), strips a form's boundaries, and
// writes it to IngestFile in chunk_bytes messages. The call starts with the first bytes of the file (the
// header message carries a form's filename). Answers through *done on success; returns the error otherwise.
std::optional<ApiError> IngestUploader::Send(const HttpRequest& request, bool multipart,
                                             const std::string& boundary, cv1::IngestFileChunk first,
                                             const std::string& query_filename, const std::string& request_id,
                                             Done* done) {
  // The body's pieces: from the stream, or slices of a body read whole.
  size_t offset = 0;
  std::optional<PieceReader> reader;
  if (request.body_stream != nullptr) reader.emplace(request.body_stream.get(), options_.chunk_bytes);
  auto next_piece = [&]() -> absl::StatusOr<std::string> {
    if (reader.has_value()) return reader->Next(options_.timeout);
    const absl::string_view rest = absl::string_view(request.body).substr(offset, options_.chunk_bytes);
    offset += rest.size();
    return std::string(rest);
  };
  std::optional<MultipartFileStream> parts;
  if (multipart) parts.emplace(boundary);

  auto context = std::make_shared<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoSeconds(options_.timeout));
  context->AddMetadata("x-request-id", request_id);
  // The client going away (also after the body, while the collector works) cancels the call: the
  // collector then rolls the load back.
  if (request.disconnect != nullptr) {
    request.disconnect->OnDisconnect([context] { context->TryCancel(); });
  }
  std::unique_ptr<cv1::CollectorService::Stub> stub;
  std::unique_ptr<grpc::ClientWriter<cv1::IngestFileChunk>> writer;
  cv1::IngestReport report;
  bool write_ok = true;
  auto write = [&](std::string data) {
    if (writer == nullptr) {
      std::string filename = parts.has_value() ? parts->filename() : "";
      if (!query_filename.empty()) filename = query_filename;
      first.mutable_header()->set_filename(filename);
      stub = cv1::CollectorService::NewStub(collector_);
      writer = stub->IngestFile(context.get(), &report);
      write_ok = writer->Write(first);
    }
    if (data.empty() || !write_ok) return;
    cv1::IngestFileChunk chunk;
    chunk.set_data(std::move(data));
    // Blocks while the collector is behind; the piece after this one is read meanwhile, then the socket
    // waits (TCP slows the client down).
    write_ok = writer->Write(chunk);
  };

  std::optional<ApiError> failure;
  std::string out;
  bool ended = false;
  while (!ended && write_ok) {
    absl::StatusOr<std::string> piece = next_piece();
    if (!piece.ok()) {
      failure = BodyStreamError(piece.status());
      break;
    }
    absl::Status parsed;
    if (piece->empty()) {
      ended = true;
      if (parts.has_value()) parsed = parts->Finish(&out);
    } else if (parts.has_value()) {
      parsed = parts->Feed(*piece, &out);
    } else {
      out = *std::move(piece);
    }
    if (!parsed.ok()) {
      failure = MakeError(absl::StatusCode::kInvalidArgument, parsed.message(), "body");
      break;
    }
    // A form's bytes gather up to a chunk; a raw piece is a chunk already.
    if (out.size() >= options_.chunk_bytes || (ended && !out.empty()) ||
        (!parts.has_value() && !out.empty())) {
      write(std::move(out));
      out.clear();
    }
  }
  // The server drains an unread body after an early answer, but not under a read still in flight.
  if (reader.has_value()) reader->Settle(absl::Seconds(5));
  if (failure.has_value()) {
    // Nothing of a cut upload may be committed: the collector rolls back a cancelled call.
    if (writer != nullptr) {
      context->TryCancel();
      (void)writer->Finish();
    }
    return failure;
  }
  if (writer == nullptr) write("");  // an empty file: the collector says what it makes of it
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    return MakeError(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(report, &json, print);
  (*done)(200, std::move(json), std::nullopt);
  return std::nullopt;
}

}  // namespace marketlens::gateway
