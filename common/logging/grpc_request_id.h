// Request ids across gRPC: every call carries an `x-request-id` metadata entry, so that the log lines of all
// the services a request touched can be joined on `request_id`.
//
// Server side (NewServerRequestIdInterceptorFactory): takes the id from the client's metadata (or makes a
// new one when it is missing or malformed), makes it the thread's current request id for the handler (so
// every log line the handler writes carries it), and echoes it in the response's initial metadata.
// Client side (NewClientRequestIdInterceptorFactory): adds the calling thread's current request id, if any,
// to outgoing calls, so a call made inside a handler carries the id on to the next service.
//
// The thread-local part relies on gRPC's synchronous server: the interceptor's POST_RECV_INITIAL_METADATA
// and POST_RECV_MESSAGE hooks, the handler and PRE_SEND_STATUS all run on the same server thread
// (grpc_request_id_test checks this). Callback/async handlers cannot rely on the thread-local; they read the
// id with RequestIdFrom(ctx) and set their own ScopedRequestId.
#ifndef MARKETLENS_COMMON_LOGGING_GRPC_REQUEST_ID_H_
#define MARKETLENS_COMMON_LOGGING_GRPC_REQUEST_ID_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/client_interceptor.h"
#include "grpcpp/support/server_interceptor.h"

namespace marketlens::logging {

// 1..128 characters from [A-Za-z0-9._:/+=-]: what we accept from a caller as a request id (anything else
// could inject text into log lines or blow up their size, and is replaced by a fresh id).
bool IsValidRequestId(absl::string_view id);

// The call's request id: the client's `x-request-id`, or the id the server interceptor generated for the
// call (it stores it in the client metadata map). "" when the interceptor is not installed and the client
// sent none. Works for sync (ServerContext) and callback (CallbackServerContext) handlers.
std::string RequestIdFrom(const grpc::ServerContextBase& context);

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewServerRequestIdInterceptorFactory();

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> NewClientRequestIdInterceptorFactory();

}  // namespace marketlens::logging

#endif  // MARKETLENS_COMMON_LOGGING_GRPC_REQUEST_ID_H_
