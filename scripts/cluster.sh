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
cd "$(dirname "$0")/.."

cmd=${1:-}
case "$cmd" in
start)
	nodes=${2:-3}
	dir=${3:-$(mktemp -d /tmp/chorus-cluster-XXXXXX)}
	mkdir -p "$dir"
	CGO_ENABLED=0 go build -o "$dir/chorus" ./cmd/chorus
	seed=127.0.0.1:17946
	for ((i = 0; i < nodes; i++)); do
		join=()
		if ((i > 0)); then join=(--join "$seed"); fi
		"$dir/chorus" node --name "node$i" --data-dir "$dir/node$i" \
			--http-addr "127.0.0.1:$((18080 + i))" --grpc-addr "127.0.0.1:$((19090 + i))" \
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
	exit 1
	;;
stop)
	dir=${2:?usage: scripts/cluster.sh stop DIR}
	for f in "$dir"/node*.pid; do
		kill "$(cat "$f")" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	echo "stopped"
	;;
*)
	echo "usage: scripts/cluster.sh start [NODES] [DIR] | stop DIR" >&2
	exit 2
	;;
esac
