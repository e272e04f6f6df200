#include "services/gateway/transcoder.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "services/gateway/field_path.h"
#include "services/gateway/json_printer.h"
#include "services/gateway/request_binder.h"

namespace marketlens::gateway {
namespace {

using google::protobuf::Message;

std::string Deterministic(const Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    m.SerializeWithCachedSizes(&coded);
  }
  return out;
}

// Parses a received message without copying it when it arrived in one slice (the usual case).
bool ParseByteBuffer(const grpc::ByteBuffer& buffer, Message* out) {
  grpc::Slice single;
  if (buffer.TrySingleSlice(&single).ok()) {
    return out->ParseFromArray(single.begin(), static_cast<int>(single.size()));
  }
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  bytes.reserve(buffer.Length());
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out->ParseFromString(bytes);
}

std::optional<std::string> Trailer(const std::multimap<grpc::string_ref, grpc::string_ref>& trailers,
                                   absl::string_view key) {
  for (const auto& [k, v] : trailers) {
    if (absl::string_view(k.data(), k.size()) == key) return std::string(v.data(), v.size());
  }
  return std::nullopt;
}

// The request field a backend's message starts with ("page_size must be 1..100" -> "page_size").
std::string LeadingField(absl::string_view message, const google::protobuf::Descriptor* type) {
  size_t n = 0;
  while (n < message.size() && (absl::ascii_isalnum(message[n]) || message[n] == '_' || message[n] == '.'))
    ++n;
  if (n == 0 || (n < message.size() && message[n] != ' ' && message[n] != ':')) return "";
  absl::StatusOr<FieldPath> path = ResolveFieldPath(type, message.substr(0, n));
  return path.ok() ? FieldPathName(*path) : "";
}

struct CallState {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  const Route* route;
  std::function<void(CallResult)> done;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Transcoder>> Transcoder::Create(
    const RouteTable* routes, absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels,
    TranscoderOptions options) {
  std::unique_ptr<Transcoder> t(new Transcoder(routes, options));
  for (auto& [service, channel] : channels) {
    if (channel == nullptr) continue;
    Backend b;
    b.stub = std::make_unique<grpc::GenericStub>(channel);
    b.channel = std::move(channel);
    t->backends_.emplace(service, std::move(b));
  }
  for (const Route& r : routes->routes()) {
    if (!t->backends_.contains(r.service()->full_name())) {
      return absl::FailedPreconditionError(
          absl::StrCat("no backend address for ", r.service()->full_name(), " (needed by ", r.label, ")"));
    }
  }
  return t;
}

std::shared_ptr<grpc::Channel> Transcoder::channel(absl::string_view service) const {
  auto it = backends_.find(service);
  return it == backends_.end() ? nullptr : it->second.channel;
}

std::optional<ApiError> Transcoder::Prepare(const Route& route, const PathBindings& bindings,
                                            absl::string_view query, absl::string_view body,
                                            PreparedCall* out) const {
  out->route = &route;
  out->request.reset(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(route.method->input_type())->New());
  if (auto err = BindRequest(route, bindings, query, body, out->request.get())) return err;
  out->request->ByteSizeLong();  // caches sizes for SerializeWithCachedSizes
  out->request_bytes = Deterministic(*out->request);
  return std::nullopt;
}

Transcoder::Canceller Transcoder::Invoke(const PreparedCall& call, absl::Duration timeout,
                                         const std::string& request_id,
                                         std::function<void(CallResult)> done) {
  auto it = backends_.find(call.route->service()->full_name());
  if (it == backends_.end()) {
    CallResult r;
    r.error = MakeError(absl::StatusCode::kUnavailable,
                        absl::StrCat("no backend for ", call.route->service()->full_name()));
    done(std::move(r));
    return [] {};
  }
  if (timeout <= absl::ZeroDuration()) timeout = options_.default_timeout;
  timeout = std::min(timeout, options_.max_timeout);

  auto state = std::make_shared<CallState>();
  state->route = call.route;
  state->done = std::move(done);
  state->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!request_id.empty()) state->context.AddMetadata("x-request-id", request_id);
  if (!call.api_key_id.empty()) state->context.AddMetadata("x-api-key-id", call.api_key_id);
  grpc::Slice slice(call.request_bytes);
  state->request = grpc::ByteBuffer(&slice, 1);

