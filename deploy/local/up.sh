#!/usr/bin/env bash
# Starts the whole marketlens constellation on this machine: PostgreSQL and Redis on loopback (data under
# .run/), the schema migrations, then every service, and waits until each one reports healthy.
# Safe to re-run: what already runs is left alone and the data is kept. Stop it all with down.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'up.sh: %s\n' "$*" >&2; exit 1; }

say "checking Debian packages"
bash deploy/local/install_deps.sh

say "building (bazel)"
targets=(//common/migrate:migrate //common/grpc_health:health_probe)
for name in "${SERVICES[@]}"; do
  [ -f "services/$name/BUILD" ] && targets+=("//services/$name:$name")
done
[ -f services/gateway/BUILD ] && targets+=(//services/gateway:cli)
mkdir -p "$BAZEL_DISK_CACHE"
# MARKETLENS_BAZEL_FLAGS: tests/run.sh's full run builds everything with --config=image (one build shared
# with the container images), and the stack then runs those binaries instead of building a second set.
# shellcheck disable=SC2086
bazel build --disk_cache="$BAZEL_DISK_CACHE" ${MARKETLENS_BAZEL_FLAGS:-} "${targets[@]}"

mkdir -p "$RUN_DIR" "$LOG_DIR" "$PID_DIR"

# ---- PostgreSQL -------------------------------------------------------------------------------------
PG_DIR="$RUN_DIR/postgres"
if [ "$(id -u)" -eq 0 ] && [ ! -e "$PG_DIR" ] && ! runuser -u postgres -- test -x "$RUN_DIR"; then
  # The postgres user cannot reach .run/ (e.g. the checkout is under /root): keep the data in
  # /var/lib/marketlens and link it, so .run/ still holds everything.
  real="/var/lib/marketlens/$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)/postgres"
  mkdir -p "$real"
  ln -sfn "$real" "$PG_DIR"
fi
mkdir -p "$PG_DIR"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$(readlink -f "$PG_DIR")"
PG_DATA="$PG_DIR/data"
if [ ! -f "$PG_DATA/PG_VERSION" ]; then
  say "initialising PostgreSQL in $PG_DATA"
  as_pg "$PG_BIN/initdb" -D "$(readlink -f "$PG_DIR")/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$LOG_DIR/initdb.log" 2>&1 || die "initdb failed, see $LOG_DIR/initdb.log"
fi
if as_pg "$PG_BIN/pg_ctl" -D "$(readlink -f "$PG_DIR")/data" status >/dev/null 2>&1; then
  say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
else
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  touch "$LOG_DIR/postgres.log"
  [ "$(id -u)" -eq 0 ] && chown postgres "$LOG_DIR/postgres.log"
  as_pg "$PG_BIN/pg_ctl" -D "$(readlink -f "$PG_DIR")/data" -w -t 60 -l "$(readlink -f "$LOG_DIR")/postgres.log" \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $(readlink -f "$PG_DIR")" start >/dev/null ||
    die "PostgreSQL did not start, see $LOG_DIR/postgres.log"
fi
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
if [ "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
  psql_admin -d postgres -c "CREATE ROLE \"$PG_USER\" LOGIN"
fi
if [ "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
  psql_admin -d postgres -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\""
fi

# ---- Redis ------------------------------------------------------------------------------------------
REDIS_DIR="$RUN_DIR/redis"
mkdir -p "$REDIS_DIR"
if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  say "Redis already running on 127.0.0.1:$REDIS_PORT"
else
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" --appendonly yes \
    --daemonize yes --pidfile "$PID_DIR/redis.pid" --logfile "$LOG_DIR/redis.log" --protected-mode yes
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "Redis did not start, see $LOG_DIR/redis.log"
fi

# ---- Migrations -------------------------------------------------------------------------------------
say "applying migrations"
bazel-bin/common/migrate/migrate --dsn="$PG_DSN" --dir="$ROOT/deploy/migrations" \
  >>"$LOG_DIR/migrate.log" 2>&1 || die "migrations failed, see $LOG_DIR/migrate.log"

# ---- Services ---------------------------------------------------------------------------------------
# The flags every service takes; a service's own flags are added here when it gets them.
service_args() {
  local name="$1" upper
  upper="$(echo "$name" | tr a-z A-Z)"
  local grpc_var="${upper}_GRPC_PORT" metrics_var="${upper}_METRICS_PORT"
  printf -- "--grpc_port=%s --metrics_port=%s --pg_dsn='%s' --redis_address=127.0.0.1:%s" \
    "${!grpc_var}" "${!metrics_var}" "$PG_DSN" "$REDIS_PORT"
  case "$name" in
    # A fixed page-token key, so that page tokens (kept in crawl checkpoints) survive a restart.
    marketplace) printf -- " --page_token_key_file=%s" "$SECRETS_DIR/marketplace_page_token_key" ;;
    # Crawls the local marketplace every 15 minutes (incremental after the first, full one), and deletes
    # raw contacts and interactions older than RETENTION_DAYS daily (docs/privacy.md; 5 years by default so
    # the generated world, which ends in mid-2025, stays whole).
    collector) printf -- " --marketplace_address=127.0.0.1:%s --crawl_interval=15m --pg_pool_size=16" \
      "$MARKETPLACE_GRPC_PORT"
      printf -- " --retention_days=%s" "${RETENTION_DAYS:-1825}" ;;
    recommender) printf -- " --artifact_dir=%s/models" "$RUN_DIR" ;;
    # Personalised emails include products recommended for the customer.
    analyzer) printf -- " --recommender_address=127.0.0.1:%s" "$RECOMMENDER_GRPC_PORT" ;;
    gateway) printf -- " --http_port=%s --collector_address=127.0.0.1:%s --analyzer_address=127.0.0.1:%s" \
      "$GATEWAY_HTTP_PORT" "$COLLECTOR_GRPC_PORT" "$ANALYZER_GRPC_PORT"
      printf -- " --recommender_address=127.0.0.1:%s" "$RECOMMENDER_GRPC_PORT" ;;
  esac
  # Anything else for this service, e.g. MARKETPLACE_EXTRA_ARGS="--products=200 --fault_unavailable_rate=0.1".
  local extra_var="${upper}_EXTRA_ARGS"
  [ -n "${!extra_var:-}" ] && printf -- " %s" "${!extra_var}"
  return 0
}

