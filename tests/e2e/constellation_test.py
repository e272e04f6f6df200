#!/usr/bin/env python3
"""The whole constellation end to end, as deploy/local/up.sh runs it (real Postgres, Redis, five services):
the collector crawls a generated marketplace with 10% injected faults, the analyzer analyses what arrives,
the recommender is trained by the training job (its CLI, as the k8s CronJob runs it), and everything is
checked through the gateway's REST API against the marketplace's planted truth:
  - the crawl finishes despite the faults and loses nothing (counts equal the marketplace's own);
  - every reviewed product has insights, and the analysis caught up with every review;
  - planted changes are alerted (recall, dating) and products without one stay quiet (false alarms);
  - recommendations for known shoppers match their planted taste cluster far better than popularity does;
  - feedback changes the next answer (do-not-show removes the item at once);
  - the seed-style endpoints (top performers, generated content, interaction summaries, interactions by
    product, briefs) answer with content grounded in rows that exist.
Run by tests/run.sh (full runs). MARKETLENS_E2E_KEEP=1 keeps the run directory for inspection.
"""

import collections
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import ROOT, CheckFailed, Checks, Stack, build_tools, load_truth, wait_for  # noqa: E402

PRODUCTS, SEED = 200, 7
# 10% of marketplace calls fail: 6% UNAVAILABLE, 2% INTERNAL, 2% answered past the caller's deadline.
# The rate limit is raised from 5/s so that the ~1,250 pages of this world take ~40 s, not 4 minutes.
MARKETPLACE_ARGS = (f"--products={PRODUCTS} --seed={SEED} --rate_limit_rps=40 --rate_limit_burst=40 "
                    "--fault_unavailable_rate=0.06 --fault_internal_rate=0.02 --fault_slow_rate=0.02 "
                    "--fault_slow_max_ms=4000")
COLLECTOR_ARGS = "--marketplace_rate=38 --crawl_interval=30m"
RECOMMENDER_ARGS = "--model_poll_interval=2s --bootstrap_retry_interval=15s"


def q(**params):
    return "?" + urllib.parse.urlencode(params)


def crawl_phase(s, c, truth):
    def finished():
        status, body = s.get("/api/v1/crawls" + q(page_size=5))
        crawls = (body or {}).get("crawls", []) if status == 200 else []
        done = [x for x in crawls if x.get("state") in ("CRAWL_STATE_SUCCEEDED", "CRAWL_STATE_FAILED")]
        return done[-1] if done else None

    crawl = wait_for("the first crawl", finished, 300, 2)
    c.require("the first crawl finished", crawl is not None)
    c.require("the first crawl succeeded despite 10% faults", crawl["state"] == "CRAWL_STATE_SUCCEEDED",
              f"{crawl.get('state')} {crawl.get('lastError', '')}")
    c.check(f"the crawl met faults and retried them (retries={crawl.get('retries', 0)})",
            int(crawl.get("retries", 0)) > 0)
    c.check(f"no page was given up (errors={crawl.get('errors', 0)})", int(crawl.get("errors", 0)) == 0)
    by_resource = {r["resource"]: r for r in crawl.get("resources", [])}
    for resource in ("products", "reviews", "customers", "interactions"):
        r = by_resource.get(resource, {})
        expected = int(r.get("expectedItems", 0))
        c.check(f"{resource}: every item the marketplace announced arrived ({r.get('items', 0)} of {expected})",
                expected > 0 and int(r.get("items", 0)) >= expected)
    c.check("raw.products holds exactly the marketplace's products",
            int(s.scalar("SELECT count(*) FROM raw.products")) == len(truth["products"]))
    c.check("raw.customers holds exactly the marketplace's customers",
            int(s.scalar("SELECT count(*) FROM raw.customers")) == len(truth["customers"]))
    reviews = int(s.scalar("SELECT count(*) FROM raw.reviews"))
    # The simulated clock keeps writing reviews, so the store holds at least the generated history.
    c.check(f"raw.reviews holds at least the generated history ({reviews} >= 5122)", reviews >= 5122)
    c.check("price history rows were recorded (raw.product_snapshots)",
            int(s.scalar("SELECT count(*) FROM raw.product_snapshots")) >= len(truth["products"]))
    metrics = s.metrics("collector")
    c.check("/metrics of the collector counts crawl retries",
            any(line.startswith("collector_crawl_retries_total") and not line.endswith(" 0")
                for line in metrics.splitlines()) or "retries" in metrics)


