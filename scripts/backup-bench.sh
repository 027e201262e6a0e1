#!/usr/bin/env bash
# Measures backup and restore rates: starts 3 `chorus node` processes on
# loopback with their data on disk in a temp dir, loads --keys keys (chorus
# bench's preload: every key written once, --value-size bytes), takes
# `chorus backup`, stops the cluster and wipes it, starts a fresh one on the
# same ports, runs `chorus restore --dry-run` and `chorus restore`, reads a
# few keys back, and prints keys/s and MiB/s of each step. The nodes are
# stopped and the temp dir removed on exit, whatever happens.
#
#   scripts/backup-bench.sh [--keys N] [--value-size BYTES] [--budget KEYS_PER_SEC]
#                           [--bin PATH] [--port-base PORT] [--keep]
#
# Defaults: 100000 keys of 100 bytes, the nodes' default backup budget
# (--backup-keys-per-second 30000: every replica's copy counts, so about
# 10000 keys/s of backup at N=3), the binary built from this checkout, ports
# from 27100, below the ephemeral range (node i: HTTP base+i, client gRPC base+10+i, peer gRPC
# base+20+i, gossip base+30+i). --budget sets the nodes'
# --backup-keys-per-second (and a matching byte budget). --keep leaves the
# data dir (logs, the backup file) in place and prints its path.
# The box is shared and noisy: compare figures from runs close in time.
set -euo pipefail
cd "$(dirname "$0")/.."

keys=100000 size=100 budget="" bin="" base=27100 keep=0
while (($#)); do
	case $1 in
	--keys) keys=$2; shift ;;
	--value-size) size=$2; shift ;;
	--budget) budget=$2; shift ;;
	--bin) bin=$2; shift ;;
	--port-base) base=$2; shift ;;
	--keep) keep=1 ;;
	*) echo "usage: $0 [--keys N] [--value-size BYTES] [--budget KEYS_PER_SEC] [--bin PATH] [--port-base PORT] [--keep]" >&2; exit 2 ;;
	esac
	shift
done

dir=$(mktemp -d /tmp/chorus-backup-XXXXXX)
pids=()
stop_nodes() {
	if ((${#pids[@]})); then
		kill "${pids[@]}" 2>/dev/null || true
		wait "${pids[@]}" 2>/dev/null || true
	fi
	pids=()
}
cleanup() {
	stop_nodes
	if ((keep)); then echo "data, logs and the backup kept in $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT INT TERM

if [ -z "$bin" ]; then
	CGO_ENABLED=0 go build -o "$dir/chorus" ./cmd/chorus
	bin=$dir/chorus
fi

http() { echo $((base + $1)); }
grpc() { echo $((base + 10 + $1)); }
peer() { echo $((base + 20 + $1)); }
goss() { echo $((base + 30 + $1)); }
endpoints=127.0.0.1:$(grpc 0),127.0.0.1:$(grpc 1),127.0.0.1:$(grpc 2)
pacing=()
if [ -n "$budget" ]; then
	pacing=(--backup-keys-per-second "$budget" --backup-bytes-per-second $((budget * (size + 64))))
fi

# start_cluster NAME starts 3 nodes with data in $dir/NAME-node<i> and
# waits until every node sees the 3 members alive.
start_cluster() {
	for i in 0 1 2; do
		for port in $(http $i) $(grpc $i) $(peer $i) $(goss $i); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				echo "port $port is in use (choose another --port-base)" >&2
				exit 1
			fi
		done
	done
	for i in 0 1 2; do
		join=()
		if ((i > 0)); then join=(--join "127.0.0.1:$(goss 0)"); fi
		"$bin" node --name "node$i" --data-dir "$dir/$1-node$i" --insecure "${pacing[@]}" \
			--http-addr "127.0.0.1:$(http $i)" --grpc-addr "127.0.0.1:$(grpc $i)" \
			--peer-addr "127.0.0.1:$(peer $i)" --gossip-addr "127.0.0.1:$(goss $i)" \
			"${join[@]}" >"$dir/$1-node$i.log" 2>&1 &
		pids+=($!)
		if ((i == 0)); then sleep 1; fi
	done
	for _ in $(seq 150); do
		if "$bin" status --insecure --endpoints "$endpoints" 2>/dev/null | grep -c ' true ' | grep -qx 3; then
			return
		fi
		sleep 0.2
	done
	echo "cluster $1 did not come up; logs:" >&2
	tail -n 20 "$dir/$1"-node*.log >&2
	keep=1
	exit 1
}

# rate N MS: N per second over MS milliseconds.
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }
mib() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }'; }

start_cluster a
echo "loading $keys keys of $size bytes..." >&2
"$bin" bench --insecure --endpoints "$endpoints" --op get --keys "$keys" --ops 1 --value-size "$size" >"$dir/load.txt" 2>&1
# The nodes back off while their client p99 of the last 5 s is above
# --backup-backoff-above; the load above is not what a backup competes with
# here, so its window is let pass.
sleep 6

"$bin" backup --insecure --endpoints "$endpoints" --out "$dir/cluster.bak" -o json >"$dir/backup.json" 2>"$dir/backup.progress"
b_keys=$(jq .keys "$dir/backup.json") b_bytes=$(jq .bytes "$dir/backup.json") b_ms=$(jq .elapsed_ms "$dir/backup.json")

stop_nodes
start_cluster b
"$bin" restore --insecure --endpoints "$endpoints" --dry-run "$dir/cluster.bak" -o json >"$dir/dry.json" 2>"$dir/dry.progress"
"$bin" restore --insecure --endpoints "$endpoints" "$dir/cluster.bak" -o json >"$dir/restore.json" 2>"$dir/restore.progress"
d_ms=$(jq .elapsed_ms "$dir/dry.json") d_new=$(jq .new "$dir/dry.json")
r_keys=$(jq .applied "$dir/restore.json") r_failed=$(jq .failed "$dir/restore.json") r_ms=$(jq .elapsed_ms "$dir/restore.json")

for k in 0 $((keys / 2)) $((keys - 1)); do
	key=$(printf 'key-%08d' "$k")
	if ! "$bin" get --insecure --endpoints "$endpoints" "$key" >/dev/null 2>&1; then
		echo "$key is missing after the restore" >&2
		exit 1
	fi
done

budget_note="default budget"
if [ -n "$budget" ]; then budget_note="--backup-keys-per-second $budget"; fi
echo "backup and restore of a 3-node cluster on disk ($keys keys of $size B, $budget_note):"
echo "  backup:  $b_keys keys, $(awk -v b="$b_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB in $(awk -v ms="$b_ms" 'BEGIN { printf "%.1f", ms / 1000 }') s: $(rate "$b_keys" "$b_ms") keys/s, $(mib "$b_bytes" "$b_ms") MiB/s"
echo "  dry run: $d_new of $b_keys keys new in $(awk -v ms="$d_ms" 'BEGIN { printf "%.1f", ms / 1000 }') s: $(rate "$b_keys" "$d_ms") keys/s (file check included)"
echo "  restore: $r_keys keys applied, $r_failed failed in $(awk -v ms="$r_ms" 'BEGIN { printf "%.1f", ms / 1000 }') s: $(rate "$r_keys" "$r_ms") keys/s, $(mib "$b_bytes" "$r_ms") MiB/s (file check included)"
