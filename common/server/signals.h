// SIGTERM/SIGINT handling for servers. Kubernetes stops a pod with SIGTERM, then SIGKILL after the grace
// period; a server must turn that SIGTERM into a graceful drain, never die mid-request.
//
// Implementation: the self-pipe trick. The signal handler only write()s the signal number to a pipe (the
// one thing that is async-signal-safe and works whichever thread the kernel picks); a dedicated watcher
// thread reads the pipe and tells the listeners (marketlens::server::Server) outside signal context. A
// second SIGTERM/SIGINT while the first is being handled exits at once (128 + signal) without draining, so
// an impatient Ctrl-C twice still works.
#ifndef MARKETLENS_COMMON_SERVER_SIGNALS_H_
#define MARKETLENS_COMMON_SERVER_SIGNALS_H_

#include <functional>

namespace marketlens::server {

// Installs the SIGTERM/SIGINT handlers and starts the watcher thread. Call it at the top of main, before
// anything starts threads, so that a signal during start-up is not lost; calling it again is a no-op.
// Server::WaitForShutdownSignal() calls it too, in case main did not.
void InstallShutdownSignalHandling();

// The first shutdown signal received (SIGTERM or SIGINT), or 0.
int ShutdownSignalReceived();

// "SIGTERM", "SIGINT", or "signal" for anything else.
const char* SignalName(int signal);

namespace internal {
// Listeners are called from the watcher thread with the signal number; they must not block. Returns an id
// for RemoveSignalListener. A listener added after a signal arrived is called at once.
int AddSignalListener(std::function<void(int)> listener);
void RemoveSignalListener(int id);
}  // namespace internal

}  // namespace marketlens::server

#endif  // MARKETLENS_COMMON_SERVER_SIGNALS_H_
