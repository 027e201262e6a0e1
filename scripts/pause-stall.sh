#!/usr/bin/env bash
# Measures how a paused node (SIGSTOP: connected, silent, not yet declared
# dead) affects writes made through the other nodes of a 5-node process
# cluster: two curl writers per healthy node, each writing fresh keys in a
# loop for DURATION seconds; one node is paused from PAUSE_AT to RESUME_AT.
# Prints the requests by status, the longest time with no successful write
# anywhere, and that time while the node was paused.
#
#   scripts/pause-stall.sh [DURATION] [PAUSE_AT] [RESUME_AT]   # default 12 3 9
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-12}
pause_at=${2:-3}
resume_at=${3:-9}
dir=$(mktemp -d /tmp/chorus-pause-XXXXXX)
trap 'kill -CONT "$(cat "$dir/node2.pid" 2>/dev/null)" 2>/dev/null || true; scripts/cluster.sh stop "$dir" >/dev/null 2>&1 || true' EXIT

scripts/cluster.sh start 5 "$dir" >/dev/null
start=$(date +%s%N)
end=$((start + duration * 1000000000))

writer() { # writer NODE ID: writes keys through node NODE until the end
	local port=$((18080 + $1)) i=0 now code
	while :; do
		now=$(date +%s%N)
		if ((now >= end)); then break; fi
		code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X PUT --data-binary v \
			"http://127.0.0.1:$port/v1/kv/pause-$1-$2-$i") || code=000
		echo "$(date +%s%N) $code"
		i=$((i + 1))
	done
}

for node in 0 1 3 4; do
	for w in 1 2; do
		writer "$node" "$w" >"$dir/writes-$node-$w.log" &
	done
done
sleep "$pause_at"
kill -STOP "$(cat "$dir/node2.pid")"
paused=$(date +%s%N)
sleep "$((resume_at - pause_at))"
kill -CONT "$(cat "$dir/node2.pid")"
resumed=$(date +%s%N)
wait

sort -n "$dir"/writes-*.log | awk -v start="$start" -v paused="$paused" -v resumed="$resumed" '
	{ n[$2]++; $1 = $1 + 0 }
	$2 ~ /^2/ {
		if (last != "") {
			gap = ($1 - last) / 1e9
			if (gap > worst) worst = gap
			if ($1 > paused && last < resumed && gap > worstPaused) worstPaused = gap
		}
		last = $1
	}
	END {
		for (c in n) printf "status %s: %d requests\n", c, n[c]
		printf "longest time with no successful write: %.0f ms\n", worst * 1000
		printf "longest such time while node2 was paused: %.0f ms\n", worstPaused * 1000
	}'