def analysis_phase(s, c, truth):
    reviewed = int(s.scalar("SELECT count(DISTINCT product_id) FROM raw.reviews"))

    def caught_up():
        status, body = s.get("/api/v1/products" + q(page_size=1))
        if status != 200 or int(body.get("totalSize", 0)) < reviewed:
            return None
        analysed = int(s.scalar("SELECT count(*) FROM raw.reviews r WHERE EXISTS "
                                "(SELECT 1 FROM insights.review_analysis a WHERE a.review_id = r.id)"))
        return analysed >= int(s.scalar("SELECT count(*) FROM raw.reviews")) * 0.99 and body

    body = wait_for("the analysis to catch up", caught_up, 300, 3)
    c.require(f"every reviewed product ({reviewed}) has insights and the analyser caught up", bool(body))

    # A product page through the gateway: weekly series, issues with quotes, features.
    detailed = truth_products_by_reviews(s, truth)[0]
    status, p = s.get(f"/api/v1/products/{detailed}")
    c.check("a product's insights have weekly points, issues and feature feedback",
            status == 200 and p.get("weekly") and p.get("features") is not None and p.get("reviewCount", 0) > 0,
            f"status={status}")

    # Planted changes (a deterioration, or an issue that starts on a date) with >= 8 reviews after them: the
    # alerts must find most of them, date them, and stay quiet on products without one.
    def planted_since(p):
        dates = [p.get("deteriorating_since")] + [i.get("since") for i in p.get("issues", [])]
        dates = [d for d in dates if d]
        return min(dates) if dates else None
    changed = {p["product_id"]: planted_since(p) for p in truth["products"] if planted_since(p)}
    unchanged = {p["product_id"] for p in truth["products"]} - set(changed)
    eligible = set()
    for pid, since in changed.items():
        after = int(s.scalar("SELECT count(*) FROM raw.reviews WHERE product_id = '%s' AND created_at >= '%s'"
                             % (pid.replace("'", "''"), since)))
        if after >= 8:
            eligible.add(pid)

    def alerts():
        found, token = {}, ""
        for _ in range(50):  # every page (100 a page)
            status, body = s.get("/api/v1/alerts" + q(page_size=100, page_token=token, open_only="true"))
            if status != 200:
                print(f"  alerts: HTTP {status} {str(body)[:200]}", file=sys.stderr, flush=True)
                return None
            for a in body.get("alerts", []):
                found.setdefault(a["productId"], []).append(a)
            token = body.get("nextPageToken", "")
            if not token:
                break
        return found if (set(found) & eligible or not eligible) else None

    raised = wait_for("alerts on planted changes", alerts, 120, 3) or {}
    hits = set(raised) & eligible
    recall = len(hits) / len(eligible) if eligible else 1.0
    false_alarms = set(raised) & unchanged
    print(f"  alerts: {len(raised)} products alerted; {len(hits)} of {len(eligible)} planted changes with >= 8 "
          f"reviews after (recall {recall:.2f}); {len(false_alarms)} of {len(unchanged)} unchanged products",
          flush=True)
    c.check(f"most planted changes are alerted (recall {recall:.2f} of {len(eligible)})",
            recall >= 0.6 or len(eligible) - len(hits) <= 1)
    # The 1% bound is held by services/analyzer:alerts_scoring_test on 1,000-product worlds (0.2-0.6%
    # measured); this 200-product world is too small for it (1% is 1.9 products), so the bound here is the
    # 3% the statistics allowed before, and the message names what was alerted to diagnose a failure.
    quiet_detail = "; ".join(f"{pid}: " + ",".join(a.get("metric", a.get("kind", "?")) for a in raised[pid])
                             for pid in sorted(false_alarms))
    c.check(f"unchanged products stay quiet ({len(false_alarms)} of {len(unchanged)})",
            len(false_alarms) <= max(1, 0.03 * len(unchanged)), quiet_detail)
    dated = [pid for pid in hits if any(
        a.get("since") and abs(time.mktime(time.strptime(a["since"][:10], "%Y-%m-%d")) -
                               time.mktime(time.strptime(changed[pid][:10], "%Y-%m-%d"))) <= 30 * 86400
        for a in raised[pid])]
    dating_detail = "; ".join(f"{pid}: planted {changed[pid][:10]}, alerted since " +
                              ",".join(str(a.get("since", "?"))[:10] for a in raised[pid]) for pid in sorted(hits))
    # At most one miss on so few changes; the 30-day dating share is scored on big worlds by alerts_scoring_test.
    c.check(f"alerted changes are dated within 30 days ({len(dated)} of {len(hits)})",
            len(dated) >= 0.8 * len(hits) or len(hits) - len(dated) <= 1, dating_detail)
    for pid, found in raised.items():
        c.check(f"alert on {pid} carries its product's title and evidence",
                all(a.get("productTitle") and a.get("evidenceReviewIds") is not None for a in found))
        break
    if hits:
        product = sorted(hits)[0]
        status, p = s.get(f"/api/v1/products/{product}")
        c.check("the alerted product's page carries its open alert",
                status == 200 and int(p.get("openAlerts", 0)) >= 1 and p.get("alerts"))
        alert_id = raised[product][0]["id"]
        status, a = s.post(f"/api/v1/alerts/{alert_id}/acknowledge", {})
        c.check("an alert can be acknowledged over REST", status == 200 and a.get("state") == "acknowledged",
                f"status={status} {str(a)[:200]}")
        status, a = s.post(f"/api/v1/alerts/{alert_id}/resolve", {})
        c.check("and resolved", status == 200 and a.get("state") == "resolved", f"status={status}")
    # Every catalogue product is listed, reviewed or not.
    status, body = s.get("/api/v1/products" + q(page_size=1))
    c.check("GET /api/v1/products lists every catalogue product, with or without reviews",
            status == 200 and int(body.get("totalSize", 0)) == len(truth["products"]), f"status={status}")


