#!/usr/bin/env bash
# End-to-end test of the Docker packaging: builds the image, starts the
# five-node TLS cluster of deploy/docker-compose.yml and breaks it in the
# ways a real deployment breaks, then checks that every acknowledged write
# is still there:
#
#   0. run chorus demo in the image
#   1. write 1,000 keys                    (all five nodes up)
#   2. docker kill one node; write 500 more
#   3. cut another node off the network (docker network disconnect);
#      write 500 more; connect it again
#   4. restart the killed node; wait until the ring has five live members
#   5. read every acknowledged key back with R=3
#   6. scale out and in as deploy/k8s/README.md describes: chorus-5 joins,
#      then leaves with `chorus leave`; read everything back again
#
#   scripts/compose-test.sh                      # TLS (certificates in deploy/certs)
#   COMPOSE_INSECURE=1 scripts/compose-test.sh   # plaintext
#
# The client commands (chorus verify, chorus leave) run in throwaway
# containers on the cluster's network, where the nodes' names resolve.
# Whatever happens, the cluster, its volumes and the certificates are
# removed on exit. Needs Docker and docker-compose; run as root, or as a
# user allowed to use Docker (the certificates are then made readable to
# the image's user instead of owned by it).
#
# Environment: CHORUS_IMAGE (default chorus:dev), CHORUS_COMPOSE_PROJECT
# (default chorus-test), CHORUS_SUBNET_PREFIX (default 172.29.14, the
# network's /24), COMPOSE_FILE (default: deploy/docker-compose.yml, plus
# deploy/docker-compose.insecure.yml with COMPOSE_INSECURE=1).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

started=$(date +%s)
export CHORUS_IMAGE="${CHORUS_IMAGE:-chorus:dev}"
project="${CHORUS_COMPOSE_PROJECT:-chorus-test}"
insecure="${COMPOSE_INSECURE:-0}"
[ "$insecure" = 0 ] || [ "$insecure" = 1 ] || { echo "COMPOSE_INSECURE=$insecure: want 0 or 1" >&2; exit 2; }
if [ -z "${COMPOSE_FILE:-}" ]; then
	COMPOSE_FILE=deploy/docker-compose.yml
	[ "$insecure" = 0 ] || COMPOSE_FILE+=:deploy/docker-compose.insecure.yml
fi
export COMPOSE_FILE
network="${project}_chorus"
certs=deploy/certs
work=$(mktemp -d /tmp/chorus-compose-XXXXXX)

