#!/usr/bin/env bash
# Runs the race-detector suite RUNS times in a row while another
# `go test ./...` loops beside it (the load that used to make timing tests
# flake), then the timing-sensitive packages 10 times. Exits non-zero on
# the first failure, naming the run.
#
#   scripts/stress-tests.sh [RUNS]   # default 3
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}

( while :; do go test -count=1 ./... >/dev/null 2>&1 || true; done ) &
load=$!
trap 'kill $load 2>/dev/null; pkill -P $load 2>/dev/null || true' EXIT

for i in $(seq "$runs"); do
	echo "== go test -race -count=1 ./... (run $i of $runs, with go test ./... beside it)"
	if ! go test -race -count=1 -timeout 20m ./... >"${TMPDIR:-/tmp}/stress-run-$i.log" 2>&1; then
		grep -v '^ok' "${TMPDIR:-/tmp}/stress-run-$i.log" >&2
		echo "FAILED in run $i (log: ${TMPDIR:-/tmp}/stress-run-$i.log)" >&2
		exit 1
	fi
done
echo "== go test -race -count=10 ./replica/ ./client/ ./storage/ (with go test ./... beside it)"
go test -race -count=10 -timeout 30m ./replica/ ./client/ ./storage/
echo "== all passed"
