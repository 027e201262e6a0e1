#!/usr/bin/env bash
# Measures what keeping anti-entropy trees costs on the write path: put
# throughput and latency of a fresh 3-node cluster (scripts/cluster.sh) with
# anti-entropy on and with --no-anti-entropy, alternating, same benchmark:
# N=3 R=2 W=2, durable, 100 B values, 64 clients. Prints a Markdown table.
#
#   scripts/aae-overhead.sh [SECONDS] [PAIRS]   # default 10 s per run, 2 pairs
set -euo pipefail
# A plaintext cluster on loopback: every chorus command here (nodes and
# clients) reads --insecure from the environment.
export CHORUS_INSECURE=1
cd "$(dirname "$0")/.."
secs=${1:-10}
pairs=${2:-2}
endpoints=127.0.0.1:19090,127.0.0.1:19091,127.0.0.1:19092

run() { # label, env assignment
	local label=$1 dir
	dir=$(mktemp -d /tmp/chorus-aae-XXXXXX)
	env "$2" scripts/cluster.sh start 3 "$dir" >&2
	"$dir/chorus" bench --endpoints "$endpoints" --op put --clients 64 --value-size 100 --keys 20000 \
		--duration "${secs}s" -o json --out "$dir/put.json" >/dev/null 2>"$dir/bench.log" || true
	scripts/cluster.sh stop "$dir" >&2
	python3 - "$dir/put.json" "$label" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))["ops"][0]
ms = lambda v: f"{v:.2f}"
print(f"| {sys.argv[2]} | {o['ops_per_sec']:.0f} | {ms(o['p50_ms'])} | {ms(o['p99_ms'])} | {o['errors']} |")
PY
	rm -rf "$dir"
}

echo "| anti-entropy | puts/s | p50 ms | p99 ms | errors |"
echo "| --- | ---: | ---: | ---: | ---: |"
for _ in $(seq "$pairs"); do
	run on CHORUS_NO_ANTI_ENTROPY=false
	run off CHORUS_NO_ANTI_ENTROPY=true
done
