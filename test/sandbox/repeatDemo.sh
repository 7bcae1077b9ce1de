#!/usr/bin/env bash
# Runs `npm run demo` N times in a row (default 20) and stops at the first failure, printing its output:
# the check that the demo does not flake. Usage: bash test/sandbox/repeatDemo.sh [N]
set -uo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-20}"
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  if ! out="$(npx tsx test/sandbox/demo.ts 2>&1)"; then
    echo "run $i of $runs FAILED:"
    echo "$out"
    exit 1
  fi
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  printf 'run %2d of %d passed in %d.%d s\n' "$i" "$runs" $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))
done
echo "all $runs demo runs passed"