step() { printf '\n==> [%3ds] %s\n' "$(($(date +%s) - started))" "$*"; }
note() { printf -- '--- [%3ds] %s\n' "$(($(date +%s) - started))" "$*"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
compose() { docker-compose -p "$project" "$@"; }

# Always leave the machine as it was: containers, network, volumes,
# certificates, scratch files. On failure, show the nodes' last words.
cleanup() {
	local rc=$?
	if [ "$rc" != 0 ]; then
		echo "--- last log lines of each node (exit status $rc) ---" >&2
		compose logs --no-color --tail 15 >&2 2>&1 || true
	fi
	step "tear down"
	[ -z "${demo:-}" ] || docker rm -f "$demo" >/dev/null 2>&1 || true
	compose --profile scale down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
	rm -rf "$work" "$certs"
	echo "compose test finished in $(($(date +%s) - started))s with exit status $rc"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# client runs a chorus command in a throwaway container on the cluster's
# network, with the client certificate of root (or plaintext). Extra
# docker options go before a "--".
client() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	local conn=(-e CHORUS_INSECURE=true)
	if [ "$insecure" = 0 ]; then
		conn=(-e CHORUS_CERTS_DIR=/certs -v "$repo/$certs/client:/certs:ro")
	fi
	docker run --rm --network "$network" "${conn[@]}" \
		-e CHORUS_ENDPOINTS=chorus-0:9090,chorus-1:9090,chorus-2:9090,chorus-3:9090,chorus-4:9090 \
		"${opts[@]}" "$CHORUS_IMAGE" "$@"
}

# container prints the ID of a service's container.
container() {
	local id
	id=$(compose ps -q "$1")
	[ -n "$id" ] || fail "no container for $1"
	echo "$id"
}

# write PREFIX COUNT appends the keys acknowledged to $work/acked.
write() {
	client -- verify write --prefix "$1" --count "$2" --clients 16 >>"$work/acked" ||
		fail "verify write $1: no write acknowledged"
	echo "acknowledged so far: $(wc -l <"$work/acked")"
}

# read_all reads every acknowledged key back with R=3.
read_all() {
	client -i -- verify read --r 3 --clients 16 <"$work/acked" >"$work/lost" ||
		fail "acknowledged keys lost or unreadable: $(head -c 400 "$work/lost")"
}

members() {
	note "wait (at most $2) for $1 active, alive members"
	client -- verify members --want "$1" --wait "$2"
}

# Refuse to start over someone else's cluster.
step "preflight"
docker info >/dev/null 2>&1 || fail "docker info fails: is the Docker daemon running?"
command -v docker-compose >/dev/null || fail "docker-compose is not installed"
if [ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$project")" ]; then
	fail "containers of compose project $project exist; remove them (docker-compose -p $project down -v) or set CHORUS_COMPOSE_PROJECT"
fi

step "build the image $CHORUS_IMAGE"
bash scripts/docker-build.sh "$CHORUS_IMAGE"

step "chorus demo in the image (its data in a temporary directory)"
demo=$(docker run -d --rm "$CHORUS_IMAGE" demo)
# (grep reads whole logs: with pipefail, grep -q would fail the pipe early)
for _ in $(seq 30); do
	grep ':9090' <<<"$(docker logs "$demo" 2>&1)" >/dev/null && break
	sleep 1
done
sleep 2 # still up a moment after printing its nodes
logs=$(docker logs "$demo" 2>&1 || true)
[ "$(docker inspect -f '{{.State.Running}}' "$demo" 2>/dev/null)" = true ] ||
	fail "chorus demo did not keep running in the image: $(tail -5 <<<"$logs")"
grep ':9090' <<<"$logs" >/dev/null || fail "chorus demo printed no nodes: $(tail -5 <<<"$logs")"
docker stop -t 10 "$demo" >/dev/null
demo=
echo "chorus demo ran and stopped"

if [ "$insecure" = 0 ]; then
	step "certificates in $certs (CA, one per node, client root)"
	rm -rf "$certs"
	bin=build/docker/chorus
	mkdir -p "$certs/ca" "$certs/client"
	"$bin" certs create-ca --certs-dir "$certs/ca" >/dev/null
	for i in 0 1 2 3 4 5; do
		# A node's certificate names it as the other nodes and the clients
		# dial it, and as the host's port forwards reach it.
		"$bin" certs create-node --overwrite --certs-dir "$certs/ca" "chorus-$i" "chorus-$i" localhost 127.0.0.1 >/dev/null
		mkdir -p "$certs/chorus-$i"
		mv "$certs/ca/node.crt" "$certs/ca/node.key" "$certs/chorus-$i/"
		cp "$certs/ca/ca.crt" "$certs/ca/gossip.key" "$certs/chorus-$i/"
	done
	"$bin" certs create-client --certs-dir "$certs/ca" root >/dev/null
	mv "$certs/ca/client.root.crt" "$certs/ca/client.root.key" "$certs/client/"
	cp "$certs/ca/ca.crt" "$certs/client/"
	# The containers run as 10001:10001 and the keys are 0600.
	if [ "$(id -u)" = 0 ]; then
		chown -R 10001:10001 "$certs"
	else
		chmod -R a+rX "$certs"
	fi
else
	# The compose file mounts per-node directories even in plaintext.
	mkdir -p "$certs"/chorus-{0,1,2,3,4,5} "$certs/client"
fi

step "start chorus-0..4"
compose up -d --no-build chorus-0 chorus-1 chorus-2 chorus-3 chorus-4
members 5 90s
# The published ports answer from the host, over TLS with the names the
# node certificates carry (127.0.0.1).
note "from the host: chorus status --endpoints 127.0.0.1:39090"
host_conn=(--insecure)
[ "$insecure" = 1 ] || host_conn=(--certs-dir "$certs/client")
build/docker/chorus status "${host_conn[@]}" --endpoints 127.0.0.1:39090 >"$work/status" ||
	fail "chorus status from the host: $(cat "$work/status")"
grep -c 'chorus-' "$work/status" | xargs echo "status lines naming a node:"
# /healthz and /readyz, the probes of deploy/k8s, need no credentials.
if command -v curl >/dev/null; then
	note "from the host: GET /healthz and /readyz of every node"
	scheme=http tls=()
	[ "$insecure" = 1 ] || scheme=https tls=(--cacert "$certs/client/ca.crt")
	for i in 0 1 2 3 4; do
		for path in healthz readyz; do
			curl -sS --fail --max-time 5 "${tls[@]}" "$scheme://127.0.0.1:$((38080 + i))/$path" >"$work/probe" ||
				fail "chorus-$i /$path: $(cat "$work/probe")"
		done
	done
	echo "every node healthy and ready: $(cat "$work/probe")"
else
	note "SKIP the /healthz and /readyz checks: no curl"
fi

step "1. write 1000 keys"
write a- 1000

step "2. docker kill chorus-2, write 500 more"
docker kill "$(container chorus-2)" >/dev/null
write b- 500

step "3. partition chorus-4 (network disconnect), write 500 more, heal"
victim=$(container chorus-4)
victim_ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$victim")
docker network disconnect "$network" "$victim"
write c- 500
# Same address and name as before, so the other nodes find it again.
docker network connect --ip "$victim_ip" --alias chorus-4 "$network" "$victim"

step "4. restart chorus-2; wait for five live members"
compose start chorus-2 >/dev/null
members 5 90s

step "5. read every acknowledged key back with R=3"
read_all
echo "all $(wc -l <"$work/acked") acknowledged keys read back"

step "6a. scale out: chorus-5 joins"
compose --profile scale up -d --no-build chorus-5
members 6 90s
write d- 300

step "6b. scale in: chorus leave chorus-5 (it hands its data off and stops)"
client -- leave chorus-5 --wait 120s
note "chorus-5 left; the ring shrinks to five"
members 5 60s
state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$(container chorus-5)")
[ "$state" = "exited 0" ] || fail "chorus-5 after leaving: $state, want exited 0"
# A node ID that has left is retired: started again on its volume, the
# node refuses to rejoin (deploy/k8s/README.md relies on this).
# (without the restart policy, so that its refusal stays visible).
note "start chorus-5 again on its volume"
docker update --restart=no "$(container chorus-5)" >/dev/null
docker start "$(container chorus-5)" >/dev/null
for _ in $(seq 60); do
	state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$(container chorus-5)")
	case "$state" in exited*) break ;; esac
	sleep 1
done
case "$state" in
"exited 0" | running*) fail "chorus-5 started again after leaving: $state, want it to refuse" ;;
esac
echo "chorus-5 started again on its volume refuses to rejoin ($state): $(docker logs --tail 1 "$(container chorus-5)" 2>&1)"
compose rm -sf chorus-5 >/dev/null
members 5 30s
note "read back"
read_all
echo "all $(wc -l <"$work/acked") acknowledged keys read back after the scale-in"

step "ok: compose test passed"
