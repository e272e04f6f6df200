"""The local constellation as the end-to-end tests drive it: started and stopped with deploy/local/up.sh and
down.sh (exactly as a user does), on its own ports and run directory, plus small helpers to call the
gateway's REST API, query Postgres, wait for conditions and read the marketplace's planted truth.

Standard library only, so the tests need nothing beyond Debian's python3.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICES = ["marketplace", "collector", "analyzer", "recommender", "gateway"]


class CheckFailed(Exception):
    pass


class Checks:
    """Counts named checks; a failed one is printed and counted, the run goes on where it can."""

    def __init__(self):
        self.failures = []

    def check(self, what, ok, detail=""):
        if ok:
            print(f"ok: {what}", flush=True)
        else:
            print(f"FAIL: {what} {detail}", file=sys.stderr, flush=True)
            self.failures.append(what)
        return ok

    def require(self, what, ok, detail=""):
        """A check the rest of the test cannot do without."""
        if not self.check(what, ok, detail):
            raise CheckFailed(what)


def wait_for(what, fn, timeout_s, interval_s=1.0):
    """Polls fn until it returns a truthy value (returned) or the deadline passes (returns the last value)."""
    deadline = time.monotonic() + timeout_s
    value = None
    while True:
        try:
            value = fn()
        except Exception as e:  # a service restarting: keep polling
            value = None
            last_error = e
        if value:
            return value
        if time.monotonic() > deadline:
            print(f"  (gave up waiting for {what} after {timeout_s:.0f} s)", file=sys.stderr, flush=True)
            return value
        time.sleep(interval_s)


class Stack:
    """One constellation on ports base+N (below Linux's ephemeral range) and a throwaway run directory."""

    def __init__(self, port_base, extra_args=None):
        self.run_dir = tempfile.mkdtemp(prefix="marketlens-e2e.")
        os.chmod(self.run_dir, 0o755)
        p = port_base
        self.ports = {
            "PG_PORT": p + 432, "REDIS_PORT": p + 379,
            "MARKETPLACE_GRPC_PORT": p + 51, "COLLECTOR_GRPC_PORT": p + 52, "ANALYZER_GRPC_PORT": p + 53,
            "RECOMMENDER_GRPC_PORT": p + 54, "GATEWAY_GRPC_PORT": p + 55, "GATEWAY_HTTP_PORT": p + 80,
            "MARKETPLACE_METRICS_PORT": p + 101, "COLLECTOR_METRICS_PORT": p + 102,
            "ANALYZER_METRICS_PORT": p + 103, "RECOMMENDER_METRICS_PORT": p + 104,
            "GATEWAY_METRICS_PORT": p + 105, "PROMETHEUS_PORT": p + 90,
        }
        self.env = dict(os.environ)
        self.env.update({k: str(v) for k, v in self.ports.items()})
        self.env["MARKETLENS_RUN_DIR"] = self.run_dir
        self.env.pop("MARKETLENS_PROMETHEUS", None)
        for name, args in (extra_args or {}).items():
            self.env[f"{name.upper()}_EXTRA_ARGS"] = args
        self.api_key = None

    # ---- lifecycle ------------------------------------------------------------------------------------
    def up(self, quiet=False):
        out = subprocess.DEVNULL if quiet else None
        subprocess.run(["bash", "deploy/local/up.sh"], cwd=ROOT, env=self.env, check=True, stdout=out)
        with open(os.path.join(self.run_dir, "secrets", "dashboard_api_key")) as f:
            self.api_key = f.read().strip()

    def down(self):
        return subprocess.run(["bash", "deploy/local/down.sh"], cwd=ROOT, env=self.env, capture_output=True,
                              text=True).stdout

    def destroy(self):
        self.down()
        if os.environ.get("MARKETLENS_E2E_KEEP"):
            print(f"kept {self.run_dir}")
            return
        # Postgres' data may live outside the run dir (see up.sh) when the checkout is not reachable.
        pg = os.path.join(self.run_dir, "postgres")
        if os.path.islink(pg):
            shutil.rmtree(os.path.realpath(pg), ignore_errors=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def pid(self, service):
        try:
            with open(os.path.join(self.run_dir, "pids", f"{service}.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def kill(self, service, sig=signal.SIGKILL):
        """Kills a service (or "redis") by its pid file and waits until it is gone."""
        pid = self.pid(service)
        if pid is None:
            raise CheckFailed(f"no pid for {service}")
        os.kill(pid, sig)
        wait_for(f"{service} to exit", lambda: not _alive(pid), 20, 0.1)
        return pid

    def kill_postgres(self):
        """SIGKILL on the postmaster (its children then exit): what a crashed database host looks like."""
        pidfile = os.path.join(self.run_dir, "postgres", "data", "postmaster.pid")
        with open(pidfile) as f:
            pid = int(f.readline().strip())
        os.kill(pid, signal.SIGKILL)
        wait_for("postgres to exit", lambda: not _alive(pid), 20, 0.1)
        # Its backends go away once they notice the postmaster died.
        time.sleep(1)

    def log(self, service):
        with open(os.path.join(self.run_dir, "logs", f"{service}.log"), errors="replace") as f:
            return f.read()

    # ---- calls ----------------------------------------------------------------------------------------
    def http(self, method, path, body=None, timeout=20, key=True):
        """(status, parsed JSON or None) of one gateway call."""
        url = f"http://127.0.0.1:{self.ports['GATEWAY_HTTP_PORT']}{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if key and self.api_key:
            req.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def get(self, path, **kw):
        return self.http("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.http("POST", path, body, **kw)

    def psql(self, sql):
        """One query's rows as lists of strings (psql's unaligned output)."""
        out = subprocess.run(
            ["psql", "-X", "-qtA", "-F", "\t", "-h", "127.0.0.1", "-p", str(self.ports["PG_PORT"]),
             "-U", "marketlens", "-d", "marketlens", "-c", sql],
            capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def scalar(self, sql):
        rows = self.psql(sql)
        return rows[0][0] if rows else None

    def metrics(self, service):
        port = self.ports[f"{service.upper()}_METRICS_PORT"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            return resp.read().decode()

    def healthy(self, service):
        port = self.ports[f"{service.upper()}_GRPC_PORT"]
        return subprocess.run([os.path.join(ROOT, "bazel-bin/common/grpc_health/health_probe"),
                               f"--target=127.0.0.1:{port}", "--timeout_ms=1000"],
                              capture_output=True).returncode == 0


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (our own child) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def build_tools():
    """The CLIs the tests call beside the stack (up.sh builds the services themselves)."""
    # MARKETLENS_BAZEL_FLAGS: the full run's configuration (tests/run.sh), as up.sh builds with.
    subprocess.run(["bazel", "build", f"--disk_cache={os.path.expanduser('~/.cache/marketlens/bazel-disk')}",
                    *os.environ.get("MARKETLENS_BAZEL_FLAGS", "").split(),
                    "//services/marketplace:cli", "//services/recommender:cli",
                    "//common/grpc_health:health_probe"], cwd=ROOT, check=True)


def load_truth(products, seed):
    """The marketplace's planted truth for a generated world, written by its CLI (same seed, same world)."""
    out_dir = tempfile.mkdtemp(prefix="marketlens-truth.")
    try:
        subprocess.run([os.path.join(ROOT, "bazel-bin/services/marketplace/cli"), "truth", "--out", out_dir,
                        f"--products={products}", f"--seed={seed}"], check=True, stdout=subprocess.DEVNULL)
        truth = {}
        for name in os.listdir(out_dir):
            if name.startswith("truth_") and name.endswith(".jsonl"):
                with open(os.path.join(out_dir, name)) as f:
                    truth[name[len("truth_"):-len(".jsonl")]] = [json.loads(line) for line in f if line.strip()]
        return truth
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
