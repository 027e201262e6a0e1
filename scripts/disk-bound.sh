#!/usr/bin/env bash
# Acceptance of "disk that stays bounded" (issue 16): starts 3 `chorus node`
# processes on loopback with their data on disk in a temp dir, overwrites the
# same --keys keys --rounds times (on average: uniform keys) with
# --value-size values, deletes half of them, waits past the tombstone grace
# for collection and for storage's garbage collection, and prints each data
# directory's size (allocated blocks, du) against the live data it holds.
# Target: at most 3x.
#
# It also measures what garbage collection costs foreground requests: a
# read load (open loop) runs while the collection after the overwrites runs,
# then the same load again once it is done; both p99s are printed.
#
#   scripts/disk-bound.sh [--keys N] [--rounds N] [--value-size BYTES]
#                         [--grace SECONDS] [--gc-interval SECONDS]
#                         [--bin PATH] [--port-base PORT] [--keep]
#
# Defaults: 10000 keys, 50 rounds, 4096 bytes, grace 20 s, GC every 15 s, the
# binary built from this checkout, ports from 47200 (node i: HTTP base+i,
# client gRPC base+10+i, peer gRPC base+20+i, gossip base+30+i). --keep leaves
# the data dirs and logs in place and prints their path. Needs curl.
set -euo pipefail
cd "$(dirname "$0")/.."

keys=10000 rounds=50 size=4096 grace=20 gcint=15 bin="" base=47200 keep=0
while (($#)); do
	case $1 in
	--keys) keys=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--value-size) size=$2; shift ;;
	--grace) grace=$2; shift ;;
	--gc-interval) gcint=$2; shift ;;
	--bin) bin=$2; shift ;;
	--port-base) base=$2; shift ;;
	--keep) keep=1 ;;
	*) echo "usage: $0 [--keys N] [--rounds N] [--value-size BYTES] [--grace S] [--gc-interval S] [--bin PATH] [--port-base PORT] [--keep]" >&2; exit 2 ;;
	esac
	shift
done

