#!/usr/bin/python3
"""Asks a real WebRTC peer for offers and whether it accepts answers, one JSON object per line.

Usage (root):  /usr/bin/python3 Tests/Interop/sdp_accept_driver.py --peer chromium|firefox|gstreamer [--timeout S]

Runs itself in a new network namespace that has only `lo` (see webrtc_peers.reexec_in_loopback_namespace).
Standard library only, except `--peer gstreamer`, which needs the Debian python3-gi GStreamer bindings.

Protocol. stdout, one JSON object per line:
  {"event": "ready", "peer": ..., "version": ...}            once the peer is up
  {"event": "offer", "sdp": ...}                             after an "offer" command
  {"event": "result", "ok": true|false, "error": ...}        after an "answer" command (setRemoteDescription)
  {"event": "error", "error": ...}                           on failure, then exit status 1
stdin, one JSON object per line:
  {"op": "offer", "scenario": "audio"|"bundle"|...}          a fresh RTCPeerConnection makes an offer (gathered)
  {"op": "answer", "sdp": ...}                               applied to the last offer's connection
  {"op": "quit"}                                             (end of input also quits)
The whole run is bounded by --timeout seconds: past it the peer is killed and the driver exits with status 3.
The browser is killed with its process group on every exit path, and also dies with the driver (PR_SET_PDEATHSIG).
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webrtc_peers  # noqa: E402


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True, choices=["chromium", "firefox", "gstreamer"])
    parser.add_argument("--timeout", type=float, default=45.0)
    args = parser.parse_args()

    peer = webrtc_peers.make_peer(args.peer, timeout=min(20.0, args.timeout))
    cleaned = threading.Event()

    def cleanup():
        if not cleaned.is_set():
            cleaned.set()
            try:
                peer.close()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass

    def on_deadline():
        emit({"event": "error", "error": "driver timeout after %.0f s" % args.timeout})
        cleanup()
        os._exit(3)

    def on_signal(signum, _frame):
        cleanup()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    watchdog = threading.Timer(args.timeout, on_deadline)
    watchdog.daemon = True
    watchdog.start()

    try:
        peer.__enter__()
        version = getattr(peer, "version", "") or args.peer
        emit({"event": "ready", "peer": args.peer, "version": version})
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            command = json.loads(line)
            op = command.get("op")
            if op == "offer":
                sdp = peer.offer(command.get("scenario", "audio"), gather=command.get("gather", True))
                emit({"event": "offer", "sdp": sdp, "userAgent": getattr(peer, "user_agent", "")})
            elif op == "answer":
                ok, error = peer.apply_answer(command["sdp"])
                emit({"event": "result", "ok": ok, "error": error})
            elif op == "quit":
                break
            else:
                raise webrtc_peers.PeerError("unknown op %r" % op)
        return 0
    except Exception as e:  # noqa: BLE001 - reported to the test, which fails with the message
        emit({"event": "error", "error": "%s: %s" % (type(e).__name__, e)})
        return 1
    finally:
        watchdog.cancel()
        cleanup()


if __name__ == "__main__":
    webrtc_peers.reexec_in_loopback_namespace([os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit(main())
