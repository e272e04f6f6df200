#!/bin/bash
# `cli alerts FILE` end to end on Amazon-format JSON lines: a product whose newest reviews turn bad gets an
# open alert dated at the change with its evidence; a steady product gets none; the summary line counts;
# a malformed line is skipped and an exact repeat dropped, each with a notice; a missing file is exit code 1.
set -euo pipefail
CLI="${TEST_SRCDIR}/${TEST_WORKSPACE}/services/analyzer/cli"
T="${TEST_TMPDIR}"
fail() { echo "FAIL: $*" >&2; exit 1; }

: > "$T/reviews.json"
t0=1600000000
for i in $(seq 0 39); do  # P1: good for 40 reviews, then bad; P2: steady throughout
  printf '{"reviewerID":"A%s","asin":"P1","overall":5.0,"summary":"Great","reviewText":"Love it, works perfectly and feels sturdy.","unixReviewTime":%s}\n' "$i" $((t0 + i * 259200)) >> "$T/reviews.json"
done
for i in $(seq 40 59); do
  printf '{"reviewerID":"A%s","asin":"P1","overall":1.0,"summary":"Broken","reviewText":"It stopped working after two days. Defective, a total waste of money.","unixReviewTime":%s}\n' "$i" $((t0 + i * 259200)) >> "$T/reviews.json"
done
for i in $(seq 0 59); do
  printf '{"reviewerID":"B%s","asin":"P2","overall":%s.0,"summary":"Good","reviewText":"Does the job well, happy with it.","unixReviewTime":%s}\n' "$i" $((4 + i % 2)) $((t0 + i * 259200)) >> "$T/reviews.json"
done
echo 'not json' >> "$T/reviews.json"
# An exact repeat of a line (Amazon's Magazine file has 42) is one review; the same reviewer's second review
# of a product that reads differently is another (id suffixed #2).
sed -n '3p' "$T/reviews.json" >> "$T/reviews.json"
printf '{"reviewerID":"B7","asin":"P2","overall":5.0,"summary":"Still good","reviewText":"Bought a second one.","unixReviewTime":%s}\n' $((t0 + 60 * 259200)) >> "$T/reviews.json"

"$CLI" alerts "$T/reviews.json" > "$T/out.txt" 2> "$T/err.txt"
since="$(date -u -d @$((t0 + 40 * 259200)) +%F)"
after="$(date -u -d @$((t0 + 39 * 259200)) +%F)"  # the last review before the change
grep -q "^{\"product_id\":\"P1\",\"kind\":\"rating_drop\",\"metric\":\"average_rating\",\"since\":\"$since\",\"changed_after\":\"$after\",\"since_earliest\":\"$since\",\"since_latest\":\"$since\"" "$T/out.txt" \
  || fail "P1 rating alert since $since, changed after $after, a clean drop's date range the day itself: $(cat "$T/out.txt")"
# Other kinds carry no date range.
if grep -v '"metric":"average_rating"' "$T/out.txt" | grep -q '"since_earliest"'; then fail "a range on another metric: $(cat "$T/out.txt")"; fi
grep '"product_id":"P1","kind":"rating_drop"' "$T/out.txt" | grep -q '"before":5,"after":1,.*"evidence":\["A40/P1",' \
  || fail "P1 before/after/evidence: $(cat "$T/out.txt")"
if grep -q '"product_id":"P2"' "$T/out.txt"; then fail "steady P2 alerted: $(cat "$T/out.txt")"; fi
tail -1 "$T/out.txt" | grep -Eq '^products=2 reviews=121 alerts=[1-9][0-9]*$' || fail "summary: $(tail -1 "$T/out.txt")"
grep -q 'skipped 1 lines' "$T/err.txt" || fail "malformed line not reported: $(cat "$T/err.txt")"
grep -q 'dropped 1 exact repeats of a review' "$T/err.txt" || fail "repeat not reported: $(cat "$T/err.txt")"

if "$CLI" alerts "$T/missing.json" > /dev/null 2>&1; then fail "a missing file must fail"; fi
echo PASS
