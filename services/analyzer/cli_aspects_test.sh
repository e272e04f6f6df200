#!/bin/bash
# The CLI's aspect commands end to end: train-aspects on SemEval-style XML written here (entities, a
# no-break space), extract-aspects on JSON lines (character offsets, a malformed line, a line without text),
# and the errors (bad XML, missing model, usage).
set -euo pipefail
CLI="${TEST_SRCDIR}/${TEST_WORKSPACE}/services/analyzer/cli"
T="${TEST_TMPDIR}"
fail() { echo "FAIL: $*" >&2; exit 1; }

{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo '<sentences>'
  i=0
  for term in keyboard trackpad hinge fan webcam keyboard trackpad hinge; do
    for frame in pos neg; do
      i=$((i + 1))
      if [ $frame = pos ]; then
        text="The $term is great &amp; solid."; from=4; pol=positive
      else
        text="I hate the $term."; from=11; pol=negative
      fi
      to=$((from + ${#term}))
      echo "  <sentence id=\"$i\"><text>$text</text><aspectTerms>"
      echo "    <aspectTerm term=\"$term\" polarity=\"$pol\" from=\"$from\" to=\"$to\"/></aspectTerms></sentence>"
    done
  done
  echo '  <sentence id="x"><text>We bought it on a Tuesday.</text></sentence>'
  echo '</sentences>'
} > "$T/train.xml"

"$CLI" train-aspects "$T/train.xml" --out "$T/model" > "$T/train.txt" || fail "train: $(cat "$T/train.txt")"
grep -q '^trained at-[0-9a-f]* on 17 sentences, 16 terms (0 with an edge inside a word)' "$T/train.txt" \
  || fail "train output: $(cat "$T/train.txt")"
[ -s "$T/model" ] || fail "no model written"

# U+00A0 (two bytes) before the term: "hinge" starts at character 17 (byte 18).
printf '%s\n' \
  '{"id":"a","text":"Honestly,\u00a0the hinge is great."}' \
  '{"id":7,"text":"I hate the fan."}' \
  'not json' \
  '{"id":"b"}' \
  '{"id":"c","text":"Nothing to see."}' > "$T/in.jsonl"
"$CLI" extract-aspects --model "$T/model" < "$T/in.jsonl" > "$T/out.jsonl"
[ "$(wc -l < "$T/out.jsonl")" -eq 5 ] || fail "expected 5 lines: $(cat "$T/out.jsonl")"
grep -qx '{"id":"a","terms":\[{"term":"hinge","from":14,"to":19,"polarity":"positive"}\]}' "$T/out.jsonl" \
  || fail "a: $(sed -n 1p "$T/out.jsonl")"
grep -qx '{"id":"7","terms":\[{"term":"fan","from":11,"to":14,"polarity":"negative"}\]}' "$T/out.jsonl" \
  || fail "7: $(sed -n 2p "$T/out.jsonl")"
grep -q '^{"line":3,"error":' "$T/out.jsonl" || fail "malformed line: $(sed -n 3p "$T/out.jsonl")"
grep -q '^{"line":4,"error":"field \\"text\\"' "$T/out.jsonl" || fail "no text: $(sed -n 4p "$T/out.jsonl")"
grep -qx '{"id":"c","terms":\[\]}' "$T/out.jsonl" || fail "c: $(sed -n 5p "$T/out.jsonl")"

# Errors: exit 1 for bad input files and models, 2 for usage.
echo '<sentences><sentence id="1"><text>bad &bogus; entity</text></sentence></sentences>' > "$T/bad.xml"
code=0; "$CLI" train-aspects "$T/bad.xml" --out "$T/m2" 2> "$T/err.txt" || code=$?
[ $code -eq 1 ] || fail "bad xml exit code $code"
grep -q 'unknown entity &bogus;' "$T/err.txt" || fail "bad xml message: $(cat "$T/err.txt")"
[ ! -e "$T/m2" ] || fail "model written from bad xml"
code=0; "$CLI" extract-aspects --model "$T/nonexistent" < /dev/null 2>/dev/null || code=$?
[ $code -eq 1 ] || fail "missing model exit code $code"
code=0; "$CLI" extract-aspects --model "$T/train.xml" < /dev/null 2> "$T/err.txt" || code=$?
[ $code -eq 1 ] || fail "not-a-model exit code $code"
grep -q 'not an aspect model' "$T/err.txt" || fail "not-a-model message: $(cat "$T/err.txt")"
code=0; "$CLI" train-aspects "$T/train.xml" 2>/dev/null || code=$?
[ $code -eq 2 ] || fail "train without --out exit code $code"
code=0; "$CLI" extract-aspects < /dev/null 2>/dev/null || code=$?
[ $code -eq 2 ] || fail "extract without --model exit code $code"
echo "cli_aspects_test: 1 passed, 0 failed"
