#!/usr/bin/python3
"""Cross-checks `earshot call`'s round trip against an independent account of the same path from headless
Chromium's getStats and the relay's per-hop figures; prints one JSON result line.

Usage (root; inside a network namespace that has only `lo`, as relay_interop.py explains):
  /usr/bin/python3 Tests/Interop/latency_crosscheck.py --earshot .build/debug/earshot
      [--codec-path transcode|passthrough] [--seconds 8] [--timeout 60]

What it does, in the namespace:
1. Starts the relay (`earshot serve`, the built-in echo, the given codec path).
2. At the same time, so that both see the same machine:
   - `earshot call --json` for `--seconds`: the round trip found from audio markers in the returned audio (mouth to
     the arrival of the returned packet), p50 over the markers, and the relay's JSON for the call's session;
   - headless Chromium calls the same relay (relay_interop.py's page, a tone sequence as fake microphone) and reads
     getStats while its call runs: the nominated candidate pair's currentRoundTripTime (the network both ways, from
     STUN consent checks; also totalRoundTripTime and responsesReceived) and its inbound jitter-buffer delay (jitterBufferDelay / jitterBufferEmittedCount). The
     relay's `GET /v1/sessions/{id}` for Chromium's session gives that session's per-hop p50s.
3. The account of the round trip from instruments other than the markers:
      20 ms of packetisation (the frame must fill before it is sent)
    + 6.5 ms Opus lookahead per encode (the client's; and the relay's when it transcodes)
    + Chromium's candidate-pair round trip (the network: the least of three readings of `currentRoundTripTime`,
      its latest STUN round trip, during the call)
    + the relay's per-hop p50s (passthrough: `transit`; transcoding: ingress, jitterBuffer, decode, toModel, pacer,
      encode, egress), for the call's session: the relay's buffering is per session (the pacer's wait depends on
      how that session's packets arrived), so the account uses the hops of the session whose markers it explains.
   The same sum with Chromium's session's hops is reported beside it, and so is the browser's own jitter-buffer
   delay, which is not added: `earshot call`'s figure stops at the arrival of the returned audio.

The line: `{"event": "result", "error": null | "...", "codecPath", "call": {rttP50Ms, markersFound, markersSent},
"chromium": {candidatePairRttMs, jitterBufferDelayMs, version, hops: {name: p50Ms}}, "estimate": {components...,
totalMs} (with the call's session's hops), "chromiumSessionEstimate": {...} (with Chromium's), "differenceMs"}`. The
Swift test asserts |differenceMs| ≤ 5.

Every wait is bounded: past `--timeout` the driver kills its children and exits with status 3.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay_interop  # noqa: E402
import webrtc_peers  # noqa: E402

PACKETIZATION_MS = 20.0
OPUS_LOOKAHEAD_MS = 6.5
TRANSCODING_HOPS = ["ingress", "jitterBuffer", "decode", "toModel", "pacer", "encode", "egress"]


def start_call(args, relay, directory):
    """Starts `earshot call --json` against the relay; `finish_call` waits for its report."""
    out = open(os.path.join(directory, "call.json"), "wb")
    err = open(os.path.join(directory, "call.err"), "wb")
    process = subprocess.Popen(
        [os.path.abspath(args.earshot), "call", "--url", relay.url + "/v1/whip", "--duration", str(args.seconds),
         "--json"],
        stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
        preexec_fn=webrtc_peers._die_with_parent)
    relay_interop.CHILD_GROUPS.append(process.pid)
    out.close()
    err.close()
    return process


def finish_call(args, process, directory):
    status = process.wait(timeout=args.seconds + 30)
    with open(os.path.join(directory, "call.err"), "rb") as f:
        err = f.read().decode("utf-8", "replace")
    if status != 0:
        raise webrtc_peers.PeerError("earshot call exited with %d: %s" % (status, err[-2000:]))
    with open(os.path.join(directory, "call.json"), "rb") as f:
        return json.loads(f.read().decode())


def run_chromium(args, relay, wav):
    """One Chromium call through the relay; returns (getStats during the call, the relay's session JSON, version)."""
    flags = ["--use-file-for-fake-audio-capture=" + wav]
    with webrtc_peers.BrowserPeer("chromium", timeout=20.0, page=relay_interop.PAGE, extra_args=flags) as browser:
        relay_interop.CHILD_GROUPS.append(browser.process.pid)
        media = browser.request({"op": "call", "whip": relay.url + "/v1/whip", "seconds": 6, "drainMs": 300},
                                "media", timeout=40)
        session_id = media["resource"].rstrip("/").rsplit("/", 1)[-1]
        session = relay.session(session_id)
        browser.request({"op": "hangup"}, "hangup", timeout=10)
        snapshots = [media[key] for key in ("early", "live", "stats") if media.get(key)]
        return snapshots, session, media.get("userAgent", "")


def estimate(codec_path, pair_rtt_ms, hops):
    components = {"packetizationMs": PACKETIZATION_MS,
                  "opusLookaheadMs": OPUS_LOOKAHEAD_MS * (2 if codec_path == "transcode" else 1),
                  "candidatePairRttMs": pair_rtt_ms}
    names = ["transit"] if codec_path == "passthrough" else TRANSCODING_HOPS
    missing = [name for name in names if name not in hops]
    if missing:
        raise webrtc_peers.PeerError("the relay's session JSON lacks hops %s" % missing)
    components["relayHopsMs"] = round(sum(hops[name] for name in names), 3)
    components["totalMs"] = round(sum(components.values()), 3)
    return components


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--earshot", required=True)
    parser.add_argument("--codec-path", default="transcode", choices=["transcode", "passthrough"])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="earshot-crosscheck-")
    relay = relay_interop.Relay(os.path.abspath(args.earshot), directory,
                                extra_args=["--codec-path", args.codec_path])
    result = {"event": "result", "error": None, "codecPath": args.codec_path}

    def body():
        relay.start(timeout=15)
        wav = relay_interop.make_wav(directory, relay_interop.tone_sequence())
        calling = start_call(args, relay, directory)
        snapshots, session, version = run_chromium(args, relay, wav)
        stats = snapshots[1] if len(snapshots) > 1 else snapshots[-1]
        call = finish_call(args, calling, directory)
        rtt = call.get("rttMilliseconds", {})
        result["call"] = {"rttP50Ms": rtt.get("p50"), "rttP90Ms": rtt.get("p90"), "markersFound": call["markersFound"],
                          "markersSent": call["markersSent"]}
        call_hops = {hop["name"]: hop["latency"]["p50Ms"]
                     for hop in ((call.get("relay") or {}).get("latency") or {}).get("hops", [])}
        result["call"]["hops"] = call_hops
        # The network: the least of the candidate pair's latest STUN round trip as read three times during the call
        # (1.5 s in, near the end, after it). Each reading is one check's round trip, and a check answered while
        # the browser or the machine is busy reads milliseconds high; the least of them is the path's. (The mean
        # over the call, totalRoundTripTime / responsesReceived, is reported too.)
        readings = [snapshot.get("candidatePair", {}).get("currentRoundTripTime") for snapshot in snapshots]
        readings = [r for r in readings if r is not None]
        pair = min(readings) if readings else None
        candidate = stats.get("candidatePair", {})
        responses = candidate.get("responsesReceived") or 0
        total = candidate.get("totalRoundTripTime")
        inbound = stats.get("inbound", {})
        if pair is None:
            raise webrtc_peers.PeerError("Chromium's getStats has no nominated candidate pair RTT: %s" % stats)
        hops = {hop["name"]: hop["latency"]["p50Ms"] for hop in (session.get("latency") or {}).get("hops", [])}
        emitted = inbound.get("jitterBufferEmittedCount") or 0
        result["chromium"] = {
            "version": version, "candidatePairRttMs": round(pair * 1000, 3),
            "jitterBufferDelayMs": round(1000 * inbound["jitterBufferDelay"] / emitted, 3) if emitted else None,
            "candidatePairMeanRttMs": round(1000 * total / responses, 3) if responses and total is not None else None,
            "candidatePairReadingsMs": [round(1000 * r, 3) for r in readings],
            "hops": hops}
        result["estimate"] = estimate(args.codec_path, round(pair * 1000, 3), call_hops)
        result["chromiumSessionEstimate"] = estimate(args.codec_path, round(pair * 1000, 3), hops)
        if result["call"]["rttP50Ms"] is None:
            raise webrtc_peers.PeerError("earshot call found no marker")
        result["differenceMs"] = round(result["call"]["rttP50Ms"] - result["estimate"]["totalMs"], 3)

    return relay_interop.run_bounded(relay, directory, result, args.timeout, body)


if __name__ == "__main__":
    webrtc_peers.reexec_in_loopback_namespace([os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit(main())
