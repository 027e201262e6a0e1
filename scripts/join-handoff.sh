#!/usr/bin/env bash
# Measures ownership handoff on node processes: a 3-node cluster
# (scripts/cluster.sh) is loaded with KEYS keys of 100 B (the preload of a
# short `chorus bench --op get`), then a 4th node joins and pulls the
# partitions it takes over. Prints the time until its last transfer is done
# and what it pulled, from `chorus transfers`.
#
#   scripts/join-handoff.sh [KEYS]   # default 200000
set -euo pipefail
# A plaintext cluster on loopback: every chorus command here (nodes and
# clients) reads --insecure from the environment.
export CHORUS_INSECURE=1
cd "$(dirname "$0")/.."
keys=${1:-200000}
dir=$(mktemp -d /tmp/chorus-join-XXXXXX)
scripts/cluster.sh start 3 "$dir" >&2
trap 'kill "$(cat "$dir/node3.pid" 2>/dev/null)" 2>/dev/null || true; scripts/cluster.sh stop "$dir" >&2' EXIT
bin="$dir/chorus"
ep=127.0.0.1:19090,127.0.0.1:19091,127.0.0.1:19092
"$bin" bench --endpoints "$ep" --op get --keys "$keys" --value-size 100 --clients 64 --duration 1s >/dev/null 2>"$dir/preload.log"
echo "loaded $keys keys" >&2
start=$(date +%s.%N)
"$bin" node --name node3 --data-dir "$dir/node3" --http-addr 127.0.0.1:18083 --grpc-addr 127.0.0.1:19093 --peer-addr 127.0.0.1:19193 --insecure \
	--gossip-addr 127.0.0.1:17949 --join 127.0.0.1:17946 >"$dir/node3.log" 2>&1 &
echo $! >"$dir/node3.pid"
# Wait for node3 to be in the ring, then for its transfers to finish.
for _ in $(seq 600); do
	line=$("$bin" transfers --endpoints "$ep" 2>/dev/null | awk '$1 == "node3"') || true
	if [ -n "$line" ]; then
		read -r _ waiting inflight stalled done pulled bytes _ <<<"$line"
		if [ "$done" -gt 0 ] && [ "$waiting" -eq 0 ] && [ "$inflight" -eq 0 ] && [ "$stalled" -eq 0 ]; then
			end=$(date +%s.%N)
			python3 -c "
s=$end-$start
print(f'| $keys | {$done} | {$pulled} | {$bytes/1e6:.1f} MB | {s:.1f} s | {$pulled/s:.0f} |')"
			exit 0
		fi
	fi
	sleep 0.5
done
echo "node3 did not finish its transfers; see $dir/node3.log" >&2
exit 1