def truth_products_by_reviews(s, truth):
    rows = s.psql("SELECT product_id FROM raw.reviews GROUP BY product_id ORDER BY count(*) DESC LIMIT 5")
    return [r[0] for r in rows]


def train_phase(s, c):
    dsn = f"host=127.0.0.1 port={s.ports['PG_PORT']} dbname=marketlens user=marketlens connect_timeout=5"
    # What the k8s training CronJob runs.
    out = subprocess.run([os.path.join(ROOT, "bazel-bin/services/recommender/cli"), "train", "--source=postgres",
                          f"--pg_dsn={dsn}", "--register", "--promote", "--keep=3",
                          f"--artifact_dir={s.run_dir}/models"], capture_output=True, text=True, timeout=600)
    c.require("the training job trains, registers and promotes a model", out.returncode == 0,
              out.stderr[-2000:])
    status, body = s.get("/api/v1/models")
    models = (body or {}).get("models", []) if status == 200 else []
    promoted = [m for m in models if m.get("promoted") or m.get("state") in ("MODEL_STATE_PROMOTED", "promoted")]
    c.require("the registry lists the promoted model", bool(promoted), str(body)[:500])
    version = promoted[0]["version"]

    def serving():
        status, body = s.get("/api/v1/recommendations" + q(user_id="C0000001", n=5))
        return status == 200 and body.get("modelVersion") == version
    c.require(f"the recommender serves the new model {version}", bool(wait_for("the new model", serving, 60)))
    return version


