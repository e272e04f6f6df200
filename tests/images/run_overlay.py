#!/usr/bin/env python3
"""Runs a rendered Kubernetes overlay's workloads under podman, as the manifests say.

One podman pod stands in for the cluster: every workload's containers join it (the services' ports do not
collide), the Services' names resolve to the pod's loopback through a mounted /etc/hosts, and the pod has
no network beyond its loopback (nothing can reach a registry or the host's servers). Each container runs
with its manifest's image, command, args, env (envFrom/configMapKeyRef/secretKeyRef resolved from the
rendered ConfigMaps and Secrets made here), volumes (emptyDir -> a world-writable directory, Secret -> files, the StatefulSet's
claim -> a directory), user/group, read-only root filesystem, dropped capabilities and no-new-privileges.
Probes (grpc, httpGet, tcpSocket, exec) are run by this script inside the pod's network namespace.

Why not `podman kube play`: Debian 12's podman (4.3) plays Pods and Deployments, but not the StatefulSet,
the Job or the CronJobs the overlay also has, and does not run gRPC probes; the order (Postgres, the
migration Job, init containers, services) is the manifests' too.

What differs from a cluster, on purpose: one replica per workload, no resource limits (this machine's
cgroup v1 layout), NetworkPolicies and HPAs/PDBs are not enforced.

  run_overlay.py up   --manifests FILE --tag TAG --pod NAME --workdir DIR --health-probe BIN
  run_overlay.py job  --manifests FILE --tag TAG --pod NAME --workdir DIR --name CRONJOB_OR_JOB [--timeout S | --detach]
  run_overlay.py run  --manifests FILE --tag TAG --pod NAME --workdir DIR --like WORKLOAD -- COMMAND...
  run_overlay.py down --pod NAME
"""
import argparse
import json
import os
import secrets
import shlex
import subprocess
import sys
import time

import yaml

NAMESPACE = "marketlens"
# The Secrets k8s/README.md says to create before applying (never committed): made fresh per run.
SECRET_KEYS = {
    "marketlens-postgres": {"username": lambda: "marketlens", "password": lambda: secrets.token_hex(24)},
    "marketlens-redis": {"password": lambda: secrets.token_hex(24)},
    "marketlens-marketplace": {"page_token_key": lambda: secrets.token_hex(32)},
}
# Start order: storage first, then the schema, then the services in dependency order.
ORDER = ["postgres", "redis", "marketplace", "collector", "analyzer", "recommender", "gateway"]


def log(msg):
    print(f"run_overlay: {msg}", file=sys.stderr, flush=True)


