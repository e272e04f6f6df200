#!/usr/bin/env bash
# The shared service start-up as an operator meets it: bad configuration stops start-up with exit code 2
# and a message naming the flag (or the environment variable); a good one serves health and /metrics; SIGTERM
# drains and exits 0. Redis being down does not stop it serving, and shows in marketlens_dependency_up.
set -uo pipefail
BIN="$1"
PROBE="$2"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

out="$("$BIN" --grpc_port=99999 --metrics_port=0 2>&1)"; rc=$?
[ "$rc" -eq 2 ] || fail "bad --grpc_port: exit $rc, want 2"
grep -q -- "--grpc_port=99999: must be 1..65535" <<<"$out" || fail "bad --grpc_port message: $out"
grep -q -- "--metrics_port=0" <<<"$out" || fail "all problems are reported at once: $out"

out="$(MARKETLENS_GRPC_PORT=abc "$BIN" 2>&1)"; rc=$?
[ "$rc" -eq 2 ] || fail "bad MARKETLENS_GRPC_PORT: exit $rc, want 2"
grep -q "MARKETLENS_GRPC_PORT=abc" <<<"$out" || fail "bad env message names the variable: $out"

out="$("$BIN" --grpc_port=5000 --metrics_port=5000 --log_level=loud 2>&1)"; rc=$?
[ "$rc" -eq 2 ] || fail "clashing ports: exit $rc, want 2"
grep -q "must differ" <<<"$out" || fail "clashing ports message: $out"
grep -q -- "--log_level=loud" <<<"$out" || fail "bad log level message: $out"

# --help lists the service's flags (its own and common/'s), not "No flags matched".
out="$("$BIN" --help 2>&1)"
grep -q -- "--grpc_port" <<<"$out" || fail "--help does not list --grpc_port: $out"
grep -q -- "--pg_dsn\|--redis_address" <<<"$out" || fail "--help does not list the common flags: $out"
grep -q "MARKETLENS_<FLAG>" <<<"$out" || fail "--help has no usage message: $out"
if grep -q "No flags matched" <<<"$out"; then fail "--help: No flags matched"; fi

grpc="$(free_port)"; metrics="$(free_port)"
log="$TEST_TMPDIR/service.log"
# The environment supplies the port; the command line the metrics port.
redis_port="$(free_port)"  # nothing listens there: Redis is down
MARKETLENS_GRPC_PORT="$grpc" "$BIN" --metrics_port="$metrics" --redis_address="127.0.0.1:$redis_port" >"$log" 2>&1 &
pid=$!
"$PROBE" --target="127.0.0.1:$grpc" --wait_ms=20000 >/dev/null || fail "service not SERVING on the env port"
metrics_text="$(curl -fsS --max-time 5 "http://127.0.0.1:$metrics/metrics")"
grep -q 'grpc_server_handled_total{grpc_code="OK",grpc_method="Check"' <<<"$metrics_text" ||
  fail "/metrics does not show the health call"
grep -q 'marketlens_dependency_up{dependency="redis"} 0' <<<"$metrics_text" ||
  fail "/metrics does not report Redis as down: $(grep dependency <<<"$metrics_text")"
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  fail "did not exit within 10 s of SIGTERM"
  kill -KILL "$pid"
fi
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] || fail "exit code after SIGTERM: $rc, want 0"
grep -q '"msg":"drained"' "$log" || fail "no drained log line: $(cat "$log")"
# The shutdown hook ran once, after the drain and before the process stopped.
[ "$(grep -c '"msg":"test_service shutdown hook"' "$log")" -eq 1 ] ||
  fail "shutdown hook not run once: $(cat "$log")"
drained_line="$(grep -n '"msg":"drained"' "$log" | head -n 1 | cut -d: -f1)"
hook_line="$(grep -n '"msg":"test_service shutdown hook"' "$log" | head -n 1 | cut -d: -f1)"
stopped_line="$(grep -n '"msg":"stopped"' "$log" | head -n 1 | cut -d: -f1)"
[ -n "$drained_line" ] && [ -n "$hook_line" ] && [ -n "$stopped_line" ] &&
  [ "$drained_line" -lt "$hook_line" ] && [ "$hook_line" -lt "$stopped_line" ] ||
  fail "want drained < shutdown hook < stopped in the log: $(cat "$log")"
grep -q '"service":"test_service"' "$log" || fail "log lines lack the service name"

# Redis with a password, given as a file (a mounted Secret): the service authenticates and reports it up.
command -v redis-server >/dev/null || { echo "FAIL: redis-server is not installed"; exit 1; }
redis_port="$(free_port)"
secret="$TEST_TMPDIR/redis_password"
printf 's3cret-%s\n' "$RANDOM" >"$secret"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$TEST_TMPDIR" \
  --requirepass "$(head -n 1 "$secret")" --daemonize yes --pidfile "$TEST_TMPDIR/redis.pid" >/dev/null
trap 'kill "$(cat "$TEST_TMPDIR/redis.pid" 2>/dev/null)" 2>/dev/null' EXIT
grpc="$(free_port)"; metrics="$(free_port)"
"$BIN" --grpc_port="$grpc" --metrics_port="$metrics" --redis_address="127.0.0.1:$redis_port" \
  --redis_password_file="$secret" >"$TEST_TMPDIR/service2.log" 2>&1 &
pid=$!
"$PROBE" --target="127.0.0.1:$grpc" --wait_ms=20000 >/dev/null || fail "service with Redis not SERVING"
# Into a variable first: `curl | grep -q` under pipefail fails when grep exits before curl has written all.
metrics_text="$(curl -fsS --max-time 5 "http://127.0.0.1:$metrics/metrics")"
grep -q 'marketlens_dependency_up{dependency="redis"} 1' <<<"$metrics_text" ||
  fail "Redis with a password file is not reported up: $(grep -i redis "$TEST_TMPDIR/service2.log" | head -3)"
grep -q "$(head -n 1 "$secret")" "$TEST_TMPDIR/service2.log" && fail "the Redis password appears in the log"
kill -TERM "$pid"; wait "$pid"

if [ "$failures" -ne 0 ]; then exit 1; fi
echo "service_main_test: all checks passed"
