#!/usr/bin/env bash
# The local stack as a user meets it: up.sh brings everything up healthy, each service's /metrics shows
# the gRPC metrics after a call, a re-run of up.sh is harmless, data survives down/up, and down.sh leaves
# nothing running. Runs on its own ports and run dir, so it never touches a stack you started by hand.
# Called by tests/run.sh after `bazel test` (it drives bazel and real servers, so it cannot run inside it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export MARKETLENS_RUN_DIR
MARKETLENS_RUN_DIR="$(mktemp -d /tmp/marketlens-smoke.XXXXXX)"
chmod 755 "$MARKETLENS_RUN_DIR"
# Ports away from the defaults, and below Linux's ephemeral range (32768-60999), where an outgoing
# connection could hold one of them at the wrong moment.
export PG_PORT=23432 REDIS_PORT=23379
export MARKETPLACE_GRPC_PORT=23051 COLLECTOR_GRPC_PORT=23052 ANALYZER_GRPC_PORT=23053
export RECOMMENDER_GRPC_PORT=23054 GATEWAY_GRPC_PORT=23055 GATEWAY_HTTP_PORT=23080
export MARKETPLACE_METRICS_PORT=23101 COLLECTOR_METRICS_PORT=23102 ANALYZER_METRICS_PORT=23103
export RECOMMENDER_METRICS_PORT=23104 GATEWAY_METRICS_PORT=23105 PROMETHEUS_PORT=23090
# The optional Prometheus too, to see that it scrapes every service.
export MARKETLENS_PROMETHEUS=1

failures=0
check() {  # description, command...
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; failures=$((failures + 1)); fi
}
cleanup() {
  bash deploy/local/down.sh >/dev/null 2>&1 || true
  rm -rf "$MARKETLENS_RUN_DIR"
}
trap cleanup EXIT

bash deploy/local/up.sh
source deploy/local/env.sh

services=()
for s in "${SERVICES[@]}"; do [ -x "bazel-bin/services/$s/$s" ] && services+=("$s"); done
check "at least one service exists" test ${#services[@]} -gt 0

for s in "${services[@]}"; do
  upper="$(echo "$s" | tr a-z A-Z)"; g="${upper}_GRPC_PORT"; m="${upper}_METRICS_PORT"
  check "$s reports SERVING" bazel-bin/common/grpc_health/health_probe --target="127.0.0.1:${!g}"
  metrics="$(curl -fsS --max-time 5 "http://127.0.0.1:${!m}/metrics" || true)"
  check "$s /metrics has grpc_server_handled_total for the health call" \
    grep -q 'grpc_server_handled_total{.*grpc_code="OK".*grpc_method="Check".*grpc_service="grpc.health.v1.Health"' <<<"$metrics"
  check "$s /metrics has grpc_server_handling_seconds" grep -q '^grpc_server_handling_seconds_bucket' <<<"$metrics"
  if grep -q 'marketlens_dependency_up{dependency="postgres"}' <<<"$metrics"; then
    check "$s sees Postgres up" grep -q 'marketlens_dependency_up{dependency="postgres"} 1' <<<"$metrics"
  fi
  if grep -q 'marketlens_dependency_up{dependency="redis"}' <<<"$metrics"; then
    check "$s sees Redis up" grep -q 'marketlens_dependency_up{dependency="redis"} 1' <<<"$metrics"
  fi
  check "$s logs are JSON lines" bash -c "head -n 1 '$LOG_DIR/$s.log' | grep -q '^{\"ts\":'"
done

# Prometheus scrapes every service (its first scrape comes within a few seconds of start).
prom_up=""
for _ in $(seq 60); do
  prom_up="$(curl -fsS --max-time 2 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query?query=sum(up)" 2>/dev/null || true)"
  grep -q "\"value\":\[[0-9.]*,\"${#services[@]}\"\]" <<<"$prom_up" && break
  sleep 1
done
check "prometheus scrapes all ${#services[@]} services" grep -q "\"value\":\[[0-9.]*,\"${#services[@]}\"\]" <<<"$prom_up"

psql_m() { psql -X -qtA -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -c "$1"; }
check "migrations created the schemas" \
  test "$(psql_m "SELECT count(*) FROM pg_namespace WHERE nspname IN ('raw','ingest','insights','recsys','ops')")" = 5
# The gateway's REST API and dashboard, with the key up.sh made.
if [ -s "$MARKETLENS_RUN_DIR/secrets/dashboard_api_key" ]; then
  key="$(cat "$MARKETLENS_RUN_DIR/secrets/dashboard_api_key")"
  check "gateway /healthz answers" curl -fsS --max-time 5 "http://127.0.0.1:$GATEWAY_HTTP_PORT/healthz" -o /dev/null
  check "gateway serves the dashboard" bash -c "curl -fsS --max-time 5 http://127.0.0.1:$GATEWAY_HTTP_PORT/ | grep -qi '<html'"
  check "gateway refuses a call without a key" \
    test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$GATEWAY_HTTP_PORT/api/v1/products")" = 401
  check "gateway lists products with the key" \
    test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $key" "http://127.0.0.1:$GATEWAY_HTTP_PORT/api/v1/products")" = 200
fi

# Demo data: the collector's scheduled crawl starts at once and fills raw.products from the marketplace.
if [ -x bazel-bin/services/collector/collector ] && [ -x bazel-bin/services/marketplace/marketplace ]; then
  products=0
  for _ in $(seq 90); do
    products="$(psql_m "SELECT count(*) FROM raw.products" 2>/dev/null || echo 0)"
    [ "${products:-0}" -gt 0 ] && break
    sleep 1
  done
  check "the first crawl brings products into raw.products ($products)" test "${products:-0}" -gt 0
fi
psql_m "CREATE TABLE IF NOT EXISTS public.smoke_marker(v text); INSERT INTO public.smoke_marker VALUES ('kept')"

pids_before="$(cat "$PID_DIR"/*.pid | sort | tr '\n' ' ')"
bash deploy/local/up.sh >/dev/null
check "re-running up.sh keeps the same processes" test "$(cat "$PID_DIR"/*.pid | sort | tr '\n' ' ')" = "$pids_before"

down_log="$(bash deploy/local/down.sh 2>&1)"
echo "$down_log"
check "every service stopped gracefully on SIGTERM (no SIGKILL needed)" bash -c "! grep -q 'did not stop' <<<\"\$1\"" _ "$down_log"
check "down.sh left no service running" bash -c "! ls '$PID_DIR'/*.pid >/dev/null 2>&1"
for pid in $pids_before; do check "process $pid is gone" eval "! proc_alive $pid"; done
check "postgres stopped" bash -c "! pg_isready -q -h 127.0.0.1 -p $PG_PORT"
check "prometheus stopped" bash -c "! curl -fsS --max-time 2 http://127.0.0.1:$PROMETHEUS_PORT/-/ready >/dev/null 2>&1"
check "redis stopped" bash -c "! redis-cli -h 127.0.0.1 -p $REDIS_PORT ping >/dev/null 2>&1"

bash deploy/local/up.sh >/dev/null
check "data survives down and up" test "$(psql_m "SELECT v FROM public.smoke_marker")" = kept
bash deploy/local/down.sh >/dev/null

if [ "$failures" -ne 0 ]; then
  echo "stack smoke test: $failures check(s) failed" >&2
  exit 1
fi
echo "stack smoke test: all checks passed"
