#!/usr/bin/env bash
# Measures put and get throughput and latency of a 3-node cluster of
# separate `chorus node` processes on loopback (scripts/cluster.sh), with the
# Go client through `chorus bench`: N=3 R=2 W=2, 100 B and 1 KiB values, 16
# and 64 clients, durable and not. Prints a Markdown table; the JSON reports
# stay in the cluster's directory.
#
#   scripts/bench-matrix.sh [SECONDS]   # default 10 s per run
set -euo pipefail
# A plaintext cluster on loopback: every chorus command here (nodes and
# clients) reads --insecure from the environment.
export CHORUS_INSECURE=1
cd "$(dirname "$0")/.."
secs=${1:-10}
dir=$(mktemp -d /tmp/chorus-matrix-XXXXXX)
scripts/cluster.sh start 3 "$dir" >&2
trap 'scripts/cluster.sh stop "$dir" >&2' EXIT
bin="$dir/chorus"
endpoints=127.0.0.1:19090,127.0.0.1:19091,127.0.0.1:19092

run() { # name, extra flags...
	local name=$1
	shift
	"$bin" bench --endpoints "$endpoints" --duration "${secs}s" --keys 20000 -o json --out "$dir/$name.json" "$@" >/dev/null 2>"$dir/$name.log"
	python3 - "$dir/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
o = r["ops"][0]
ms = lambda v: f"{v:.2f}"
print(f"| {sys.argv[2]} | {o['ops_per_sec']:.0f} | {ms(o['p50_ms'])} | {ms(o['p99_ms'])} | {ms(o['p999_ms'])} | {o['errors']} |")
PY
}

echo "| run | ops/s | p50 ms | p99 ms | p99.9 ms | errors |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for size in 100 1024; do
	for sync in durable not-durable; do
		flag=()
		if [ "$sync" = not-durable ]; then flag=(--no-sync); fi
		for c in 16 64; do
			run "put-${size}B-${sync}-${c}c" --op put --value-size "$size" --clients "$c" "${flag[@]}"
		done
	done
	for c in 16 64; do
		run "get-${size}B-${c}c" --op get --no-preload --value-size "$size" --clients "$c"
	done
done
echo "JSON reports in $dir" >&2
