#!/usr/bin/env bash
# Measures what an idle cluster costs: starts 3 `chorus node` processes on
# loopback with their data on disk in a temp dir, writes some keys, lets the
# cluster settle, then reads each node's CPU time (utime+stime from
# /proc/PID/stat) over a window and prints millicores per node and in total.
# The nodes are stopped and the temp dir removed on exit, whatever happens.
#
#   scripts/idle-cpu.sh [--tls] [--settle SECONDS] [--window SECONDS] [--keys N]
#                       [--bin PATH] [--port-base PORT] [--keep] [--profile DIR]
#
# Defaults: plaintext (--insecure), settle 30 s, window 60 s, 100 keys, the
# binary built from this checkout, ports from 47000 (node i: HTTP base+i,
# client gRPC base+10+i, peer gRPC base+20+i, gossip base+30+i). --tls serves
# TLS with certificates from `chorus certs`, as a node does by default, instead
# of --insecure. --keep leaves the data dir (logs) in place and prints its path.
# --profile DIR saves, after the window, a 30 s CPU profile and a goroutine
# dump of node0 in DIR (go tool pprof -top DIR/cpu.pprof).
# The box is shared and noisy: compare figures from runs close in time.
set -euo pipefail
cd "$(dirname "$0")/.."

tls=0 settle=30 window=60 keys=100 bin="" base=47000 keep=0 profile=
while (($#)); do
	case $1 in
	--tls) tls=1 ;;
	--settle) settle=$2; shift ;;
	--window) window=$2; shift ;;
	--keys) keys=$2; shift ;;
	--bin) bin=$2; shift ;;
	--port-base) base=$2; shift ;;
	--keep) keep=1 ;;
	--profile) profile=$2; shift ;;
	*) echo "usage: $0 [--tls] [--settle S] [--window S] [--keys N] [--bin PATH] [--port-base PORT] [--keep] [--profile DIR]" >&2; exit 2 ;;
	esac
	shift
done

dir=$(mktemp -d /tmp/chorus-idle-XXXXXX)
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

# Node i: HTTP base+i, client gRPC base+10+i, peer gRPC base+20+i, gossip base+30+i.
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

sec=(--insecure)
if ((tls)); then
	"$bin" certs create-ca --certs-dir "$dir/certs" >/dev/null
	"$bin" certs create-node --certs-dir "$dir/certs" node 127.0.0.1 localhost >/dev/null
	"$bin" certs create-client --certs-dir "$dir/certs" root >/dev/null
	sec=(--certs-dir "$dir/certs")
fi

for i in 0 1 2; do
	join=()
	if ((i > 0)); then join=(--join "127.0.0.1:$(goss 0)"); fi
	"$bin" node --name "node$i" --data-dir "$dir/node$i" "${sec[@]}" \
		--http-addr "127.0.0.1:$(http $i)" --grpc-addr "127.0.0.1:$(grpc $i)" \
		--peer-addr "127.0.0.1:$(peer $i)" --gossip-addr "127.0.0.1:$(goss $i)" \
		"${join[@]}" >"$dir/node$i.log" 2>&1 &
	pids+=($!)
	# The seed must be up before the others join it.
	if ((i == 0)); then sleep 1; fi
done

endpoints=127.0.0.1:$(grpc 0),127.0.0.1:$(grpc 1),127.0.0.1:$(grpc 2)
up=0
for _ in $(seq 150); do
	if "$bin" status "${sec[@]}" --endpoints "$endpoints" 2>/dev/null | grep -c ' true ' | grep -qx 3; then
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

for k in $(seq "$keys"); do
	"$bin" put "${sec[@]}" --endpoints "$endpoints" "idle-$k" "value-$k" >/dev/null
done
# A few deletes, so tombstones exist as they do in a real cluster.
for k in $(seq 1 10 "$keys"); do
	"$bin" del "${sec[@]}" --endpoints "$endpoints" "idle-$k" >/dev/null
done

sleep "$settle"

ticks() { # utime+stime of pid $1, in clock ticks
	awk '{print $14 + $15}' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)
before=()
for p in "${pids[@]}"; do before+=("$(ticks "$p")"); done
t0=$(date +%s.%N)
sleep "$window"
t1=$(date +%s.%N)
total=0
mode=plaintext
if ((tls)); then mode=tls; fi
echo "idle CPU of 3 nodes ($mode, $keys keys, settled ${settle}s, window ${window}s):"
for i in 0 1 2; do
	after=$(ticks "${pids[$i]}")
	mc=$(awk -v a="$after" -v b="${before[$i]}" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.1f", (a - b) / hz / (t1 - t0) * 1000 }')
	total=$(awk -v t="$total" -v m="$mc" 'BEGIN { printf "%.1f", t + m }')
	echo "  node$i: $mc millicores"
done
echo "  total: $total millicores"

if [ -n "$profile" ]; then
	mkdir -p "$profile"
	url=http://127.0.0.1:$(http 0)/debug/pprof
	curlsec=()
	if ((tls)); then
		url=https://127.0.0.1:$(http 0)/debug/pprof
		curlsec=(--cacert "$dir/certs/ca.crt" --cert "$dir/certs/client.root.crt" --key "$dir/certs/client.root.key")
	fi
	curl -fsS "${curlsec[@]}" -o "$profile/cpu.pprof" "$url/profile?seconds=30"
	curl -fsS "${curlsec[@]}" -o "$profile/goroutines.txt" "$url/goroutine?debug=1"
	echo "profile of node0 in $profile (cpu.pprof, goroutines.txt)"
fi
