#!/usr/bin/env bash
# Starts (or stops) a local 3-member etcd cluster of separate etcd
# processes, the etcd that Chorus is compared with (bench/etcdtarget runs
# the same layout from Go):
#
#   scripts/etcd.sh start [DIR] [BASEPORT]   # default: a new temp dir, 23790
#   scripts/etcd.sh stop  DIR
#
# Member i (etcd0, etcd1, etcd2) serves clients on 127.0.0.1:BASEPORT+2i and
# peers on BASEPORT+2i+1, so 23790/23792/23794 by default. Data goes to
# DIR/etcd<i>, logs to DIR/etcd<i>.log, pids to DIR/etcd<i>.pid and the
# client endpoints to DIR/endpoints. etcd keeps its defaults (fsync on).
# start runs scripts/install-etcd.sh first when etcd or etcdctl is missing,
# and returns once `etcdctl endpoint health` passes for every member. stop
# keeps DIR (data and logs); delete it yourself.
set -euo pipefail
cd "$(dirname "$0")/.."

members=3
# etcd reads ETCD_* variables as flags and etcdctl reads ETCDCTL_*; stray
# ones would change the cluster behind the flags' back.
for v in $(compgen -e | grep -E '^ETCD_|^ETCDCTL_' || true); do unset "$v"; done
export ETCDCTL_API=3

# bin NAME prints the path of NAME on PATH or in /usr/bin, Debian's place.
bin() { command -v "$1" 2>/dev/null || { [ -x "/usr/bin/$1" ] && echo "/usr/bin/$1"; }; }

# alive PID: the process exists and is not a zombie.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# is_etcd PID: the pid still names an etcd (and not a reused pid).
is_etcd() {
	alive "$1" && { [ ! -e "/proc/$1/comm" ] || [ "$(cat "/proc/$1/comm")" = etcd ]; }
}

# stop_pids SECONDS PID...: SIGTERM, wait up to SECONDS, then SIGKILL.
stop_pids() {
	local secs=$1 p
	shift
	local live=()
	for p in "$@"; do if is_etcd "$p"; then live+=("$p"); fi; done
	((${#live[@]})) || return 0
	kill "${live[@]}" 2>/dev/null || true
	for _ in $(seq $((secs * 10))); do
		local left=0
		for p in "${live[@]}"; do if alive "$p"; then left=1; fi; done
		((left)) || return 0
		sleep 0.1
	done
	echo "etcd.sh: pids ${live[*]} still running ${secs}s after SIGTERM; sending SIGKILL" >&2
	kill -9 "${live[@]}" 2>/dev/null || true
}

cmd=${1:-}
case "$cmd" in
start)
	dir=${2:-$(mktemp -d /tmp/etcd-cluster-XXXXXX)}
	base=${3:-23790}
	if ! [[ $base =~ ^[0-9]+$ ]] || ((base < 1 || base + 2 * members - 1 > 65535)); then
		echo "etcd.sh: bad BASEPORT $base" >&2
		exit 2
	fi
	if [ -z "$(bin etcd)" ] || [ -z "$(bin etcdctl)" ]; then
		scripts/install-etcd.sh >&2
	fi
	etcd=$(bin etcd)
	etcdctl=$(bin etcdctl)
	for f in "$dir"/etcd*.pid; do
		if [ -e "$f" ] && is_etcd "$(cat "$f")"; then
			echo "etcd.sh: a cluster is already running in $dir (scripts/etcd.sh stop $dir)" >&2
			exit 1
		fi
	done
	for ((port = base; port < base + 2 * members; port++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "etcd.sh: port $port is in use: another cluster is running (scripts/etcd.sh stop DIR)" >&2
			exit 1
		fi
	done
	mkdir -p "$dir"
	peers=() eps=()
	for ((i = 0; i < members; i++)); do
		peers+=("etcd$i=http://127.0.0.1:$((base + 2 * i + 1))")
		eps+=("127.0.0.1:$((base + 2 * i))")
	done
	initial=$(IFS=,; echo "${peers[*]}")
	endpoints=$(IFS=,; echo "${eps[*]}")
	token="chorus-etcd-$$-$(date +%s%N)"
	for ((i = 0; i < members; i++)); do
		client="http://127.0.0.1:$((base + 2 * i))" peer="http://127.0.0.1:$((base + 2 * i + 1))"
		"$etcd" --name "etcd$i" --data-dir "$dir/etcd$i" \
			--listen-client-urls "$client" --advertise-client-urls "$client" \
			--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
			--initial-cluster "$initial" --initial-cluster-state new \
			--initial-cluster-token "$token" --logger zap \
			</dev/null >"$dir/etcd$i.log" 2>&1 &
		echo $! >"$dir/etcd$i.pid"
	done
	echo "$endpoints" >"$dir/endpoints"
	for _ in $(seq 150); do
		if "$etcdctl" --endpoints "$endpoints" --command-timeout 1s endpoint health >/dev/null 2>&1; then
			echo "etcd cluster of $members members up; data and logs in $dir" >&2
			echo "endpoints: $endpoints"
			exit 0
		fi
		for ((i = 0; i < members; i++)); do
			if ! alive "$(cat "$dir/etcd$i.pid")"; then
				echo "etcd.sh: etcd$i exited; last lines of $dir/etcd$i.log:" >&2
				tail -n 5 "$dir/etcd$i.log" >&2
				"$0" stop "$dir" >/dev/null
				exit 1
			fi
		done
		sleep 0.2
	done
	echo "etcd.sh: cluster not healthy after 30 s; see $dir/etcd*.log" >&2
	"$etcdctl" --endpoints "$endpoints" --command-timeout 1s endpoint health >&2 || true
	"$0" stop "$dir" >/dev/null
	exit 1
	;;
stop)
	dir=${2:?usage: scripts/etcd.sh stop DIR}
	shopt -s nullglob
	pidfiles=("$dir"/etcd*.pid)
	if ((${#pidfiles[@]} == 0)); then
		echo "etcd.sh: no etcd*.pid in $dir: nothing to stop" >&2
		exit 1
	fi
	# A leader given SIGTERM hands leadership to a follower first and,
	# when the followers are stopping too, waits 7 s for that to time out.
	# So: followers first, then the leader, which then exits at once.
	leader=""
	if [ -f "$dir/endpoints" ] && etcdctl=$(bin etcdctl); then
		leader_ep=$("$etcdctl" --endpoints "$(cat "$dir/endpoints")" --command-timeout 1s endpoint status 2>/dev/null |
			awk -F', ' '$5 == "true" {print $1}' | head -n 1) || true
		eps=$(tr , ' ' <"$dir/endpoints")
		i=0
		for ep in $eps; do
			if [ "$ep" = "$leader_ep" ] && [ -f "$dir/etcd$i.pid" ]; then leader=$(cat "$dir/etcd$i.pid"); fi
			i=$((i + 1))
		done
	fi
	followers=()
	for f in "${pidfiles[@]}"; do
		p=$(cat "$f")
		if [ "$p" != "$leader" ]; then followers+=("$p"); fi
	done
	stop_pids 10 "${followers[@]}"
	if [ -n "$leader" ]; then stop_pids 10 "$leader"; fi
	rm -f "${pidfiles[@]}"
	echo "stopped; data and logs remain in $dir"
	;;
*)
	echo "usage: scripts/etcd.sh start [DIR] [BASEPORT] | stop DIR" >&2
	exit 2
	;;
esac
