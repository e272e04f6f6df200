# Shared settings of the local stack (sourced by up.sh and down.sh). Every port can be overridden from the
# environment, e.g. `PG_PORT=56432 deploy/local/up.sh`.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="${MARKETLENS_RUN_DIR:-$ROOT/.run}"
LOG_DIR="$RUN_DIR/logs"
PID_DIR="$RUN_DIR/pids"

# Compiled objects are kept outside the checkout, so a fresh clone (CI) reuses earlier work.
BAZEL_DISK_CACHE="${MARKETLENS_BAZEL_DISK_CACHE:-$HOME/.cache/marketlens/bazel-disk}"

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${PG_PORT:-55432}"
PG_DB="${PG_DB:-marketlens}"
PG_USER="${PG_USER:-marketlens}"
REDIS_PORT="${REDIS_PORT:-56379}"

MARKETPLACE_GRPC_PORT="${MARKETPLACE_GRPC_PORT:-50051}"
COLLECTOR_GRPC_PORT="${COLLECTOR_GRPC_PORT:-50052}"
ANALYZER_GRPC_PORT="${ANALYZER_GRPC_PORT:-50053}"
RECOMMENDER_GRPC_PORT="${RECOMMENDER_GRPC_PORT:-50054}"
GATEWAY_GRPC_PORT="${GATEWAY_GRPC_PORT:-50055}"
GATEWAY_HTTP_PORT="${GATEWAY_HTTP_PORT:-8080}"
MARKETPLACE_METRICS_PORT="${MARKETPLACE_METRICS_PORT:-9101}"
COLLECTOR_METRICS_PORT="${COLLECTOR_METRICS_PORT:-9102}"
ANALYZER_METRICS_PORT="${ANALYZER_METRICS_PORT:-9103}"
RECOMMENDER_METRICS_PORT="${RECOMMENDER_METRICS_PORT:-9104}"
GATEWAY_METRICS_PORT="${GATEWAY_METRICS_PORT:-9105}"

PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"

SERVICES=(marketplace collector analyzer recommender gateway)

PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=$PG_DB user=$PG_USER connect_timeout=5"

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# A zombie counts as gone: a killed service is reparented to PID 1, which may reap it only later.
proc_alive() {  # pid
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -n "$state" ] && [ "$state" != "Z" ]
}
pid_alive() { [ -f "$1" ] && proc_alive "$(cat "$1")"; }
