#!/usr/bin/env bash
# Runs one test file N times in a row and stops at the first failure: for a test suspected of failing now and then
# (a failure once is a bug until shown otherwise). Not part of CI.
#
#   bash scripts/repeat.sh 20 test/fault/broker.test.ts 'exactly-once'
#
# The optional third argument is a --test-name-pattern. Files outside test/fault need KAFKA_BROKERS (a running
# broker: `npm run broker -- start`). Each run's FAULT lines and summary are printed; the full output of every run
# is kept in a temporary directory, named at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $# -ge 2 ]] || { echo "usage: bash scripts/repeat.sh N FILE [NAME_PATTERN]" >&2; exit 2; }
times="$1" file="$2" pattern="${3:-}"
logs="$(mktemp -d "${TMPDIR:-/tmp}/streamserve-repeat-XXXXXX")"
npm run --silent build
for ((i = 1; i <= times; i++)); do
  log="$logs/run-$i.log"
  started=$SECONDS
  code=0
  KAFKAJS_NO_PARTITIONER_WARNING=1 node --import tsx --test --test-concurrency=1 --test-reporter=spec \
    ${pattern:+--test-name-pattern="$pattern"} "$file" > "$log" 2>&1 || code=$?
  grep -h '^FAULT\|# FAULT' "$log" | sed "s/^/run $i: /" || true
  echo "run $i/$times: exit $code in $((SECONDS - started)) s"
  if [[ "$code" -ne 0 ]]; then
    echo "failed on run $i; logs in $logs" >&2
    exit 1
  fi
done
echo "$times of $times passed; logs in $logs"