SECRETS_DIR="$RUN_DIR/secrets"
mkdir -p "$SECRETS_DIR"
chmod 700 "$SECRETS_DIR"
if [ ! -s "$SECRETS_DIR/marketplace_page_token_key" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 >"$SECRETS_DIR/marketplace_page_token_key")
fi

started=()
for name in "${SERVICES[@]}"; do
  bin="bazel-bin/services/$name/$name"
  [ -x "$bin" ] || continue
  started+=("$name")
  pidfile="$PID_DIR/$name.pid"
  if pid_alive "$pidfile"; then
    say "$name already running (pid $(cat "$pidfile"))"
    continue
  fi
  say "starting $name"
  # A copy of the binary, so a later `bazel build` cannot swap it under the running process.
  cp -f "$bin" "$RUN_DIR/$name.bin"
  eval "set -- $(service_args "$name")"
  nohup "$RUN_DIR/$name.bin" "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
done

say "waiting for the services to report healthy"
for name in "${started[@]}"; do
  upper="$(echo "$name" | tr a-z A-Z)"
  port_var="${upper}_GRPC_PORT"
  healthy=0
  for _ in $(seq 120); do
    if ! pid_alive "$PID_DIR/$name.pid"; then
      rm -f "$PID_DIR/$name.pid"
      tail -n 5 "$LOG_DIR/$name.log" >&2 || true
      die "$name exited during start-up, see $LOG_DIR/$name.log"
    fi
    if bazel-bin/common/grpc_health/health_probe --target="127.0.0.1:${!port_var}" --timeout_ms=500 \
      >/dev/null 2>&1; then
      healthy=1
      break
    fi
    sleep 0.5
  done
  if [ "$healthy" -ne 1 ]; then
    tail -n 5 "$LOG_DIR/$name.log" >&2 || true
    die "$name is not healthy after 60 s, see $LOG_DIR/$name.log"
  fi