def sh(args, check=True, capture=True, timeout=None):
    r = subprocess.run(args, capture_output=capture, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise SystemExit(f"run_overlay: {' '.join(map(shlex.quote, args))} failed ({r.returncode}):\n"
                         f"{r.stdout}{r.stderr}")
    return r


class Overlay:
    def __init__(self, args):
        self.args = args
        self.docs = [d for d in yaml.safe_load_all(open(args.manifests)) if d]
        self.by_kind = {}
        for d in self.docs:
            self.by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
        self.workdir = os.path.abspath(args.workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.state_path = os.path.join(self.workdir, "state.json")
        self.state = json.load(open(self.state_path)) if os.path.exists(self.state_path) else {"containers": []}

    def save(self):
        json.dump(self.state, open(self.state_path, "w"), indent=1)

    # ---- inputs -------------------------------------------------------------------------------------
    def image(self, ref):
        name, _, _ = ref.partition(":")
        if not name.startswith("marketlens/"):
            raise SystemExit(f"run_overlay: image {ref} is not a marketlens image (no public registry here)")
        return f"localhost/{name}:{self.args.tag}"

    def secret_dir(self, name):
        if name not in SECRET_KEYS:
            raise SystemExit(f"run_overlay: the manifests use Secret {name}, which k8s/README.md does not list")
        d = os.path.join(self.workdir, "secrets", name)
        if not os.path.isdir(d):
            os.makedirs(d)
            for key, make in SECRET_KEYS[name].items():
                with open(os.path.join(d, key), "w") as f:
                    f.write(make())
                os.chmod(os.path.join(d, key), 0o644)
        return d

    def secret_value(self, name, key):
        return open(os.path.join(self.secret_dir(name), key)).read()

    def config_value(self, name, key):
        return self.by_kind["ConfigMap"][name]["data"][key]

    def hosts_file(self):
        path = os.path.join(self.workdir, "hosts")
        names = ["localhost"]
        for s in self.by_kind.get("Service", {}):
            names += [s, f"{s}.{NAMESPACE}", f"{s}.{NAMESPACE}.svc", f"{s}.{NAMESPACE}.svc.cluster.local"]
        with open(path, "w") as f:
            f.write("127.0.0.1 " + " ".join(names) + "\n")
        return path

    # ---- pod ----------------------------------------------------------------------------------------
    def create_pod(self):
        sh(["podman", "pod", "create", "--name", self.args.pod, "--network", "none",
            "--label", "marketlens.test=images"])
        self.hosts_file()
        self.state = {"pod": self.args.pod, "containers": []}
        self.save()

    def pod_pid(self):
        infra = sh(["podman", "pod", "inspect", "-f", "{{.InfraContainerID}}", self.args.pod]).stdout.strip()
        return sh(["podman", "inspect", "-f", "{{.State.Pid}}", infra]).stdout.strip()

    def netns(self):
        return ["nsenter", f"--net=/proc/{self.pod_pid()}/ns/net"]

    # ---- containers ---------------------------------------------------------------------------------
    def container_args(self, workload, pod_spec, c, name, detach):
        psc = pod_spec.get("securityContext", {})
        csc = c.get("securityContext", {})
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        gid = csc.get("runAsGroup", psc.get("runAsGroup"))
        fs_group = psc.get("fsGroup")
        a = ["podman", "run", "--pod", self.args.pod, "--name", name, "--label", "marketlens.test=images"]
        a += ["-d"] if detach else ["--rm"]
        if uid is not None:
            a += ["--user", f"{uid}:{gid if gid is not None else uid}"]
        if fs_group is not None:
            a += ["--group-add", str(fs_group)]
        if csc.get("readOnlyRootFilesystem"):
            a += ["--read-only", "--read-only-tmpfs=false"]
        if "ALL" in csc.get("capabilities", {}).get("drop", []):
            a += ["--cap-drop", "all"]
        if csc.get("allowPrivilegeEscalation") is False:
            a += ["--security-opt", "no-new-privileges"]
        a += ["-v", f"{os.path.join(self.workdir, 'hosts')}:/etc/hosts:ro"]
        for ef in c.get("envFrom", []):
            if "configMapRef" in ef:
                for k, v in self.by_kind["ConfigMap"][ef["configMapRef"]["name"]]["data"].items():
                    a += ["-e", f"{k}={v}"]
            elif "secretRef" in ef:
                d = self.secret_dir(ef["secretRef"]["name"])
                for k in sorted(os.listdir(d)):
                    a += ["-e", f"{k}={open(os.path.join(d, k)).read()}"]
        for e in c.get("env", []):
            if "value" in e:
                v = e["value"]
            else:
                vf = e["valueFrom"]
                if "configMapKeyRef" in vf:
                    v = self.config_value(vf["configMapKeyRef"]["name"], vf["configMapKeyRef"]["key"])
                elif "secretKeyRef" in vf:
                    v = self.secret_value(vf["secretKeyRef"]["name"], vf["secretKeyRef"]["key"])
                elif "fieldRef" in vf:
                    v = {"metadata.name": f"{workload}-0", "metadata.namespace": NAMESPACE,
                         "status.podIP": "127.0.0.1"}[vf["fieldRef"]["fieldPath"]]
                else:
                    raise SystemExit(f"run_overlay: env {e['name']}: unsupported valueFrom {vf}")
            a += ["-e", f"{e['name']}={v}"]
        volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
        for vm in c.get("volumeMounts", []):
            v = volumes.get(vm["name"])
            target = vm["mountPath"]
            ro = ":ro" if vm.get("readOnly") else ""
            if v is None:  # a StatefulSet's volumeClaimTemplate: a directory that outlives the container
                d = os.path.join(self.workdir, "claims", f"{workload}-{vm['name']}")
                os.makedirs(d, exist_ok=True)
                os.chown(d, uid or 0, fs_group or gid or 0)
                os.chmod(d, 0o770)
                a += ["-v", f"{d}:{target}{ro}"]
            elif "emptyDir" in v:  # world-writable like a node's emptyDir (podman's tmpfs mounts keep
                d = os.path.join(self.workdir, "emptydirs", f"{name}-{vm['name']}")  # the image's mode)
                os.makedirs(d, exist_ok=True)
                os.chmod(d, 0o1777)
                a += ["-v", f"{d}:{target}"]
            elif "secret" in v:
                src = self.secret_dir(v["secret"]["secretName"])
                items = v["secret"].get("items")
                if items:
                    d = os.path.join(self.workdir, "volumes", f"{name}-{vm['name']}")
                    os.makedirs(d, exist_ok=True)
                    for it in items:
                        with open(os.path.join(d, it["path"]), "w") as f:
                            f.write(open(os.path.join(src, it["key"])).read())
                        os.chmod(os.path.join(d, it["path"]), 0o644)
                    src = d
                a += ["-v", f"{src}:{target}:ro"]
            elif "configMap" in v:
                d = os.path.join(self.workdir, "volumes", f"{name}-{vm['name']}")
                os.makedirs(d, exist_ok=True)
                for k, val in self.by_kind["ConfigMap"][v["configMap"]["name"]]["data"].items():
                    with open(os.path.join(d, k), "w") as f:
                        f.write(val)
                a += ["-v", f"{d}:{target}:ro"]
            else:
                raise SystemExit(f"run_overlay: volume {vm['name']}: unsupported kind {list(v)}")
        if "command" in c:
            a += ["--entrypoint", json.dumps(c["command"])]
        a.append(self.image(c["image"]))
        a += c.get("args", [])
        return a

    def run_to_completion(self, workload, pod_spec, c, timeout):
        name = f"{self.args.pod}-{workload}-{c['name']}"
        t = time.time()
        r = sh(self.container_args(workload, pod_spec, c, name, detach=False), check=False, timeout=timeout)
        if r.returncode != 0:
            raise SystemExit(f"run_overlay: {workload}/{c['name']} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        log(f"{workload}/{c['name']} completed in {time.time() - t:.1f}s")
        return r.stdout

    def start(self, workload, pod_spec, c):
        name = f"{self.args.pod}-{workload}-{c['name']}"
        sh(self.container_args(workload, pod_spec, c, name, detach=True))
        self.state["containers"].append({"workload": workload, "container": c["name"], "name": name,
                                         "spec": c})
        self.save()
        return name

    # ---- probes -------------------------------------------------------------------------------------
    def port_number(self, c, port):
        if isinstance(port, int):
            return port
        for p in c.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
        raise SystemExit(f"run_overlay: {c['name']}: no port named {port}")

    def probe_once(self, name, c, probe):
        ns = self.netns()
        if "grpc" in probe:
            cmd = ns + [self.args.health_probe, f"--target=127.0.0.1:{probe['grpc']['port']}",
                        "--timeout_ms=1000"]
            if probe["grpc"].get("service"):
                cmd.append(f"--service={probe['grpc']['service']}")
        elif "httpGet" in probe:
            port = self.port_number(c, probe["httpGet"]["port"])
            cmd = ns + ["curl", "-fsS", "-o", "/dev/null", "--max-time", "2",
                        f"http://127.0.0.1:{port}{probe['httpGet'].get('path', '/')}"]
        elif "tcpSocket" in probe:
            port = self.port_number(c, probe["tcpSocket"]["port"])
            cmd = ns + ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"]
        elif "exec" in probe:
            cmd = ["podman", "exec", name] + probe["exec"]["command"]
        else:
            raise SystemExit(f"run_overlay: unsupported probe {probe}")
        return sh(cmd, check=False, timeout=30).returncode == 0

    def wait_probe(self, name, c, kind, limit_s):
        probe = c.get(kind)
        if not probe:
            return True
        deadline = time.time() + max(limit_s, probe.get("initialDelaySeconds", 0) +
                                     probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3))
        while time.time() < deadline:
            state = sh(["podman", "inspect", "-f", "{{.State.Status}}", name]).stdout.strip()
            if state != "running":
                logs = sh(["podman", "logs", "--tail", "30", name], check=False)
                raise SystemExit(f"run_overlay: {name} is {state}:\n{logs.stdout}{logs.stderr}")
            if self.probe_once(name, c, probe):
                return True
            time.sleep(1)
        logs = sh(["podman", "logs", "--tail", "30", name], check=False)
        raise SystemExit(f"run_overlay: {name}: {kind} never passed:\n{logs.stdout}{logs.stderr}")

    def wait_healthy(self, name, c):
        t = time.time()
        self.wait_probe(name, c, "startupProbe", 120)
        self.wait_probe(name, c, "readinessProbe", 120)
        self.wait_probe(name, c, "livenessProbe", 30)
        log(f"{name}: probes pass ({time.time() - t:.1f}s)")

    # ---- workloads ----------------------------------------------------------------------------------
    def workloads(self):
        out = {}
        for kind in ("StatefulSet", "Deployment"):
            for n, d in self.by_kind.get(kind, {}).items():
                out[n] = d["spec"]["template"]["spec"]
        unknown = set(out) - set(ORDER)
        if unknown:
            raise SystemExit(f"run_overlay: workloads without a start order: {sorted(unknown)}")
        return out

    def job_spec(self, name):
        if name in self.by_kind.get("CronJob", {}):
            return self.by_kind["CronJob"][name]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return self.by_kind["Job"][name]["spec"]["template"]["spec"]

    def up(self):
        self.create_pod()
        workloads = self.workloads()
        for w in ORDER:
            if w not in workloads:
                continue
            spec = workloads[w]
            for ic in spec.get("initContainers", []):
                self.run_to_completion(w, spec, ic, timeout=300)
            for c in spec["containers"]:
                name = self.start(w, spec, c)
                self.wait_healthy(name, c)
            if w == "postgres":  # the schema Job runs once the database answers, as in the cluster
                for j in self.by_kind.get("Job", {}):
                    spec_j = self.job_spec(j)
                    for c in spec_j["containers"]:
                        self.run_to_completion(j, spec_j, c, timeout=300)
        log(f"pod {self.args.pod}: {len(self.state['containers'])} containers up, probes passing")

    def job(self):
        spec = self.job_spec(self.args.name)
        for c in spec["containers"]:
            if self.args.detach:  # started like the Job's pod; the caller watches its effect and its exit
                print(self.start(self.args.name, spec, c))
            else:
                sys.stdout.write(self.run_to_completion(self.args.name, spec, c, timeout=self.args.timeout))

    def run_like(self):
        spec = self.workloads()[self.args.like] if self.args.like in self.workloads() else self.job_spec(self.args.like)
        c = dict(spec["containers"][0])
        c["command"], c["args"], c["name"] = self.args.command[:1], self.args.command[1:], "adhoc"
        c.pop("startupProbe", None)
        sys.stdout.write(self.run_to_completion(self.args.like, spec, c, timeout=120))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("action", choices=["up", "job", "run", "down"])
    p.add_argument("--manifests")
    p.add_argument("--tag")
    p.add_argument("--pod", required=True)
    p.add_argument("--workdir")
    p.add_argument("--health-probe")
    p.add_argument("--name")
    p.add_argument("--like")
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--detach", action="store_true")
    # Everything after "--" is the command of `run` (argparse would bind an empty positional list early).
    argv = sys.argv[1:]
    command = argv[argv.index("--") + 1:] if "--" in argv else []
    args = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.command = command
    if args.action == "down":
        sh(["podman", "pod", "rm", "-f", "-t", "10", args.pod], check=False)
        return
    o = Overlay(args)
    {"up": o.up, "job": o.job, "run": o.run_like}[args.action]()


if __name__ == "__main__":
    main()