dir=$(mktemp -d /tmp/chorus-disk-XXXXXX)
pids=()
cleanup() {
	if ((${#pids[@]})); then
		kill "${pids[@]}" 2>/dev/null || true
		wait "${pids[@]}" 2>/dev/null || true
	fi
	if ((keep)); then echo "data and logs kept in $dir" >&2; else rm -rf "$dir"; fi
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
	"$bin" node --name "node$i" --data-dir "$dir/node$i" --insecure \
		--http-addr "127.0.0.1:$(http $i)" --grpc-addr "127.0.0.1:$(grpc $i)" \
		--peer-addr "127.0.0.1:$(peer $i)" --gossip-addr "127.0.0.1:$(goss $i)" \
		--tombstone-grace "${grace}s" --tombstone-interval 10s --gc-interval "${gcint}s" \
		"${join[@]}" >"$dir/node$i.log" 2>&1 &
	pids+=($!)
	if ((i == 0)); then sleep 1; fi
done

endpoints=127.0.0.1:$(grpc 0),127.0.0.1:$(grpc 1),127.0.0.1:$(grpc 2)
up=0
for _ in $(seq 150); do
	if "$bin" status --insecure --endpoints "$endpoints" 2>/dev/null | grep -c ' true ' | grep -qx 3; then
		up=1
		break
	fi
	sleep 0.2
done
if ((!up)); then
	echo "cluster did not come up; logs:" >&2
	tail -n 20 "$dir"/node*.log >&2
	keep=1
	exit 1
fi

# metric NODE SERIES: the value of SERIES (name{labels} as exposed) on NODE.
metric() {
	curl -sf "http://127.0.0.1:$(http "$1")/metrics" | awk -v s="$2" '$1 == s { print $2; exit }'
}
sum_metric() { # the sum of SERIES over the nodes
	local t=0 v
	for i in 0 1 2; do v=$(metric $i "$1"); t=$(awk -v a="$t" -v b="${v:-0}" 'BEGIN { printf "%.0f", a + b }'); done
	echo "$t"
}
sizes() { # one line per node: du and the metrics' view
	for i in 0 1 2; do
		printf '  node%d  du %6.1f MiB  (lsm %6.1f, vlog %5.1f, log %5.1f MiB)  live keys %s, tombstones %s\n' "$i" \
			"$(du -s --block-size=1 "$dir/node$i" | awk '{ print $1 / 1048576 }')" \
			"$(metric $i 'chorus_disk_bytes{kind="lsm"}' | awk '{ print $1 / 1048576 }')" \
			"$(metric $i 'chorus_disk_bytes{kind="vlog"}' | awk '{ print $1 / 1048576 }')" \
			"$(metric $i 'chorus_disk_bytes{kind="log"}' | awk '{ print $1 / 1048576 }')" \
			"$(metric $i chorus_live_keys)" "$(metric $i chorus_tombstone_keys)"
	done
}
# read_p99 LABEL: a read load at a fixed rate for 30 s; prints its p99 line.
read_p99() {
	"$bin" bench --insecure --endpoints "$endpoints" --op get --no-preload --keys "$keys" \
		--rate 300 --clients 32 --duration 30s --out "$dir/$1.json" >/dev/null 2>"$dir/$1.err"
	python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))["ops"][0]
print("  %-10s %d gets  p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  errors %d" % (
    sys.argv[2], o["count"], o["p50_ms"], o["p99_ms"], o["p999_ms"], o["max_ms"], o["errors"]))' "$dir/$1.json" "$1"
}

ops=$((keys * rounds))
echo "overwriting $keys keys $rounds times: $ops puts of $size bytes (N=3, W=2, not synced: a faster load, the same bytes on disk)"
start=$(date +%s)
"$bin" bench --insecure --endpoints "$endpoints" --op put --keys "$keys" --value-size "$size" \
	--ops "$ops" --duration 0 --clients 16 --no-sync >"$dir/load.txt" 2>"$dir/load.err"
sed 's/^/  /' "$dir/load.txt"
echo "  took $(($(date +%s) - start)) s"
echo "sizes right after the overwrites:"
sizes

# Garbage collection runs once the store is idle (two ticks of
# --gc-interval after the last write); a read load is not a write.
flat0=$(sum_metric chorus_storage_gc_flattens_total)
echo "foreground reads (300/s) while garbage collection runs, then after it:"
read_p99 "during-gc"
flat1=$(sum_metric chorus_storage_gc_flattens_total)
for _ in $(seq 60); do
	if (($(sum_metric chorus_storage_gc_flattens_total) >= flat0 + 3)); then break; fi
	sleep 2
done
flat2=$(sum_metric chorus_storage_gc_flattens_total)
read_p99 "after-gc"
flat3=$(sum_metric chorus_storage_gc_flattens_total)
echo "  flattens: $flat0 before, $flat1 after the first read run, $flat2 before the second, $flat3 after it"
echo "sizes after garbage collection:"
sizes

half=$((keys / 2))
echo "deleting $half keys (read for the context, then delete with it; 8 connections)"
start=$(date +%s)
python3 - "$(http 0)" "$half" <<'EOF'
import http.client, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
failed = []
def worker(w):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for k in range(w, n, 8):
        path = "/v1/kv/key-%08d" % k
        c.request("GET", path)
        r = c.getresponse(); r.read()
        ctx = r.getheader("X-Chorus-Context", "")
        c.request("DELETE", path, headers={"X-Chorus-Context": ctx})
        r = c.getresponse(); r.read()
        if r.status != 204:
            failed.append((path, r.status))
ts = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in ts: t.start()
for t in ts: t.join()
if failed:
    sys.exit("%d deletes failed, first %s" % (len(failed), failed[0]))
EOF
echo "  took $(($(date +%s) - start)) s"

echo "waiting for tombstone collection (grace ${grace}s) and garbage collection"
start=$(date +%s)
# Until none is left, or the count stops moving for a minute.
last=-1 still=0
for _ in $(seq 180); do
	left=$(sum_metric chorus_tombstone_keys)
	if ((left == 0)); then break; fi
	if ((left == last)); then still=$((still + 1)); else still=0 last=$left; fi
	if ((still >= 20)); then break; fi
	sleep 2
done
echo "  tombstones collected after $(($(date +%s) - start)) s: $(sum_metric chorus_tombstone_keys) left"
flat=$(sum_metric chorus_storage_gc_flattens_total)
for _ in $(seq 60); do
	if (($(sum_metric chorus_storage_gc_flattens_total) >= flat + 3)); then break; fi
	sleep 2
done
echo "  garbage collection done after $(($(date +%s) - start)) s (flattens $flat -> $(sum_metric chorus_storage_gc_flattens_total))"
echo "sizes at the end:"
sizes

echo "against the live data (every node holds every key at N=3 on 3 nodes):"
worst=0
for i in 0 1 2; do
	used=$(du -s --block-size=1 "$dir/node$i" | awk '{ print $1 }')
	live=$(($(metric $i chorus_live_keys) * size))
	brief=$((keys * size))
	ratio=$(awk -v u="$used" -v l="$live" 'BEGIN { printf "%.2f", u / l }')
	printf '  node%d  %6.1f MiB on disk / %5.1f MiB live = %sx  (%.2fx of all %d keys, %.1f MiB)\n' "$i" \
		"$(awk -v u="$used" 'BEGIN { print u / 1048576 }')" "$(awk -v l="$live" 'BEGIN { print l / 1048576 }')" "$ratio" \
		"$(awk -v u="$used" -v b="$brief" 'BEGIN { print u / b }')" "$keys" "$(awk -v b="$brief" 'BEGIN { print b / 1048576 }')"
	worst=$(awk -v a="$worst" -v b="$ratio" 'BEGIN { print (b > a) ? b : a }')
done
if awk -v w="$worst" 'BEGIN { exit !(w <= 3) }'; then
	echo "target met: every data directory within 3x its live data (worst ${worst}x)"
else
	echo "target NOT met: worst data directory ${worst}x its live data (target 3x)"
	exit 1
fi
