#!/usr/bin/env python3
"""Renders every k8s overlay with `kubectl kustomize` (offline) and checks what a reviewer would:

every object parses and has the fields its kind requires; every container has probes, resource requests and
limits and a locked-down security context; selectors match pod labels; Service target ports exist on the
pods; the services' ports match their defaults in deploy/local/env.sh; HPAs and PDBs point at something; a
default-deny NetworkPolicy covers the namespace and every service pod has its own ingress rule; Jobs and
CronJobs are bounded (backoffLimit; CronJobs: concurrencyPolicy Forbid/Replace, startingDeadlineSeconds,
activeDeadlineSeconds, restartPolicy Never/OnFailure) and each has an egress NetworkPolicy of its own (under
default deny it could reach nothing else); every container runs an image deploy/images/build.sh builds
(marketlens/<image>, all of one overlay at one tag; the only other image is CloudNativePG's operand, pinned by digest); the recommender's training CronJob exists, runs the image's CLI
`train --register --promote`, and may reach Postgres only; no Secret value is committed anywhere.

Usage: check_manifests.py REPO_ROOT  (exit 0 when every check passes; prints each failure)
"""
import os
import re
import subprocess
import sys

import yaml

SERVICES = ["marketplace", "collector", "analyzer", "recommender", "gateway"]
# The images of deploy/images/images.txt.
BUILT_IMAGES = SERVICES + ["migrate", "postgres", "redis"]
REQUIRED = {  # kind -> fields every object of that kind must have under spec (or at top level)
    "Deployment": ["spec.selector", "spec.template.spec.containers"],
    "StatefulSet": ["spec.selector", "spec.serviceName", "spec.template.spec.containers"],
    "Service": ["spec.ports"],
    "ConfigMap": ["data"],
    "Job": ["spec.template.spec.containers"],
    "CronJob": ["spec.schedule", "spec.jobTemplate.spec.template.spec.containers"],
    "HorizontalPodAutoscaler": ["spec.scaleTargetRef", "spec.maxReplicas", "spec.metrics"],
    "PodDisruptionBudget": ["spec.selector"],
    "NetworkPolicy": ["spec.podSelector", "spec.policyTypes"],
    "Namespace": [],
    "Cluster": ["spec.instances", "spec.storage"],
}
API_VERSIONS = {
    "Deployment": "apps/v1", "StatefulSet": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
    "Namespace": "v1", "Job": "batch/v1", "CronJob": "batch/v1", "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1", "NetworkPolicy": "networking.k8s.io/v1",
    "Cluster": "postgresql.cnpg.io/v1",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|APIKEY|CREDENTIAL", re.I)

failures = []


def fail(where, what):
    failures.append(f"{where}: {what}")


def get(obj, dotted):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def default_ports(root):
    """{service: {"grpc": N, "metrics": N}} from deploy/local/env.sh, the defaults the binaries use."""
    text = open(os.path.join(root, "deploy/local/env.sh")).read()
    ports = {}
    for name in SERVICES:
        for kind in ("GRPC", "METRICS"):
            m = re.search(r'%s_%s_PORT="\$\{%s_%s_PORT:-(\d+)\}"' % ((name.upper(), kind) * 2), text)
            if m:
                ports.setdefault(name, {})[kind.lower()] = int(m.group(1))
    return ports


def pod_specs(obj):
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "Job"):
        return [get(obj, "spec.template")]
    if kind == "CronJob":
        return [get(obj, "spec.jobTemplate.spec.template")]
    return []


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def check_container(where, c, is_init):
    name = f"{where} container {c.get('name')}"
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(part) or {}):
                fail(name, f"no resources.{part}.{r}")
    sc = c.get("securityContext") or {}
    if sc.get("allowPrivilegeEscalation") is not False:
        fail(name, "allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        fail(name, "readOnlyRootFilesystem must be true")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        fail(name, "capabilities must drop ALL")
    for env in c.get("env") or []:
        if SECRET_NAME.search(env.get("name", "")) and "value" in env and not env["name"].endswith("_FILE"):
            fail(name, f"env {env['name']} has a literal value: secrets come from Secrets")


def check_overlay(root, overlay, ports):
    where0 = f"overlay {overlay}"
    out = subprocess.run(["kubectl", "kustomize", os.path.join(root, "k8s/overlays", overlay)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail(where0, f"kubectl kustomize failed: {out.stderr.strip()}")
        return
    try:
        docs = [d for d in yaml.safe_load_all(out.stdout) if d is not None]
    except yaml.YAMLError as e:
        fail(where0, f"rendered YAML does not parse: {e}")
        return
    if not docs:
        fail(where0, "renders nothing")
        return

    by_kind = {}
    for d in docs:
        kind, name = d.get("kind"), get(d, "metadata.name")
        where = f"{where0} {kind}/{name}"
        if not kind or not name or not d.get("apiVersion"):
            fail(where, "missing apiVersion, kind or metadata.name")
            continue
        if kind not in API_VERSIONS:
            fail(where, f"unexpected kind {kind}")
        elif d["apiVersion"] != API_VERSIONS[kind]:
            fail(where, f"apiVersion {d['apiVersion']}, want {API_VERSIONS[kind]}")
        for field in REQUIRED.get(kind, []):
            value = get(d, field)
            # An empty podSelector ({}) is meaningful: it selects every pod.
            if value is None or (value in ([], {}) and not field.endswith("podSelector")):
                fail(where, f"missing {field}")
        if kind != "Namespace" and get(d, "metadata.namespace") != "marketlens":
            fail(where, "not in namespace marketlens")
        by_kind.setdefault(kind, []).append(d)

    # No secret values, ever.
    for s in by_kind.get("Secret", []):
        if s.get("data") or s.get("stringData"):
            fail(f"{where0} Secret/{s['metadata']['name']}", "a Secret with values is committed")
    for cm in by_kind.get("ConfigMap", []):
        for k, v in (cm.get("data") or {}).items():
            if SECRET_NAME.search(k) and not k.endswith("_FILE"):
                fail(f"{where0} ConfigMap/{cm['metadata']['name']}", f"key {k} looks like a secret")
            if re.search(r"password\s*=", str(v), re.I):
                fail(f"{where0} ConfigMap/{cm['metadata']['name']}", f"{k} holds a password")

    workloads = [d for k in ("Deployment", "StatefulSet", "Job", "CronJob") for d in by_kind.get(k, [])]
    pod_labels = []  # (workload, labels, containers)
    for w in workloads:
        where = f"{where0} {w['kind']}/{w['metadata']['name']}"
        for tmpl in pod_specs(w):
            labels = get(tmpl, "metadata.labels") or {}
            spec = tmpl.get("spec") or {}
            if w["kind"] in ("Deployment", "StatefulSet"):
                sel = get(w, "spec.selector.matchLabels")
                if not sel or not matches(sel, labels):
                    fail(where, f"selector {sel} does not match the pod labels {labels}")
            psc = spec.get("securityContext") or {}
            if psc.get("runAsNonRoot") is not True:
                fail(where, "pod securityContext.runAsNonRoot must be true")
            if get(psc, "seccompProfile.type") != "RuntimeDefault":
                fail(where, "pod seccompProfile must be RuntimeDefault")
            containers = spec.get("containers") or []
            for c in containers:
                check_container(where, c, False)
                if w["kind"] in ("Deployment", "StatefulSet"):
                    for probe in ("readinessProbe", "livenessProbe"):
                        if probe not in c:
                            fail(f"{where} container {c['name']}", f"no {probe}")
            for c in spec.get("initContainers") or []:
                check_container(where, c, True)
            pod_labels.append((w, labels, containers))
    check_images(where0, workloads)
    for cluster in by_kind.get("Cluster", []):
        check_operand_image(f"{where0} Cluster/{cluster['metadata']['name']}", cluster)

    # Our services: gRPC probes on the right port, ports as in deploy/local/env.sh.
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    for svc in SERVICES:
        where = f"{where0} Deployment/{svc}"
        d = deployments.get(svc)
        if d is None:
            fail(where0, f"no Deployment for {svc}")
            continue
        c = get(d, "spec.template.spec.containers")[0]
        cports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        env = {e["name"]: e.get("value") for e in c.get("env") or []}
        want = ports.get(svc, {})
        if cports.get("grpc") != want.get("grpc"):
            fail(where, f"grpc port {cports.get('grpc')}, deploy/local/env.sh says {want.get('grpc')}")
        if cports.get("metrics") != want.get("metrics"):
            fail(where, f"metrics port {cports.get('metrics')}, deploy/local/env.sh says {want.get('metrics')}")
        if env.get("MARKETLENS_GRPC_PORT") != str(cports.get("grpc")):
            fail(where, "MARKETLENS_GRPC_PORT does not match the grpc containerPort")
        if env.get("MARKETLENS_METRICS_PORT") != str(cports.get("metrics")):
            fail(where, "MARKETLENS_METRICS_PORT does not match the metrics containerPort")
        for probe in ("readinessProbe", "livenessProbe"):
            if get(c, f"{probe}.grpc.port") != cports.get("grpc"):
                fail(where, f"{probe} is not a native gRPC probe on the grpc port")
        if get(c, "livenessProbe.grpc.service") != "marketlens.liveness":
            fail(where, "livenessProbe must ask for service marketlens.liveness (readiness-independent)")
        grace = get(d, "spec.template.spec.terminationGracePeriodSeconds") or 30
        if grace <= 10:
            fail(where, "terminationGracePeriodSeconds must exceed the 10 s drain")

    # Services select pods and target ports those pods expose.
    for s in by_kind.get("Service", []):
        where = f"{where0} Service/{s['metadata']['name']}"
        sel = get(s, "spec.selector") or {}
        targets = [(w, cs) for w, labels, cs in pod_labels if sel and matches(sel, labels)]
        if not targets:
            fail(where, f"selector {sel} matches no pods")
            continue
        for p in get(s, "spec.ports") or []:
            tp = p.get("targetPort", p.get("port"))
            ok = any(tp in (cp.get("name"), cp.get("containerPort"))
                     for _, cs in targets for c in cs for cp in c.get("ports") or [])
            if not ok:
                fail(where, f"targetPort {tp} is not a port of the selected pods")

    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        ref = h["spec"]["scaleTargetRef"]
        if (ref.get("kind"), ref.get("name")) not in names:
            fail(f"{where0} HPA/{h['metadata']['name']}", f"scales {ref} which does not exist")
        if (h["spec"].get("minReplicas") or 1) > h["spec"]["maxReplicas"]:
            fail(f"{where0} HPA/{h['metadata']['name']}", "minReplicas > maxReplicas")
    for p in by_kind.get("PodDisruptionBudget", []):
        sel = get(p, "spec.selector.matchLabels")
        if not any(matches(sel, labels) for _, labels, _ in pod_labels):
            fail(f"{where0} PDB/{p['metadata']['name']}", f"selector {sel} matches no pods")

    # NetworkPolicies: default deny, and an ingress rule for every service pod.
    policies = by_kind.get("NetworkPolicy", [])
    if not any(get(p, "spec.podSelector") == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
               for p in policies):
        fail(where0, "no default-deny NetworkPolicy (podSelector {} for Ingress and Egress)")
    for svc in SERVICES:
        if not any("Ingress" in p["spec"]["policyTypes"] and p["spec"].get("ingress") and
                   matches(get(p, "spec.podSelector.matchLabels"), {"app.kubernetes.io/name": svc})
                   and get(p, "spec.podSelector.matchLabels")
                   for p in policies):
            fail(where0, f"no NetworkPolicy lets anything reach {svc}")

    check_jobs(where0, by_kind, policies)
    check_training(where0, by_kind, policies)


def image_name(image):
    """marketlens/recommender:1.2@sha256:... -> marketlens/recommender"""
    image = (image or "").split("@")[0]
    return image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


def check_images(where0, workloads):
    """Every container runs an image deploy/images/build.sh makes (marketlens/<image>), and every image of
    one overlay has the same tag: the overlay runs one build, pulls nothing from a public registry."""
    tags = {}
    for w in workloads:
        for tmpl in pod_specs(w):
            spec = tmpl.get("spec") or {}
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                image = c.get("image") or ""
                where = f"{where0} {w['kind']}/{w['metadata']['name']} container {c.get('name')}"
                name, tag = image_name(image), image.split("@")[0][len(image_name(image)) + 1:]
                if name.split("/")[0] != "marketlens" or name.count("/") != 1 or name.split("/")[1] not in BUILT_IMAGES:
                    fail(where, f"image {image} is not one deploy/images/build.sh builds (marketlens/<image>)")
                elif not tag or tag == "latest":
                    fail(where, f"image {image} has no pinned tag")
                else:
                    tags.setdefault(tag, []).append(name)
    if len(tags) > 1:
        fail(where0, f"images carry different tags {sorted(tags)}: an overlay runs the images of one build")


def check_operand_image(where, cluster):
    """CloudNativePG's operand image is pulled from its public registry, whose tags (15, 15.17-...) are
    rebuilt weekly: pinned by digest, every instance runs the same build, and its tag starts with the
    Postgres major version the operator reads from it (15, the major the services are tested against)."""
    image = get(cluster, "spec.imageName") or ""
    tag = image.split("@")[0].rsplit(":", 1)[-1] if ":" in image.split("@")[0].rsplit("/", 1)[-1] else ""
    if not re.fullmatch(r"[^@]+@sha256:[0-9a-f]{64}", image):
        fail(where, f"imageName {image!r} is not pinned by digest (@sha256:<64 hex>)")
    if not tag.startswith("15.") and tag != "15":
        fail(where, f"imageName {image!r}: its tag must start with the Postgres major version 15")


def egress_policies_for(policies, labels):
    """The NetworkPolicies with egress rules that select these pod labels specifically (not {})."""
    return [p for p in policies
            if "Egress" in p["spec"]["policyTypes"] and p["spec"].get("egress")
            and get(p, "spec.podSelector.matchLabels")
            and matches(get(p, "spec.podSelector.matchLabels"), labels)]


def check_jobs(where0, by_kind, policies):
    """Jobs and CronJobs: bounded, never piling up, and with their own egress NetworkPolicy."""
    for w in by_kind.get("Job", []) + by_kind.get("CronJob", []):
        where = f"{where0} {w['kind']}/{w['metadata']['name']}"
        cron = w["kind"] == "CronJob"
        job_spec = get(w, "spec.jobTemplate.spec" if cron else "spec") or {}
        if job_spec.get("backoffLimit") is None:
            fail(where, "no backoffLimit (a failing job would be retried 6 times by default, silently)")
        if cron:
            if get(w, "spec.concurrencyPolicy") not in ("Forbid", "Replace"):
                fail(where, "concurrencyPolicy must be Forbid or Replace (runs must not pile up)")
            if get(w, "spec.startingDeadlineSeconds") is None:
                fail(where, "no startingDeadlineSeconds")
            if job_spec.get("activeDeadlineSeconds") is None:
                fail(where, "no activeDeadlineSeconds (a hung run would block every later one)")
        tmpl = get(job_spec, "template") or {}
        if get(tmpl, "spec.restartPolicy") not in ("Never", "OnFailure"):
            fail(where, "restartPolicy must be Never or OnFailure")
        labels = get(tmpl, "metadata.labels") or {}
        if "app.kubernetes.io/name" not in labels:
            fail(where, "pods carry no app.kubernetes.io/name label (NetworkPolicies select on it)")
        elif not egress_policies_for(policies, labels):
            fail(where, "no egress NetworkPolicy selects its pods (under default deny it reaches nothing)")


def check_training(where0, by_kind, policies):
    """The recommender's model training runs as a CronJob and reaches Postgres only."""
    trains = []
    for cj in by_kind.get("CronJob", []):
        for c in get(cj, "spec.jobTemplate.spec.template.spec.containers") or []:
            argv = (c.get("command") or []) + (c.get("args") or [])
            if image_name(c.get("image")) == "marketlens/recommender" and "train" in argv:
                trains.append((cj, c, argv))
    if not trains:
        fail(where0, "no CronJob runs the recommender's training (marketlens/recommender CLI `train`)")
    for cj, c, argv in trains:
        where = f"{where0} CronJob/{cj['metadata']['name']}"
        if not argv or not argv[0].endswith("/cli"):
            fail(where, f"training must run the image's CLI (/app/cli), not {argv[:1]}")
        for flag in ("--register", "--promote"):
            if flag not in argv:
                fail(where, f"training does not pass {flag}: replicas would never see its model")
        if not any(a.startswith("--source=postgres") for a in argv) and "postgres" not in argv:
            fail(where, "training must read --source=postgres")
        labels = get(cj, "spec.jobTemplate.spec.template.metadata.labels") or {}
        for p in egress_policies_for(policies, labels):
            for rule in p["spec"]["egress"]:
                for to in rule.get("to") or [{}]:
                    if get(to, "podSelector.matchLabels") != {"app.kubernetes.io/name": "postgres"}:
                        fail(where, f"NetworkPolicy/{p['metadata']['name']} lets training reach more than Postgres")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    overlays = sorted(os.listdir(os.path.join(root, "k8s/overlays")))
    if not overlays:
        fail("k8s", "no overlays")
    ports = default_ports(root)
    if set(ports) != set(SERVICES):
        fail("deploy/local/env.sh", f"default ports found for {sorted(ports)} only")
    for overlay in overlays:
        check_overlay(root, overlay, ports)
    # Nothing under k8s/ may carry a secret value either (e.g. a stray secretGenerator literal).
    for dirpath, _, files in os.walk(os.path.join(root, "k8s")):
        for f in files:
            text = open(os.path.join(dirpath, f), errors="replace").read()
            if re.search(r"literals:|kind:\s*Secret\b", text):
                fail(os.path.join(dirpath, f), "defines a Secret or secret literals")
    for f in failures:
        print("FAIL:", f)
    print(f"checked overlays {overlays}: {len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
