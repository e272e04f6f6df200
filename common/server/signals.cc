#include "common/server/signals.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"

namespace marketlens::server {
namespace {

int g_pipe[2] = {-1, -1};
std::atomic<int> g_first_signal{0};

absl::Mutex& ListenersMu() {
  static auto* mu = new absl::Mutex();
  return *mu;
}
std::map<int, std::function<void(int)>>& Listeners() {
  static auto* listeners = new std::map<int, std::function<void(int)>>();
  return *listeners;
}
int g_next_listener_id = 1;  // guarded by ListenersMu()

extern "C" void OnShutdownSignal(int signal) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  // Nothing else here: write() is async-signal-safe; the watcher thread does the rest.
  (void)!write(g_pipe[1], &byte, 1);
  errno = saved_errno;
}

void WatchSignals() {
  for (;;) {
    unsigned char byte = 0;
    const ssize_t n = read(g_pipe[0], &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    const int signal = byte;
    int expected = 0;
    if (!g_first_signal.compare_exchange_strong(expected, signal)) {
      logging::Warn("second shutdown signal: exiting without draining", {{"signal", SignalName(signal)}});
      std::fflush(stderr);
      _exit(128 + signal);
    }
    logging::Info("shutdown signal received", {{"signal", SignalName(signal)}});
    absl::MutexLock lock(&ListenersMu());
    for (auto& [id, listener] : Listeners()) listener(signal);
  }
}

}  // namespace

void InstallShutdownSignalHandling() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (pipe2(g_pipe, O_CLOEXEC) != 0) {
      logging::Error("cannot create the signal pipe; SIGTERM will not drain", {{"errno", errno}});
      return;
    }
    struct sigaction action {};
    action.sa_handler = OnShutdownSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    // Detached: it blocks in read() until the process exits.
    std::thread(WatchSignals).detach();
  });
}

int ShutdownSignalReceived() { return g_first_signal.load(); }

const char* SignalName(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return "signal";
  }
}

namespace internal {

int AddSignalListener(std::function<void(int)> listener) {
  absl::MutexLock lock(&ListenersMu());
  const int id = g_next_listener_id++;
  if (const int signal = g_first_signal.load(); signal != 0) listener(signal);
  Listeners().emplace(id, std::move(listener));
  return id;
}

void RemoveSignalListener(int id) {
  absl::MutexLock lock(&ListenersMu());
  Listeners().erase(id);
}

}  // namespace internal
}  // namespace marketlens::server
