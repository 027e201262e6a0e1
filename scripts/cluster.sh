#!/usr/bin/env bash
# Starts (or stops) a local cluster of separate `chorus node` processes,
# the setup the benchmarks in docs/results.md use:
#
#   scripts/cluster.sh start [NODES] [DIR]   # default 3 nodes, data in a temp dir
#   scripts/cluster.sh stop  [DIR]
#
# Node i serves HTTP on 127.0.0.1:18080+i, gRPC on 19090+i and gossip on
# 17946+i. The binary is built into DIR/chorus; logs go to DIR/node<i>.log.
set -euo pipefail
# A plaintext cluster on loopback: every chorus command here (nodes and
# clients) reads --insecure from the environment.
export CHORUS_INSECURE=1
cd "$(dirname "$0")/.."

cmd=${1:-}
case "$cmd" in
start)
	nodes=${2:-3}
	dir=${3:-$(mktemp -d /tmp/chorus-cluster-XXXXXX)}
	for ((i = 0; i < nodes; i++)); do
		for port in $((18080 + i)) $((19090 + i)) $((17946 + i)); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				echo "port $port is in use: another cluster is running (scripts/cluster.sh stop DIR)" >&2
				exit 1
			fi
		done
	done
	mkdir -p "$dir"
	CGO_ENABLED=0 go build -o "$dir/chorus" ./cmd/chorus
	seed=127.0.0.1:17946
	for ((i = 0; i < nodes; i++)); do
		join=()
		if ((i > 0)); then join=(--join "$seed"); fi
		"$dir/chorus" node --name "node$i" --data-dir "$dir/node$i" \
			--http-addr "127.0.0.1:$((18080 + i))" --grpc-addr "127.0.0.1:$((19090 + i))" --peer-addr "127.0.0.1:$((19190 + i))" --insecure \
			--gossip-addr "127.0.0.1:$((17946 + i))" "${join[@]}" >"$dir/node$i.log" 2>&1 &
		echo $! >"$dir/node$i.pid"
		# The seed must be up before the others join it.
		if ((i == 0)); then sleep 1; fi
	done
	endpoints=$(seq -s, -f '127.0.0.1:%g' 19090 $((19090 + nodes - 1)))
	for _ in $(seq 100); do
		if "$dir/chorus" status --endpoints "$endpoints" 2>/dev/null | grep -c ' true ' | grep -qx "$nodes"; then
			echo "cluster of $nodes nodes up; data and logs in $dir"
			echo "endpoints: $endpoints"
			exit 0
		fi
		sleep 0.2
	done
	echo "cluster did not come up; see $dir/node*.log" >&2
	"$0" stop "$dir" >/dev/null
	exit 1
	;;
stop)
	dir=${2:?usage: scripts/cluster.sh stop DIR}
	pids=()
	for f in "$dir"/node*.pid; do
		pids+=("$(cat "$f")")
	done
	kill "${pids[@]}" 2>/dev/null || true
	# Wait (up to 20 s) until they are gone, so their ports are free again.
	for _ in $(seq 200); do
		alive=0
		for p in "${pids[@]}"; do
			if kill -0 "$p" 2>/dev/null && ! grep -q '^Z' "/proc/$p/stat" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; then alive=1; fi
		done
		if [ "$alive" = 0 ]; then break; fi
		sleep 0.1
	done
	echo "stopped"
	;;
*)
	echo "usage: scripts/cluster.sh start [NODES] [DIR] | stop DIR" >&2
	exit 2
	;;
esac
