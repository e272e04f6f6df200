#!/usr/bin/env python3
"""Kills each part of the running constellation in turn — every service with SIGKILL, then Redis, then
PostgreSQL — while a crawl with injected faults is under way and feedback is flowing, restarts it the way
an operator would (deploy/local/up.sh starts what is not running), and checks that:
  - every part comes back healthy and the others recover on their own (no restart of the neighbours);
  - the crawl resumes and finishes with exactly the marketplace's data (nothing lost, nothing doubled);
  - the analyzer catches up with every review, including those announced while it or Redis was down;
  - feedback recorded just before Redis died reaches Postgres;
  - the gateway answers through all of it once the part behind a route is back.
Run by tests/run.sh (full runs). MARKETLENS_E2E_KEEP=1 keeps the run directory for inspection.
"""

import os
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import CheckFailed, Checks, Stack, build_tools, load_truth, wait_for  # noqa: E402

PRODUCTS, SEED = 200, 11
# Slow enough (12 pages/s for ~1,250 pages) that the crawl is still running while parts die.
MARKETPLACE_ARGS = (f"--products={PRODUCTS} --seed={SEED} --rate_limit_rps=12 --rate_limit_burst=12 "
                    "--fault_unavailable_rate=0.03 --fault_internal_rate=0.01 --fault_slow_rate=0.01 "
                    "--fault_slow_max_ms=3000")
# A dead collector's crawl is taken over after 5 s without a heartbeat.
COLLECTOR_ARGS = "--marketplace_rate=11 --crawl_interval=30m --crawl_lease=5s"
RECOMMENDER_ARGS = "--model_poll_interval=2s --bootstrap_retry_interval=10s"


def latest_crawl(s):
    status, body = s.get("/api/v1/crawls?page_size=5")
    crawls = (body or {}).get("crawls", []) if status == 200 else []
    return crawls[0] if crawls else None


def all_healthy(s):
    return all(s.healthy(n) for n in ("marketplace", "collector", "analyzer", "recommender", "gateway"))


def restart(s, c, what):
    s.up(quiet=True)
    c.check(f"after {what} was killed and restarted, every service is healthy",
            bool(wait_for("all services healthy", lambda: all_healthy(s), 60)))


def main():
    c = Checks()
    build_tools()
    truth = load_truth(PRODUCTS, SEED)
    s = Stack(25000, {"marketplace": MARKETPLACE_ARGS, "collector": COLLECTOR_ARGS,
                      "recommender": RECOMMENDER_ARGS})
    started = time.monotonic()
    try:
        s.up()
        crawl = wait_for("the crawl to start", lambda: latest_crawl(s), 30)
        c.require("the scheduled first crawl started", crawl is not None)
        crawl_id = crawl["id"]

        # Every service in turn, while the crawl runs.
        for service in ("collector", "marketplace", "analyzer", "recommender", "gateway"):
            time.sleep(4)
            before = s.pid(service)
            s.kill(service)
            print(f"killed {service} (pid {before}) with SIGKILL", flush=True)
            restart(s, c, service)
            c.check(f"{service} is a new process", s.pid(service) not in (None, before))

        # Feedback in flight when Redis dies must still reach Postgres.
        user = "C0000002"
        events_before = int(s.scalar(f"SELECT count(*) FROM recsys.events WHERE user_id = '{user}'"))
        status, _ = s.post("/api/v1/feedback", {"user_id": user, "item_id": truth["products"][0]["product_id"],
                                                "event": "FEEDBACK_EVENT_LIKE"})
        c.check("feedback accepted before Redis dies", status == 200, f"status={status}")
        s.kill("redis")
        print("killed redis with SIGKILL", flush=True)
        time.sleep(3)
        status, _ = s.get("/api/v1/products?page_size=1")
        c.check("the gateway still answers reads while Redis is down", status == 200, f"status={status}")
        restart(s, c, "redis")
        c.check("the feedback recorded before Redis died is in Postgres", bool(wait_for(
            "feedback in recsys.events", lambda: int(s.scalar(
                f"SELECT count(*) FROM recsys.events WHERE user_id = '{user}'")) > events_before, 60)))

        pids = {n: s.pid(n) for n in ("marketplace", "collector", "analyzer", "recommender", "gateway")}
        s.kill_postgres()
        print("killed postgres with SIGKILL", flush=True)
        time.sleep(3)
        restart(s, c, "postgres")
        c.check("the services rode out the Postgres crash without restarting",
                all(s.pid(n) == pid for n, pid in pids.items()))

        # Everything recovers: the crawl finishes with exactly the marketplace's data.
        def finished():
            status, body = s.get(f"/api/v1/crawls/{crawl_id}")
            return body if status == 200 and body.get("state") in (
                "CRAWL_STATE_SUCCEEDED", "CRAWL_STATE_FAILED", "CRAWL_STATE_CANCELLED") else None
        crawl = wait_for("the crawl to finish", finished, 420, 3)
        c.require("the crawl finished", crawl is not None)
        c.check("the crawl succeeded after every part died once", crawl.get("state") == "CRAWL_STATE_SUCCEEDED",
                f"{crawl.get('state')} {crawl.get('lastError', '')}")
        c.check(f"the crawl was resumed after its collector died (resumes={crawl.get('resumes', 0)})",
                int(crawl.get("resumes", 0)) >= 1)
        c.check("raw.products holds exactly the marketplace's products",
                int(s.scalar("SELECT count(*) FROM raw.products")) == len(truth["products"]))
        c.check("raw.customers holds exactly the marketplace's customers",
                int(s.scalar("SELECT count(*) FROM raw.customers")) == len(truth["customers"]))
        for resource in crawl.get("resources", []):
            expected = int(resource.get("expectedItems", 0))
            c.check(f"{resource['resource']}: all {expected} announced items arrived",
                    int(resource.get("items", 0)) >= expected)
        reviews = int(s.scalar("SELECT count(*) FROM raw.reviews"))
        c.check(f"raw.reviews holds the generated history ({reviews})", reviews >= 4000)

        def analysed_all():
            total = int(s.scalar("SELECT count(*) FROM raw.reviews"))
            done = int(s.scalar("SELECT count(*) FROM raw.reviews r WHERE EXISTS "
                                "(SELECT 1 FROM insights.review_analysis a WHERE a.review_id = r.id)"))
            return done == total
        c.check("the analyzer caught up with every review (none lost while it or Redis was down)",
                bool(wait_for("analysis to catch up", analysed_all, 240, 3)))

        status, body = s.get("/api/v1/recommendations?" + urllib.parse.urlencode({"user_id": user, "n": 5}))
        c.check("recommendations answer after the restarts", status == 200 and body.get("items"), f"status={status}")
        status, body = s.get("/api/v1/products?page_size=5")
        c.check("products answer after the restarts", status == 200 and body.get("products"), f"status={status}")
        down = s.down()
        c.check("every service stops gracefully at the end", "did not stop" not in down, down)
    except CheckFailed as e:
        print(f"stopped: {e}", file=sys.stderr)
    finally:
        s.destroy()
    print(f"restart test: {time.monotonic() - started:.0f} s, {len(c.failures)} failed check(s)")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
