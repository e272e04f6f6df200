#!/bin/bash
# The CLI end to end: score JSON lines (ours and Amazon's, plus a malformed line), and eval a labelled file
# with and without training on rated reviews in Amazon JSON lines.
set -euo pipefail
CLI="${TEST_SRCDIR}/${TEST_WORKSPACE}/services/analyzer/cli"
T="${TEST_TMPDIR}"
fail() { echo "FAIL: $*" >&2; exit 1; }

printf '%s\n' \
  '{"id":"r1","title":"Love it","text":"The battery life is fantastic.","category":"Electronics","rating":5}' \
  '{"reviewerID":"A1","asin":"B0","summary":"Broke","reviewText":"The handle snapped after a week.","overall":1}' \
  'not json' \
  '{"id":"r4","text":"Fine kettle. Cheaper at www.example.com/kettle if you ask me. It is awful and useless, the worst.","rating":5}' \
  > "$T/in.jsonl"
"$CLI" score < "$T/in.jsonl" > "$T/out.jsonl"
[ "$(wc -l < "$T/out.jsonl")" -eq 4 ] || fail "expected 4 output lines"
grep -q '"id":"r1".*"label":"positive".*"aspect":"battery"' "$T/out.jsonl" || fail "r1: $(sed -n 1p "$T/out.jsonl")"
grep -q '"id":"A1/B0".*"label":"negative".*"category":"durability"' "$T/out.jsonl" || fail "A1: $(sed -n 2p "$T/out.jsonl")"
grep -q '"line":3,"error"' "$T/out.jsonl" || fail "malformed line not reported"
# Quality flags with the sentence that triggered each.
grep -q '"id":"r4".*"quality_flags":\["contains_url","rating_mismatch"\]' "$T/out.jsonl" || fail "r4: $(sed -n 4p "$T/out.jsonl")"
grep -q '{"flag":"contains_url","sentence":"Cheaper at www.example.com/kettle if you ask me."}' "$T/out.jsonl" \
  || fail "r4 url sentence: $(sed -n 4p "$T/out.jsonl")"
grep -q '{"flag":"rating_mismatch","sentence":"It is awful and useless, the worst."}' "$T/out.jsonl" \
  || fail "r4 mismatch sentence: $(sed -n 4p "$T/out.jsonl")"

# A labelled file (text<TAB>label) and rated reviews whose domain words only the trained model knows.
: > "$T/eval.tsv"
: > "$T/train.jsonl"
for i in $(seq 1 60); do
  printf 'the lamp arm is sturdy %s\t1\nthe lamp arm is wobbly %s\t0\n' "$i" "$i" >> "$T/eval.tsv"
done
# Enough rated reviews for the gate (20% of each class held out, at least 20 of each).
for i in $(seq 1 150); do
  printf '{"summary":"ok","reviewText":"the arm is sturdy, model %s","overall":5}\n' "$i" >> "$T/train.jsonl"
  printf '{"summary":"meh","reviewText":"the arm is wobbly, model %s","overall":1}\n' "$i" >> "$T/train.jsonl"
done
echo 'broken line without a label' >> "$T/eval.tsv"
"$CLI" eval "$T/eval.tsv" > "$T/rules.txt"
grep -q 'skipped 1 lines' "$T/rules.txt" || fail "skipped line not reported"
grep -q '^rules: examples=120 accuracy=' "$T/rules.txt" || fail "$(cat "$T/rules.txt")"
"$CLI" eval "$T/eval.tsv" --train "$T/train.jsonl" > "$T/trained.txt"
grep -q '^trained tflr-' "$T/trained.txt" || fail "$(cat "$T/trained.txt")"
grep -q '^gate on 60 held-out reviews (balanced): .*: passed, model used' "$T/trained.txt" || fail "$(cat "$T/trained.txt")"
grep -q '^rules only: examples=120 accuracy=.* balanced_accuracy=' "$T/trained.txt" || fail "$(cat "$T/trained.txt")"
grep -q '^combined: examples=120 accuracy=1.0000 f1=1.0000 balanced_accuracy=1.0000 macro_f1=1.0000' "$T/trained.txt" || fail "$(cat "$T/trained.txt")"
grep -q 'truth=1        0      60' "$T/trained.txt" || fail "confusion: $(cat "$T/trained.txt")"
grep -q 'truth=0       60       0' "$T/trained.txt" || fail "confusion: $(cat "$T/trained.txt")"
# The = form of the flag works the same.
"$CLI" eval "$T/eval.tsv" --train="$T/train.jsonl" | grep -q '^combined: examples=120 accuracy=1.0000' \
  || fail "--train= form"
"$CLI" eval "$T/nonexistent.tsv" >/dev/null 2>&1 && fail "missing file accepted" || [ $? -eq 1 ] || fail "exit code for a missing file"
"$CLI" bogus 2>/dev/null && fail "usage error expected" || [ $? -eq 2 ] || fail "exit code"
echo "cli_test: 1 passed, 0 failed"