done

# ---- Prometheus (optional: MARKETLENS_PROMETHEUS=1) -------------------------------------------------
if [ "${MARKETLENS_PROMETHEUS:-0}" = 1 ]; then
  PROM_DIR="$RUN_DIR/prometheus"
  mkdir -p "$PROM_DIR/data"
  # The checked-in config with this run's ports.
  sed -e "s/127.0.0.1:9101/127.0.0.1:$MARKETPLACE_METRICS_PORT/; s/127.0.0.1:9102/127.0.0.1:$COLLECTOR_METRICS_PORT/" \
      -e "s/127.0.0.1:9103/127.0.0.1:$ANALYZER_METRICS_PORT/; s/127.0.0.1:9104/127.0.0.1:$RECOMMENDER_METRICS_PORT/" \
      -e "s/127.0.0.1:9105/127.0.0.1:$GATEWAY_METRICS_PORT/" deploy/observability/prometheus.yml >"$PROM_DIR/prometheus.yml"
  cp deploy/observability/alerts.yml "$PROM_DIR/alerts.yml"
  if pid_alive "$PID_DIR/prometheus.pid"; then
    say "Prometheus already running on 127.0.0.1:$PROMETHEUS_PORT"
  else
    say "starting Prometheus on 127.0.0.1:$PROMETHEUS_PORT"
    nohup prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
      --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >>"$LOG_DIR/prometheus.log" 2>&1 </dev/null &
    echo $! >"$PID_DIR/prometheus.pid"
  fi
fi

# ---- A dashboard API key (made once, kept in .run/secrets) -------------------------------------------
if [ -x bazel-bin/services/gateway/cli ] && [ ! -s "$SECRETS_DIR/dashboard_api_key" ]; then
  (umask 077 && bazel-bin/services/gateway/cli create-key --pg_dsn="$PG_DSN" --name=local-dashboard \
    --scopes=write --quiet >"$SECRETS_DIR/dashboard_api_key") || die "could not create the dashboard API key"
fi

say "marketlens is up"
printf '  %-12s %-22s %-22s %s\n' "what" "gRPC" "metrics" "log"
printf '  %-12s %-22s %-22s %s\n' "postgres" "127.0.0.1:$PG_PORT" "-" ".run/logs/postgres.log (dsn: $PG_DSN)"
printf '  %-12s %-22s %-22s %s\n' "redis" "127.0.0.1:$REDIS_PORT" "-" ".run/logs/redis.log"
for name in "${started[@]}"; do
  upper="$(echo "$name" | tr a-z A-Z)"
  g="${upper}_GRPC_PORT"; m="${upper}_METRICS_PORT"
  printf '  %-12s %-22s %-22s %s\n' "$name" "127.0.0.1:${!g}" "http://127.0.0.1:${!m}/metrics" ".run/logs/$name.log"
done
if [ -s "$SECRETS_DIR/dashboard_api_key" ]; then
  printf '  %-12s %s\n' "dashboard" "http://127.0.0.1:$GATEWAY_HTTP_PORT/  (API key: $(cat "$SECRETS_DIR/dashboard_api_key"), also in .run/secrets/dashboard_api_key)"
fi
if pid_alive "$PID_DIR/prometheus.pid"; then
  printf '  %-12s %-22s %-22s %s\n' "prometheus" "-" "http://127.0.0.1:$PROMETHEUS_PORT" ".run/logs/prometheus.log"
fi
echo "  stop everything: deploy/local/down.sh"
