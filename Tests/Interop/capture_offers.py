#!/usr/bin/python3
"""Captures real SDP offers from headless Chromium, headless Firefox ESR and GStreamer webrtcbin into Fixtures/sdp/.

Usage (as root, from anywhere):  /usr/bin/python3 Tests/Interop/capture_offers.py [NAME ...]
With no NAME every capture below is taken. Runs itself inside a network namespace with only `lo` (see
webrtc_peers.reexec_in_loopback_namespace), so the only addresses a peer can gather are loopback ones.
Each offer is written exactly as the peer produced it (its own line endings), and a provenance line is printed.

Debian packages: chromium, firefox-esr, gstreamer1.0-tools, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good,
gstreamer1.0-plugins-bad, gstreamer1.0-nice, python3-gi, gir1.2-gst-plugins-bad-1.0, gir1.2-nice-0.1, iproute2.
"""

import datetime
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webrtc_peers  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Fixtures", "sdp")

# name → (peer, scenario, wait for ICE gathering to complete, extra Firefox prefs)
CAPTURES = {
    "chromium-audio": ("chromium", "audio", True, None),
    "chromium-audio-nocandidates": ("chromium", "audio", False, None),
    "chromium-gum": ("chromium", "gum", True, None),
    "chromium-sendonly": ("chromium", "audio-sendonly", True, None),
    "chromium-two-audio": ("chromium", "two-audio", True, None),
    "chromium-bundle": ("chromium", "bundle", True, None),
    "firefox-audio": ("firefox", "audio", True, None),
    "firefox-gum-loopback": ("firefox", "gum", True, {"media.peerconnection.ice.obfuscate_host_addresses": False}),
    "firefox-bundle": ("firefox", "bundle", True, None),
    "gstreamer-audio": ("gstreamer", "audio", True, None),
}


def version_of(peer):
    argv = {"chromium": ["chromium", "--version"], "firefox": ["firefox-esr", "--version"]}.get(peer)
    if argv is None:
        return None
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def main(names):
    os.makedirs(FIXTURES, exist_ok=True)
    selected = names or list(CAPTURES)
    failures = 0
    for name in selected:
        peer_name, scenario, gather, prefs = CAPTURES[name]
        try:
            with webrtc_peers.make_peer(peer_name, extra_prefs=prefs) as peer:
                sdp = peer.offer(scenario, gather=gather)
                detail = getattr(peer, "user_agent", "") or getattr(peer, "version", "")
        except webrtc_peers.PeerError as e:
            print("%s: FAILED: %s" % (name, e), file=sys.stderr)
            failures += 1
            continue
        path = os.path.join(FIXTURES, name + ".sdp")
        with open(path, "wb") as f:
            f.write(sdp.encode("utf-8"))
        print("%s: %s scenario=%s gather=%s prefs=%s | %s | %s | %s" % (
            name, peer_name, scenario, gather, prefs or {}, version_of(peer_name) or "", detail,
            datetime.date.today().isoformat()))
    return 1 if failures else 0


if __name__ == "__main__":
    webrtc_peers.reexec_in_loopback_namespace([os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit(main(sys.argv[1:]))
