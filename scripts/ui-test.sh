#!/usr/bin/env bash
# The dashboard (/ui/) in a real browser: starts a 4-node plaintext cluster
# of `chorus node` processes in two zones, sends it traffic, stops one node,
# loads node0's /ui/ in headless Chromium and checks that the page's script
# rendered every member (node0..node3, node3 shown down) and the ring (arcs
# owned by each node), then saves a screenshot; then renders a canned state
# with transfers, hint errors and markup in messages (a Go test):
#
#   scripts/ui-test.sh [SCREENSHOT]     # default docs/img/dashboard.png
#
# Needs chromium (scripts/install-chromium.sh) and curl. UI_TEST_PORT
# moves the ports (default 28080: HTTP 28080+i, gRPC 29090+i, peers
# 29190+i, gossip 27946+i). Takes about a minute. The nodes, the traffic and
# the temporary directory are removed by a trap, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

shot=${1:-docs/img/dashboard.png}
base=${UI_TEST_PORT:-28080}
nodes=4

fail() {
	echo "ui-test: FAIL: $*" >&2
	exit 1
}

chromium=${CHROMIUM:-$(command -v chromium 2>/dev/null || true)}
[ -n "$chromium" ] || [ ! -x /usr/bin/chromium ] || chromium=/usr/bin/chromium
[ -n "$chromium" ] || fail "chromium not found: run scripts/install-chromium.sh (or set CHROMIUM)"
command -v curl >/dev/null || fail "curl not found"

dir=$(mktemp -d /tmp/chorus-ui-test-XXXXXX)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

for ((i = 0; i < nodes; i++)); do
	for port in $((base + i)) $((base + 1010 + i)) $((base + 1110 + i)) $((base - 134 + i)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			fail "port $port is in use (set UI_TEST_PORT to move the cluster)"
		fi
	done
done

echo "ui-test: building chorus"
start=$SECONDS
CGO_ENABLED=0 go build -o "$dir/chorus" ./cmd/chorus

echo "ui-test: starting $nodes nodes in $dir"
seed=127.0.0.1:$((base - 134))
for ((i = 0; i < nodes; i++)); do
	join=()
	if ((i > 0)); then join=(--join "$seed"); fi
	"$dir/chorus" node --insecure --name "node$i" --zone "zone-$((i % 2 + 1))" --data-dir "$dir/node$i" \
		--http-addr "127.0.0.1:$((base + i))" --grpc-addr "127.0.0.1:$((base + 1010 + i))" \
		--peer-addr "127.0.0.1:$((base + 1110 + i))" --gossip-addr "127.0.0.1:$((base - 134 + i))" \
		"${join[@]}" >"$dir/node$i.log" 2>&1 &
	pids+=($!)
	# Wait for each node to be ready before the next joins: the ring then
	# grows one node at a time, as an operator would grow it.
	deadline=$((SECONDS + 60))
	until curl -fsS -o /dev/null "http://127.0.0.1:$((base + i))/readyz" 2>/dev/null; do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			tail -20 "$dir/node$i.log" >&2
			fail "node$i exited while starting (its log is above)"
		fi
		((SECONDS < deadline)) || fail "node$i not ready after 60 s (log: $dir/node$i.log)"
		sleep 0.2
	done
done
echo "ui-test: cluster ready after $((SECONDS - start)) s"

# Traffic for the rates, p99s and sparklines: two clients putting and
# getting on every node.
traffic() {
	local j=$1
	while :; do
		n=$((j % nodes))
		curl -s -o /dev/null -X PUT --data-binary "value-$j" "http://127.0.0.1:$((base + n))/v1/kv/key-$((j % 200))" || true
		curl -s -o /dev/null "http://127.0.0.1:$((base + (n + 1) % nodes))/v1/kv/key-$(((j * 7) % 200))" || true
		j=$((j + 2))
	done
}
traffic 0 &
pids+=($!)
traffic 1 &
pids+=($!)
sleep 4

# node3 stops: the page must show it down, and writes for its partitions
# are kept as hints by the others.
kill "${pids[3]}"
wait "${pids[3]}" 2>/dev/null || true
echo "ui-test: node3 stopped; waiting for node0 to see it down"
deadline=$((SECONDS + 30))
until curl -fsS "http://127.0.0.1:$base/v1/cluster/members" | grep -q '"id":"node3"[^}]*"alive":false'; do
	((SECONDS < deadline)) || fail "node0 still sees node3 alive 30 s after it stopped"
	sleep 0.5
done
sleep 2 # a few writes queue hints for node3

url="http://127.0.0.1:$base/ui/"
browser=("$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars
	--user-data-dir="$dir/chromium")

echo "ui-test: loading $url in $("$chromium" --version 2>/dev/null || echo chromium)"
dom=$dir/dom.html
# A few polls (every 2 s of the page's virtual time) for the DOM; more for
# the screenshot, so the sparklines have a line to draw.
if ! timeout 60 "${browser[@]}" --virtual-time-budget=5000 --dump-dom "$url" >"$dom" 2>"$dir/chromium.log"; then
	tail -20 "$dir/chromium.log" >&2
	fail "chromium --dump-dom failed (its log is above)"
fi
check() { # check WHAT PATTERN: the rendered DOM must match PATTERN
	grep -q -- "$2" "$dom" || {
		cp "$dom" /tmp/chorus-ui-test-dom.html
		fail "$1: no match for '$2' in the rendered page (saved to /tmp/chorus-ui-test-dom.html)"
	}
}
check "the page's script did not finish a render" 'data-rendered="1"'
for ((i = 0; i < nodes; i++)); do
	check "node$i missing from the members table" "<td class=\"node\" data-node=\"node$i\">"
	check "node$i owns no arc of the ring drawing" "data-owner=\"node$i\""
done
check "node3 not shown down" '<tr class="down"><td class="node" data-node="node3">'
arcs=$(grep -o 'data-partition="' "$dom" | wc -l)
((arcs >= 256)) || fail "the ring drawing has $arcs arcs, want at least one per partition (256)"
echo "ui-test: members node0..node3 (node3 down) and $arcs ring arcs rendered"

mkdir -p "$(dirname "$shot")"
if ! timeout 60 "${browser[@]}" --virtual-time-budget=10000 --window-size=1500,1200 --screenshot="$shot" "$url" >/dev/null 2>>"$dir/chromium.log"; then
	tail -20 "$dir/chromium.log" >&2
	fail "chromium --screenshot failed (its log is above)"
fi
[ -s "$shot" ] || fail "no screenshot written to $shot"

# What a healthy cluster does not show (transfers, delivery errors, markup
# in messages), from a canned state, in the same browser.
echo "ui-test: rendering a canned state (go test -run TestUIBrowserRendersState)"
CHROMIUM="$chromium" go test ./server -run 'TestUIBrowserRendersState$' -count=1 ||
	fail "the page did not render the canned state (the test's output is above)"
echo "ui-test: ok in $((SECONDS - start)) s, screenshot in $shot"