def taste_phase(s, c, truth):
    cluster_of = {x["customer_id"]: x["cluster"] for x in truth["customers"]}
    affinity = {p["product_id"]: p["cluster_affinity"] for p in truth["products"]}
    clusters = len(next(iter(affinity.values())))
    catalogue_mean = [sum(a[k] for a in affinity.values()) / len(affinity) for k in range(clusters)]
    # Shoppers with a real history (purchases), the ones a personalised answer is for.
    rows = s.psql("SELECT customer_id FROM raw.interactions WHERE type = 'purchase' GROUP BY customer_id "
                  "HAVING count(*) >= 3 ORDER BY customer_id LIMIT 40")
    shoppers = [r[0] for r in rows if r[0] in cluster_of]
    c.require(f"there are known shoppers with purchases ({len(shoppers)})", len(shoppers) >= 20)
    status, popular = s.get("/api/v1/recommendations" + q(user_id="e2e-unknown-shopper", n=10))
    c.require("an unknown shopper gets popular items", status == 200 and popular.get("items"))
    popular_items = [i["itemId"] for i in popular["items"]]

    personal_lift, popular_lift, reasons = [], [], 0
    for user in shoppers:
        status, body = s.get("/api/v1/recommendations" + q(user_id=user, n=10))
        if status != 200 or not body.get("items"):
            c.check(f"recommendations for {user}", False, f"status={status}")
            continue
        k = cluster_of[user]
        items = [i["itemId"] for i in body["items"]]
        reasons += sum(1 for i in body["items"] if i.get("reason"))
        personal_lift.append(sum(affinity[i][k] for i in items if i in affinity) / len(items) / catalogue_mean[k])
        popular_lift.append(sum(affinity[i][k] for i in popular_items if i in affinity) / len(popular_items)
                            / catalogue_mean[k])
    mean_personal = sum(personal_lift) / max(1, len(personal_lift))
    mean_popular = sum(popular_lift) / max(1, len(popular_lift))
    print(f"  taste: recommended items' affinity to the shopper's planted cluster is {mean_personal:.2f}x the "
          f"catalogue mean (popular items: {mean_popular:.2f}x) over {len(personal_lift)} shoppers", flush=True)
    c.check("every recommended item has a reason", reasons == 10 * len(personal_lift))
    c.check("recommendations match the planted taste (affinity >= 1.3x the catalogue mean)", mean_personal >= 1.3)
    c.check("personal recommendations beat popularity on taste by >= 15%", mean_personal >= 1.15 * mean_popular)
    return shoppers


def feedback_phase(s, c, shoppers):
    user = shoppers[0]
    status, before = s.get("/api/v1/recommendations" + q(user_id=user, n=10))
    c.require("recommendations before feedback", status == 200 and before.get("items"))
    top = before["items"][0]["itemId"]
    status, _ = s.post("/api/v1/feedback", {"user_id": user, "item_id": top, "event": "FEEDBACK_EVENT_DO_NOT_SHOW"})
    c.check("feedback is accepted", status == 200, f"status={status}")
    status, after = s.get("/api/v1/recommendations" + q(user_id=user, n=10))
    after_items = [i["itemId"] for i in (after or {}).get("items", [])]
    c.check("after do-not-show the item is gone from the next answer", status == 200 and top not in after_items)
    # A "like" folds into the shopper's vector: the answer changes beyond the removed item.
    liked = after_items[-1] if after_items else top
    for _ in range(3):
        s.post("/api/v1/feedback", {"user_id": user, "item_id": liked, "event": "FEEDBACK_EVENT_LIKE"})
    status, again = s.get("/api/v1/recommendations" + q(user_id=user, n=10))
    again_items = [i["itemId"] for i in (again or {}).get("items", [])]
    c.check("likes change the next answer", status == 200 and again_items and again_items != after_items)
    rows = wait_for("feedback in Postgres", lambda: int(s.scalar(
        f"SELECT count(*) FROM recsys.events WHERE user_id = '{user}'")) >= 4, 30)
    c.check("feedback is stored durably in recsys.events", bool(rows))


