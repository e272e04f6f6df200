#include "common/logging/grpc_request_id.h"

#include <mutex>
#include <thread>
#include <utility>

#include "common/logging/log.h"
#include "grpcpp/support/interceptor.h"

namespace marketlens::logging {
namespace {

using grpc::experimental::InterceptionHookPoints;

class ServerRequestIdInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit ServerRequestIdInterceptor(bool set_thread_local) : set_thread_local_(set_thread_local) {}

  ~ServerRequestIdInterceptor() override { Restore(); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      OnClientMetadata(methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* md = methods->GetSendInitialMetadata();
      if (md != nullptr && !id_.empty() && md->find(kRequestIdKey) == md->end()) {
        md->emplace(kRequestIdKey, id_);
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      // The sync handler has returned: this server thread goes back to the pool without our id.
      Restore();
    }
    methods->Proceed();
  }

 private:
  void OnClientMetadata(std::multimap<grpc::string_ref, grpc::string_ref>* md) {
    if (md == nullptr) return;
    auto range = md->equal_range(kRequestIdKey);
    for (auto it = range.first; it != range.second; ++it) {
      const absl::string_view candidate(it->second.data(), it->second.size());
      if (IsValidRequestId(candidate)) {
        id_ = std::string(candidate);
        break;
      }
    }
    if (id_.empty()) {
      id_ = NewRequestId();
      // Store the id where RequestIdFrom(ctx) looks. The map holds references: `id_` lives as long as this
      // interceptor, which gRPC destroys together with the call's context.
      md->erase(range.first, range.second);
      md->emplace(grpc::string_ref(kRequestIdKey), grpc::string_ref(id_));
    }
    if (set_thread_local_ && scope_ == nullptr) {
      scope_ = std::make_unique<ScopedRequestId>(id_);
      scope_thread_ = std::this_thread::get_id();
    }
  }

  void Restore() {
    if (scope_ == nullptr) return;
    if (scope_thread_ == std::this_thread::get_id()) {
      scope_.reset();
      return;
    }
    // Finishing on another thread means the handler was not synchronous. Restoring here would clobber this
    // thread's id, so the scope is abandoned (a few bytes) and the problem reported once.
    static std::once_flag once;
    std::call_once(once, [] {
      Warn(
          "request id interceptor: a call finished on another thread than it started; "
          "async/callback handlers should use RequestIdFrom(ctx)");
    });
    (void)scope_.release();
  }

  const bool set_thread_local_;
  std::string id_;
  std::unique_ptr<ScopedRequestId> scope_;
  std::thread::id scope_thread_;
};

class ServerRequestIdFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    // Callback handlers (CallbackServerContext) run wherever gRPC schedules them: no thread-local for them.
    const bool sync_like = dynamic_cast<grpc::ServerContext*>(info->server_context()) != nullptr;
    return new ServerRequestIdInterceptor(sync_like);
  }
};

class ClientRequestIdInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit ClientRequestIdInterceptor(std::string id) : id_(std::move(id)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* md = methods->GetSendInitialMetadata();
      // An id the caller put on the context explicitly wins.
      if (md != nullptr && md->find(kRequestIdKey) == md->end()) md->emplace(kRequestIdKey, id_);
    }
    methods->Proceed();
  }

 private:
  std::string id_;
};

class ClientRequestIdFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    // Called on the thread that creates the call, i.e. inside the handler making it.
    const std::string& id = CurrentRequestId();
    if (id.empty()) return nullptr;
    return new ClientRequestIdInterceptor(id);
  }
};

}  // namespace

bool IsValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '/' || c == '+' || c == '=' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string RequestIdFrom(const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  auto range = md.equal_range(kRequestIdKey);
  for (auto it = range.first; it != range.second; ++it) {
    const absl::string_view id(it->second.data(), it->second.size());
    if (IsValidRequestId(id)) return std::string(id);
  }
  return "";
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewServerRequestIdInterceptorFactory() {
  return std::make_unique<ServerRequestIdFactory>();
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
NewClientRequestIdInterceptorFactory() {
  return std::make_unique<ClientRequestIdFactory>();
}

}  // namespace marketlens::logging
