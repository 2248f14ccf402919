#!/bin/bash
# Capacity sweep: a release relay on loopback and `earshot bench` at increasing session counts, one codec path.
#
#   bash Docs/bench/capacity.sh passthrough "1 25 50 100 150 200" 30 [OUTDIR] [--impair SPEC]
#
# For each count N it starts a fresh relay (`earshot serve --codec-path PATH`), runs
# `earshot bench --sessions N --duration D --ramp R --no-baseline --json OUTDIR/PATH-N.json`, stops the relay, and
# prints one line per run: sessions connected, markers found/sent, RTT p50/p99, the relay's transit or per-hop
# processing p99, relay CPU per session. Capacity is the largest N whose RTT p99 stays within 10 % of the
# 1-session figure (Docs/benchmarks.md). Every run is bounded (D seconds plus the ramp plus a minute).
set -euo pipefail
path=${1:?codec path: passthrough or transcode}
counts=${2:?session counts, e.g. "1 50 100"}
duration=${3:-30}
out=${4:-/tmp/earshot-capacity}
shift $(( $# < 4 ? $# : 4 ))
extra=("$@")
cd "$(dirname "$0")/../.."
bin=.build/release/earshot
[ -x "$bin" ] || swift build -c release --product earshot
mkdir -p "$out"
for n in $counts; do
  ramp=$(( n < 20 ? 1 : n / 10 ))
  "$bin" serve --codec-path "$path" --http 127.0.0.1:8085 --udp 127.0.0.1:0 --log-level warning >"$out/serve-$path-$n.log" 2>&1 &
  relay=$!
  sleep 1.5
  timeout $(( duration + ramp + 120 )) "$bin" bench --url http://127.0.0.1:8085/v1/whip --sessions "$n" \
    --duration "$duration" --ramp "$ramp" --no-baseline --json "$out/$path-$n.json" "${extra[@]}" \
    >"$out/$path-$n.txt" 2>&1 || true
  kill -TERM "$relay"; wait "$relay" || true
  /usr/bin/python3 - "$out/$path-$n.json" "$n" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("%5s sessions: no result" % sys.argv[2]); sys.exit(0)
rtt, s, b = r["rtt"], r["sessions"], r.get("baseline") or {}
hops = {h["name"]: h["latency"] for h in r["hops"]}
proc = [h["latency"].get("p99Ms") or 0 for h in r["hops"] if h["relayProcessing"]]
transit = (r.get("relayTransit") or {}).get("p99Ms")
cpu = [p["relayCPUPercent"] for p in r["timeline"] if p.get("relayCPUPercent") is not None and p["sessionsUp"] == s["connected"]]
per = (sum(cpu) / len(cpu) / max(1, s["connected"])) if cpu else None
print("%5d sessions: %d up, markers %d/%d, rtt p50 %.2f p99 %.2f ms, transit p99 %s ms, processing hops p99 sum %.2f ms, relay cpu %s%%/session, %.2f%% not returned" % (
    s["requested"], s["connected"], r["markers"]["found"], r["markers"]["sent"], rtt.get("p50Ms") or -1,
    rtt.get("p99Ms") or -1, "%.3f" % transit if transit is not None else "-", sum(proc),
    "%.3f" % per if per is not None else "-", r["media"]["packetsNotReturnedPercent"]))
EOF
done
