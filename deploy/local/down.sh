#!/usr/bin/env bash
# Stops exactly what up.sh started (services by their pid files, Redis, PostgreSQL). Keeps the data.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

stop_pid() {  # name pidfile: SIGTERM, wait up to 15 s for the drain, then SIGKILL
  local name="$1" pidfile="$2" pid
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid="$(cat "$pidfile")"
  echo "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 150); do pid_alive "$pidfile" || break; sleep 0.1; done
  if pid_alive "$pidfile"; then
    echo "$name did not stop within 15 s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
}

for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
  stop_pid "${SERVICES[$i]}" "$PID_DIR/${SERVICES[$i]}.pid"
done
stop_pid prometheus "$PID_DIR/prometheus.pid"
stop_pid redis "$PID_DIR/redis.pid"

PG_DATA="$RUN_DIR/postgres/data"
if [ -f "$PG_DATA/postmaster.pid" ]; then
  echo "stopping PostgreSQL"
  as_pg "$PG_BIN/pg_ctl" -D "$(readlink -f "$RUN_DIR/postgres")/data" -m fast -w -t 30 stop >/dev/null ||
    echo "PostgreSQL did not stop cleanly" >&2
fi
echo "marketlens is down (data kept in $RUN_DIR)"
