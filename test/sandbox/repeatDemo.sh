#!/usr/bin/env bash
# Runs `npm run demo` N times in a row (default 20) and stops at the first failure, printing its output:
# the check that the demo does not flake. Usage: bash test/sandbox/repeatDemo.sh [N]
set -uo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-20}"
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  if ! out="$(npx tsx test/sandbox/demo.ts 2>&1)"; then
    echo "run $i of $runs FAILED:"
    echo "$out"
    exit 1
  fi
  printf 'run %2d of %d passed in %.1f s\n' "$i" "$runs" "$(echo "$(date +%s.%N) - $start" | bc)"
done
echo "all $runs demo runs passed"