  // The completion callback owns one reference through a heap holder it deletes (not a capture of the
  // shared_ptr itself: the callback is stored in the call, which the context holds: a cycle). A Canceller
  // holds a weak one, so that cancelling a finished call touches nothing freed.
  auto* holder = new std::shared_ptr<CallState>(state);
  it->second.stub->UnaryCall(
      &state->context, call.route->grpc_path, grpc::StubOptions(), &state->request, &state->response,
      [holder](grpc::Status status) {
        std::shared_ptr<CallState> owned = std::move(*holder);
        delete holder;
        CallResult result;
        if (!status.ok()) {
          result.error = ErrorFromStatus(status, owned->route->method->input_type(),
                                         owned->context.GetServerTrailingMetadata());
          owned->done(std::move(result));
          return;
        }
        // On an arena (its first block on the stack): a list response is dozens of strings and
        // sub-messages, which the heap would allocate and free one by one.
        alignas(std::max_align_t) char first_block[8192];
        google::protobuf::ArenaOptions arena_options;
        arena_options.initial_block = first_block;
        arena_options.initial_block_size = sizeof(first_block);
        google::protobuf::Arena arena(arena_options);
        Message* response = google::protobuf::MessageFactory::generated_factory()
                                ->GetPrototype(owned->route->method->output_type())
                                ->New(&arena);
        if (!ParseByteBuffer(owned->response, response)) {
          result.error = MakeError(absl::StatusCode::kInternal,
                                   absl::StrCat("the backend's response is not a valid ",
                                                owned->route->method->output_type()->full_name()));
          owned->done(std::move(result));
          return;
        }
        // JSON runs about three times the size of the binary message (field names, quoting).
        absl::StatusOr<std::string> json = ToJson(*response, 3 * owned->response.Length() + 256);
        if (!json.ok()) {
          result.error = MakeError(absl::StatusCode::kInternal, json.status().message());
        } else {
          result.ok = true;
          result.json = *std::move(json);
        }
        owned->done(std::move(result));
      });
  return [weak = std::weak_ptr<CallState>(state)] {
    if (std::shared_ptr<CallState> s = weak.lock()) s->context.TryCancel();
  };
}

absl::StatusOr<std::string> Transcoder::ToJson(const Message& message, size_t size_hint) {
  std::string fast;
  fast.reserve(std::max<size_t>(size_hint, 256));
  if (AppendMessageJson(message, &fast)) return fast;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string out;
  const auto st = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!st.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetDescriptor()->full_name(),
                     " as JSON: ", std::string(st.message().data(), st.message().size())));
  }
  return out;
}

ApiError Transcoder::ErrorFromStatus(const grpc::Status& status,
                                     const google::protobuf::Descriptor* request_type,
                                     const std::multimap<grpc::string_ref, grpc::string_ref>& trailers) {
  ApiError e;
  e.code = static_cast<absl::StatusCode>(status.error_code());
  e.message = status.error_message();
  if (auto field = Trailer(trailers, kErrorFieldTrailer)) {
    e.field = *field;
  } else {
    switch (e.code) {
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kOutOfRange:
      case absl::StatusCode::kFailedPrecondition:
      case absl::StatusCode::kNotFound:
      case absl::StatusCode::kAlreadyExists:
        e.field = LeadingField(e.message, request_type);
        break;
      default:
        break;
    }
  }
  if (auto ms = Trailer(trailers, kRetryAfterMsTrailer)) {
    int64_t millis;
    if (absl::SimpleAtoi(*ms, &millis) && millis >= 0) {
      e.headers.emplace_back("Retry-After", absl::StrCat(std::max<int64_t>(1, (millis + 999) / 1000)));
    }
  }
  return e;
}

std::optional<absl::Duration> Transcoder::ParseGrpcTimeout(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t n;
  if (!absl::SimpleAtoi(value.substr(0, value.size() - 1), &n) || n < 0) return std::nullopt;
  for (char c : value.substr(0, value.size() - 1)) {
    if (!absl::ascii_isdigit(c)) return std::nullopt;
  }
  switch (value.back()) {
    case 'H':
      return absl::Hours(n);
    case 'M':
      return absl::Minutes(n);
    case 'S':
      return absl::Seconds(n);
    case 'm':
      return absl::Milliseconds(n);
    case 'u':
      return absl::Microseconds(n);
    case 'n':
      return absl::Nanoseconds(n);
    default:
      return std::nullopt;
  }
}

}  // namespace marketlens::gateway
