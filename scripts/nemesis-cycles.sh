#!/usr/bin/env bash
# 100 cycles of each fault kind, one `chorus nemesis --cycles` run per kind,
# and one summary row per run (docs/results.md records them):
#
#   scripts/nemesis-cycles.sh                         # N=3 R=2 W=2, every kind
#   scripts/nemesis-cycles.sh -r 1 -w 1 --kinds kill,pause   # R=1 W=1
#
# Options: --cycles K (100), -r R, -w W (2, 2), --kinds LIST (kill,pause,
# partition,clock,disk,membership), --seed S (1), --hold MIN,MAX (1s,3s),
# --quiet MIN,MAX (0.5s,1.5s), --first-host A and --port-base P (127.0.0.2,
# 12000: two runs side by side need disjoint ones), --out DIR (a new
# temporary directory; each run writes DIR/KIND). Every run judges a
# convergence over 30 s after any heal and a window over 1 s without an
# acknowledged write at a healthy node as anomalies. Exit status 1 if any
# run found one.
set -euo pipefail
cd "$(dirname "$0")/.."

cycles=100 r=2 w=2 kinds=kill,pause,partition,clock,disk,membership seed=1
hold=1s,3s quiet=0.5s,1.5s first=127.0.0.2 port=12000 out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--cycles) cycles=$2 ;;
	-r | --r) r=$2 ;;
	-w | --w) w=$2 ;;
	--kinds) kinds=$2 ;;
	--seed) seed=$2 ;;
	--hold) hold=$2 ;;
	--quiet) quiet=$2 ;;
	--first-host) first=$2 ;;
	--port-base) port=$2 ;;
	--out) out=$2 ;;
	*)
		echo "nemesis-cycles: unknown option $1" >&2
		exit 2
		;;
	esac
	shift 2
done
[ -n "$out" ] || out=$(mktemp -d /tmp/chorus-cycles-XXXXXX)
mkdir -p "$out"
bin="$out/chorus"
CGO_ENABLED=0 go build -o "$bin" ./cmd/chorus

summary() { # KIND DIR: one row from DIR/report.json
	python3 - "$1" "$2/report.json" <<'PY'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
ops = d["ops"]
bad = sum(a["count"] for a in (d.get("anomalies") or []))
row = next((a for a in d["availability"] if a["fault"] == kind), {})
gap = row.get("longest_write_gap", {})
gap_ms = (gap.get("end_ns", 0) - gap.get("start_ns", 0)) / 1e6
probed, slow = row.get("probed", 0), row.get("not_converged", 0)
print(f"| {kind} | {ops['total']:,} ({ops['ok']:,} / {ops['fail']:,} / {ops['info']:,}) | {bad} | "
      f"{probed - slow} of {probed}, slowest {row.get('longest_converge_ns', 0) / 1e9:.1f} s | "
      f"{d['converge']['ns'] / 1e9:.1f} s | {gap_ms:.0f} ms | {100 * row.get('share', 0):.1f}% |")
PY
}

failed=0
rows=()
for kind in ${kinds//,/ }; do
	echo "==> $kind: $cycles cycles, N=3 R=$r W=$w (output in $out/$kind)" >&2
	started=$(date +%s)
	rc=0
	"$bin" nemesis --cycles "$cycles" --faults "$kind" --r "$r" --w "$w" --seed "$seed" --hold "$hold" --quiet "$quiet" \
		--max-converge 30s --max-write-gap 1s --first-host "$first" --port-base "$port" --out "$out/$kind" \
		>"$out/$kind.txt" 2>"$out/$kind.log" || rc=$?
	echo "    exit $rc after $(($(date +%s) - started)) s" >&2
	if [ -f "$out/$kind/report.json" ]; then
		rows+=("$(summary "$kind" "$out/$kind")")
	else
		rows+=("| $kind | no report (exit $rc): see $out/$kind.log | | | | | |")
	fi
	[ "$rc" = 0 ] || failed=1
done
echo
echo "N=3 R=$r W=$w, $cycles cycles per kind, seed $seed, hold $hold, quiet $quiet"
echo "| fault | operations (ok / fail / info) | anomalies | converged after each heal | final convergence | longest write gap in a fault | share ok at healthy nodes |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
exit $failed
