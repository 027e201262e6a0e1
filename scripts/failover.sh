#!/usr/bin/env bash
# The failover run of docs/results.md: a 3-node cluster of separate
# `chorus node` processes (scripts/cluster.sh), 16 closed-loop clients
# writing durably (N=3 W=2) for 30 s; at 8 s node2 is killed with SIGKILL,
# at 18 s it is restarted from its data directory. Prints the longest
# stretch of 100 ms without a successful write, and how long after the
# restart throughput was back to 90% of what it was before the kill.
#
#   scripts/failover.sh [CLIENTS]
set -euo pipefail
# A plaintext cluster on loopback: every chorus command here (nodes and
# clients) reads --insecure from the environment.
export CHORUS_INSECURE=1
cd "$(dirname "$0")/.."
clients=${1:-16}
dir=$(mktemp -d /tmp/chorus-failover-XXXXXX)
scripts/cluster.sh start 3 "$dir" >&2
trap 'scripts/cluster.sh stop "$dir" >&2' EXIT
bin="$dir/chorus"
"$bin" bench --endpoints 127.0.0.1:19090,127.0.0.1:19091,127.0.0.1:19092 --clients "$clients" \
	--duration 30s --op put -w 2 -o json --out "$dir/failover.json" >/dev/null 2>"$dir/bench.log" &
bench=$!
sleep 8
kill -9 "$(cat "$dir/node2.pid")"
echo "t=8s: node2 killed (SIGKILL)" >&2
sleep 10
"$bin" node --name node2 --data-dir "$dir/node2" --http-addr 127.0.0.1:18082 --grpc-addr 127.0.0.1:19092 --peer-addr 127.0.0.1:19192 --insecure \
	--gossip-addr 127.0.0.1:17948 --join 127.0.0.1:17946 >>"$dir/node2.log" 2>&1 &
echo $! >"$dir/node2.pid"
echo "t=18s: node2 restarted" >&2
wait "$bench"
python3 - "$dir/failover.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = r["timeline_ok"]; failed = r["timeline_failed"]
step = 0.1
base = sum(ok[20:80]) / 60  # 2 s .. 8 s: before the kill
during = sum(ok[85:175]) / 90  # 8.5 s .. 17.5 s: node2 down
back = None
for i in range(180, len(ok) - 10):
    if sum(ok[i:i+10]) / 10 >= 0.9 * base:
        back = (i - 180) * step
        break
print(f"writes/s before the kill {base/step:.0f}, while node2 was down {during/step:.0f}")
print(f"longest stretch without a successful write: {r['longest_stall_ms']:.0f} ms (steps of 100 ms)")
print(f"failed writes: {sum(failed)} of {sum(ok)+sum(failed)}")
print("back to 90% of the pre-kill rate (1 s window): " + (f"{back:.1f} s after the restart" if back is not None else "not within the run"))
PY
echo "data and logs in $dir" >&2
