#!/usr/bin/env bash
# Prometheus config and alert rules are valid, every alert behaves as alerts_test.yml says, every alert has
# a runbook section, and the Grafana dashboard is valid JSON whose queries use metrics the services export.
set -uo pipefail
cd deploy/observability
command -v promtool >/dev/null || { echo "FAIL: promtool missing (Debian package prometheus)"; exit 1; }
failures=0
promtool check config prometheus.yml || failures=$((failures + 1))
promtool check rules alerts.yml || failures=$((failures + 1))
promtool test rules alerts_test.yml || failures=$((failures + 1))
for alert in $(grep -oP '^\s+- alert: \K\w+' alerts.yml); do
  anchor="$(echo "$alert" | tr 'A-Z' 'a-z')"
  grep -qi "^## $alert\$" runbook.md || { echo "FAIL: no runbook section '## $alert'"; failures=$((failures + 1)); }
  grep -q "runbook: deploy/observability/runbook.md#$anchor" alerts.yml || { echo "FAIL: $alert does not link its runbook"; failures=$((failures + 1)); }
done
python3 - <<'PY' || failures=$((failures + 1))
import json, re, sys
d = json.load(open("grafana-dashboard.json"))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert exprs, "no queries"
known = ("grpc_server_", "grpc_client_", "marketlens_dependency_up", "collector_", "analyzer_", "recommender_", "http_request", "up")
for e in exprs:
    for m in re.findall(r"\b([a-z_]+)(?:\{|\[)", e):
        if m in ("by", "rate", "sum", "histogram_quantile", "increase", "max", "min", "clamp_min"):
            continue
        if not m.startswith(known):
            sys.exit(f"FAIL: dashboard uses unknown metric {m}")
print(f"dashboard: {len(d['panels'])} panels, {len(exprs)} queries")
PY
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "alerts_test: all checks passed"