def seed_endpoints_phase(s, c):
    campaign = s.scalar("SELECT campaign_id FROM raw.campaign_posts GROUP BY campaign_id ORDER BY count(*) DESC "
                        "LIMIT 1")
    c.require("campaign posts were crawled", campaign is not None)
    status, body = s.get("/api/v1/top-performers" + q(campaign_id=campaign, limit=5))
    performers = (body or {}).get("performers", [])
    rates = [p.get("engagementRate", 0) for p in performers]
    c.check("top performers of a campaign, highest engagement first",
            status == 200 and performers and rates == sorted(rates, reverse=True), f"status={status}")

    customer = s.scalar("SELECT customer_id FROM raw.contacts GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1")
    c.require("contacts were crawled", customer is not None)
    status, summary = s.get(f"/api/v1/summarized_interactions/{customer}")
    contacts = int(s.scalar(f"SELECT count(*) FROM raw.contacts WHERE customer_id = '{customer}'"))
    c.check("interaction summary counts the customer's contacts",
            status == 200 and int(summary.get("totalInteractions", -1)) == contacts and summary.get("summary"),
            f"status={status} {str(summary)[:300]}")

    status, content = s.get(f"/api/v1/generate-content/{customer}")
    c.check("generated content has a subject and a body", status == 200 and content.get("subject")
            and content.get("body"), f"status={status}")
    # Every row the text draws on exists, and the customer's own rows are theirs.
    tables = {"contact": ("raw.contacts", "customer_id"), "interaction": ("raw.interactions", "customer_id"),
              "review": ("raw.reviews", None), "product_insight": ("raw.products", None)}
    citations = (content or {}).get("citations", [])
    own = [x for x in citations if x.get("source") in ("contact", "interaction")]
    missing = []
    for x in citations:
        if x.get("source") not in tables:
            continue
        table, owner = tables[x["source"]]
        where = f"id = '{x['id']}'" + (f" AND {owner} = '{customer}'" if owner else "")
        if s.scalar(f"SELECT count(*) FROM {table} WHERE {where}") != "1":
            missing.append(x)
    c.check("generated content cites the customer's own interactions, and every cited row exists",
            bool(own) and not missing, f"missing={missing} citations={str(citations)[:400]}")
    c.check("generated content includes products recommended for the customer",
            bool((content or {}).get("recommendedProductIds")))

    status, by_product = s.get("/api/v1/interactions-by-product")
    c.check("interactions by product answer", status == 200 and by_product.get("products"))

    product_title, brand = s.psql("SELECT title, brand FROM raw.products ORDER BY id LIMIT 1")[0]
    status, brief = s.post("/api/v1/briefs", {"brand": brand, "product": product_title, "goal": "awareness",
                                              "platform": "instagram"})
    c.check("a campaign brief has a caption, hooks, hashtags and a call to action",
            status == 200 and brief.get("caption") and brief.get("hooks") and brief.get("hashtags")
            and brief.get("callToAction"), f"status={status} {str(brief)[:300]}")


def main():
    c = Checks()
    build_tools()
    truth = load_truth(PRODUCTS, SEED)
    s = Stack(24000, {"marketplace": MARKETPLACE_ARGS, "collector": COLLECTOR_ARGS,
                      "recommender": RECOMMENDER_ARGS})
    started = time.monotonic()
    try:
        s.up()
        for name in ("marketplace", "collector", "analyzer", "recommender", "gateway"):
            c.check(f"{name} is healthy", s.healthy(name))
        for phase in (crawl_phase, analysis_phase):
            phase(s, c, truth)
        train_phase(s, c)
        shoppers = taste_phase(s, c, truth)
        feedback_phase(s, c, shoppers)
        seed_endpoints_phase(s, c)
    except CheckFailed as e:
        print(f"stopped: {e}", file=sys.stderr)
    finally:
        s.destroy()
    print(f"constellation test: {time.monotonic() - started:.0f} s, {len(c.failures)} failed check(s)")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
