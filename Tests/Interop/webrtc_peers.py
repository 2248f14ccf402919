"""Real WebRTC peers for interop tests: headless Chromium, headless Firefox ESR and GStreamer webrtcbin.

Standard library only, except the GStreamer peer, which needs the Debian `python3-gi` bindings (imported lazily).

The browsers are driven by a page served from a tiny HTTP server on 127.0.0.1: the page long-polls `GET /next` for
a command, runs it with RTCPeerConnection and posts the outcome to `POST /report`. This works the same for every
browser and needs no WebDriver. Run everything inside a network namespace that has only `lo`
(`unshare -n bash -c 'ip link set lo up; ...'`) so that no traffic can leave the machine.

Commands (Python dict → page):
  {"op": "offer", "scenario": NAME, "gather": bool}  → report {"kind": "offer", "sdp": ..., "userAgent": ...}
  {"op": "answer", "sdp": TEXT}                        → report {"kind": "result", "ok": bool, "error": str}
  {"op": "quit"}

Scenarios: audio (one sendrecv audio transceiver), audio-sendonly, audio-recvonly, gum (getUserMedia audio track,
fake device), two-audio (two sendrecv audio transceivers), bundle (audio + video transceivers + a data channel).
"""

import json
import os
import queue
import shutil
import signal
import sys
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = r"""<!doctype html>
<html><head><meta charset="utf-8"><title>earshot sdp peer</title></head>
<body><script>
"use strict";
let pc = null;

async function report(message) {
  await fetch("/report", {method: "POST", headers: {"Content-Type": "application/json"},
                          body: JSON.stringify(message)});
}

function waitForGathering(peer, ms) {
  return new Promise(resolve => {
    if (peer.iceGatheringState === "complete") { resolve(); return; }
    const timer = setTimeout(resolve, ms);
    peer.addEventListener("icegatheringstatechange", () => {
      if (peer.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
    });
  });
}

async function makeOffer(scenario, gather) {
  if (pc) { pc.close(); }
  pc = new RTCPeerConnection({bundlePolicy: "max-bundle", rtcpMuxPolicy: "require"});
  switch (scenario) {
    case "audio": pc.addTransceiver("audio", {direction: "sendrecv"}); break;
    case "audio-sendonly": pc.addTransceiver("audio", {direction: "sendonly"}); break;
    case "audio-recvonly": pc.addTransceiver("audio", {direction: "recvonly"}); break;
    case "two-audio":
      pc.addTransceiver("audio", {direction: "sendrecv"});
      pc.addTransceiver("audio", {direction: "sendrecv"});
      break;
    case "gum": {
      const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: false});
      for (const track of stream.getAudioTracks()) { pc.addTrack(track, stream); }
      break;
    }
    case "bundle":
      pc.addTransceiver("audio", {direction: "sendrecv"});
      pc.addTransceiver("video", {direction: "sendrecv"});
      pc.createDataChannel("data");
      break;
    default: throw new Error("unknown scenario " + scenario);
  }
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  if (!gather) { return offer.sdp; }
  await waitForGathering(pc, 8000);
  return pc.localDescription.sdp;
}

async function run() {
  for (;;) {
    let command;
    try {
      command = await (await fetch("/next")).json();
    } catch (e) {
      return;
    }
    if (command.op === "quit") { return; }
    try {
      if (command.op === "offer") {
        const sdp = await makeOffer(command.scenario, command.gather);
        await report({kind: "offer", sdp: sdp, userAgent: navigator.userAgent});
      } else if (command.op === "answer") {
        try {
          await pc.setRemoteDescription({type: "answer", sdp: command.sdp});
          await report({kind: "result", ok: true, error: "", signalingState: pc.signalingState});
        } catch (e) {
          await report({kind: "result", ok: false, error: String(e), signalingState: pc.signalingState});
        }
      } else if (command.op !== "idle") {
        await report({kind: "error", error: "unknown op " + command.op});
      }
    } catch (e) {
      await report({kind: "error", error: String(e)});
    }
  }
}
run();
</script></body></html>
"""

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

# Firefox preferences (user.js): fake media devices without a prompt, loopback ICE candidates (Firefox skips
# loopback addresses otherwise), and no start-up network chatter or first-run pages.
FIREFOX_PREFS = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.peerconnection.ice.loopback": True,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "startup.homepage_welcome_url": "",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.auto": False,
    "app.update.enabled": False,
    "extensions.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "media.peerconnection.mtransport_process": False,
    "network.process.enabled": False,
}


class PeerError(Exception):
    pass


def _die_with_parent():
    """In the child before exec: ask the kernel for SIGKILL when the parent exits (PR_SET_PDEATHSIG = 1)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Hub:
    """HTTP server on 127.0.0.1 (ephemeral port) that serves the page and relays commands and reports."""

    def __init__(self, page=PAGE):
        self.page = page
        self.commands = queue.Queue()
        self.reports = queue.Queue()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, content_type):
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.startswith("/next"):
                    try:
                        command = hub.commands.get(timeout=20)
                    except queue.Empty:
                        command = {"op": "idle"}
                    self._send(200, json.dumps(command), "application/json")
                elif self.path == "/" or self.path.startswith("/index"):
                    self._send(200, hub.page, "text/html; charset=utf-8")
                else:
                    self._send(404, "not found", "text/plain")

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("utf-8")
                if self.path == "/report":
                    hub.reports.put(json.loads(body))
                self._send(200, "{}", "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class BrowserPeer:
    """A headless browser running PAGE (or `page`: another page speaking the same /next and /report protocol).
    `extra_args` are appended to the browser's command line. Use as a context manager; the browser's process group
    is killed on exit."""

    def __init__(self, browser, timeout=20.0, extra_prefs=None, page=PAGE, extra_args=()):
        if browser not in ("chromium", "firefox"):
            raise PeerError("unknown browser %r" % browser)
        self.browser = browser
        self.timeout = timeout
        self.hub = None
        self.process = None
        self.profile = None
        self.user_agent = ""
        # The last {"kind": "progress", "step": ...} a page reported, named in timeout errors.
        self.last_progress = ""
        self.extra_prefs = dict(extra_prefs or {})
        self.page = page
        self.extra_args = list(extra_args)

    def __enter__(self):
        self.hub = Hub(self.page)
        self.profile = tempfile.mkdtemp(prefix="earshot-%s-" % self.browser)
        if self.browser == "chromium":
            exe = shutil.which("chromium")
            if exe is None:
                raise PeerError("chromium not found: install the Debian package `chromium`")
            argv = [exe] + CHROMIUM_FLAGS + self.extra_args + ["--user-data-dir=" + self.profile, self.hub.url]
            env = dict(os.environ)
        else:
            exe = shutil.which("firefox-esr") or shutil.which("firefox")
            if exe is None:
                raise PeerError("firefox-esr not found: install the Debian package `firefox-esr`")
            with open(os.path.join(self.profile, "user.js"), "w") as f:
                for key, value in dict(FIREFOX_PREFS, **self.extra_prefs).items():
                    f.write("user_pref(%s, %s);\n" % (json.dumps(key), json.dumps(value)))
            argv = [exe, "--headless", "--no-remote", "--profile", self.profile] + self.extra_args + [self.hub.url]
            env = dict(os.environ, MOZ_HEADLESS="1", HOME=self.profile)
        # Own session (process group) so that the whole browser tree can be killed at once; and the browser gets
        # SIGKILL if this process dies first, whatever the way.
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=env, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.process is not None:
            try:
                self.hub.commands.put({"op": "quit"})
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.process = None
        if self.hub is not None:
            self.hub.close()
            self.hub = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def _wait(self, kind, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                last = (" (last progress: %s)" % self.last_progress) if self.last_progress else ""
                raise PeerError("%s: no %s report within %.0f s%s" % (self.browser, kind, timeout, last))
            if self.process is not None and self.process.poll() is not None:
                raise PeerError("%s exited with status %s" % (self.browser, self.process.returncode))
            try:
                message = self.hub.reports.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if message.get("kind") == "progress":
                self.last_progress = message.get("step", "")
                continue
            if message.get("kind") == "error":
                raise PeerError("%s page error: %s" % (self.browser, message.get("error")))
            if message.get("kind") == kind:
                return message

    def request(self, command, kind, timeout=None):
        """Sends `command` (a dict with "op") to the page and returns its next report of `kind`."""
        self.hub.commands.put(command)
        return self._wait(kind, timeout)

    def offer(self, scenario, gather=True):
        self.hub.commands.put({"op": "offer", "scenario": scenario, "gather": gather})
        message = self._wait("offer")
        self.user_agent = message.get("userAgent", "")
        return message["sdp"]

    def apply_answer(self, sdp):
        self.hub.commands.put({"op": "answer", "sdp": sdp})
        message = self._wait("result")
        return bool(message.get("ok")), message.get("error", "")


class GStreamerPeer:
    """GStreamer webrtcbin with one sendrecv Opus audio stream (audiotestsrc), driven through python3-gi."""

    def __init__(self, timeout=20.0):
        self.timeout = timeout
        self.pipeline = None
        self.webrtc = None
        self.loop_thread = None
        self.version = ""

    def __enter__(self):
        try:
            import gi
            gi.require_version("Gst", "1.0")
            gi.require_version("GstWebRTC", "1.0")
            gi.require_version("GstSdp", "1.0")
            from gi.repository import Gst, GstWebRTC, GstSdp, GLib
        except (ImportError, ValueError) as e:
            raise PeerError("GStreamer Python bindings missing (%s): install python3-gi, gir1.2-gst-plugins-bad-1.0, "
                            "gir1.2-nice-0.1, gstreamer1.0-plugins-bad, gstreamer1.0-nice" % e)
        self.Gst, self.GstWebRTC, self.GstSdp, self.GLib = Gst, GstWebRTC, GstSdp, GLib
        Gst.init(None)
        needed = {"webrtcbin": "gstreamer1.0-plugins-bad", "nicesrc": "gstreamer1.0-nice",
                  "audiotestsrc": "gstreamer1.0-plugins-base", "opusenc": "gstreamer1.0-plugins-base",
                  "rtpopuspay": "gstreamer1.0-plugins-good"}
        missing = sorted({package for element, package in needed.items() if Gst.ElementFactory.find(element) is None})
        if missing:
            raise PeerError("GStreamer elements missing: install %s" % ", ".join(missing))
        self.version = Gst.version_string()
        self.loop = GLib.MainLoop()
        self.loop_thread = threading.Thread(target=self.loop.run, daemon=True)
        self.loop_thread.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _teardown_pipeline(self):
        if self.pipeline is not None:
            self.pipeline.set_state(self.Gst.State.NULL)
            self.pipeline = None
            self.webrtc = None

    def close(self):
        self._teardown_pipeline()
        if self.loop_thread is not None:
            self.loop.quit()
            self.loop_thread.join(timeout=5)
            self.loop_thread = None

    def _await_promise(self, promise):
        result = promise.wait()
        if result != self.Gst.PromiseResult.REPLIED:
            raise PeerError("webrtcbin promise not replied: %s" % result)
        return promise.get_reply()

    def offer(self, scenario="audio", gather=True):
        Gst = self.Gst
        if scenario != "audio":
            raise PeerError("GStreamer peer supports only the audio scenario")
        self._teardown_pipeline()
        self.pipeline = Gst.parse_launch(
            "webrtcbin name=webrtc bundle-policy=max-bundle "
            "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=96 ! "
            "application/x-rtp,media=audio,encoding-name=OPUS,payload=96 ! webrtc.")
        self.webrtc = self.pipeline.get_by_name("webrtc")
        ice = self.webrtc.get_property("ice-agent")
        # libnice never gathers loopback addresses by itself; in a lo-only namespace add 127.0.0.1 explicitly.
        ice.emit("add-local-ip-address", "127.0.0.1")
        agent = ice.get_property("agent")
        if agent is not None:
            agent.set_property("upnp", False)
        gathered = threading.Event()

        def on_gathering(element, _pspec):
            if element.get_property("ice-gathering-state") == self.GstWebRTC.WebRTCICEGatheringState.COMPLETE:
                gathered.set()

        self.webrtc.connect("notify::ice-gathering-state", on_gathering)
        negotiation = threading.Event()
        self.webrtc.connect("on-negotiation-needed", lambda *_: negotiation.set())
        self.pipeline.set_state(Gst.State.PLAYING)
        negotiation.wait(timeout=self.timeout)
        promise = Gst.Promise.new()
        self.webrtc.emit("create-offer", None, promise)
        reply = self._await_promise(promise)
        offer = reply.get_value("offer")
        promise = Gst.Promise.new()
        self.webrtc.emit("set-local-description", offer, promise)
        self._await_promise(promise)
        if not gather:
            return offer.sdp.as_text()
        gathered.wait(timeout=self.timeout)
        return self.webrtc.get_property("local-description").sdp.as_text()

    def apply_answer(self, sdp):
        Gst, GstSdp, GstWebRTC = self.Gst, self.GstSdp, self.GstWebRTC
        result, message = GstSdp.SDPMessage.new_from_text(sdp)
        if result != GstSdp.SDPResult.OK:
            return False, "GstSdp could not parse the answer (%s)" % result
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        promise = Gst.Promise.new()
        self.webrtc.emit("set-remote-description", answer, promise)
        result = promise.wait()
        reply = promise.get_reply()
        error = None
        if reply is not None and reply.has_field("error"):
            error = reply.get_value("error")
        if result != Gst.PromiseResult.REPLIED or error is not None:
            return False, str(error.message if error is not None else result)
        state = self.webrtc.get_property("signaling-state")
        if state != GstWebRTC.WebRTCSignalingState.STABLE:
            return False, "signaling state after answer is %s, not stable" % state.value_nick
        return True, ""


def make_peer(name, timeout=20.0, extra_prefs=None):
    if name in ("chromium", "firefox"):
        return BrowserPeer(name, timeout=timeout, extra_prefs=extra_prefs)
    if name == "gstreamer":
        return GStreamerPeer(timeout=timeout)
    raise PeerError("unknown peer %r (chromium, firefox, gstreamer)" % name)


NAMESPACE_MARKER = "EARSHOT_LOOPBACK_NETNS"


def reexec_in_loopback_namespace(argv):
    """Re-runs this script in a new network namespace that has only `lo` (needs root), unless already inside one.

    Inside, `lo` is brought up and a default route through `lo` (source 127.0.0.1) is added: Firefox looks up its
    default local address by connecting a UDP socket towards a public address, and fails to gather any candidate
    when there is no route at all. The namespace has no other interface, so nothing can leave the machine.
    """
    if os.environ.get(NAMESPACE_MARKER) == "1":
        return
    unshare = shutil.which("unshare")
    if unshare is None:
        raise PeerError("unshare not found (util-linux)")
    script = "ip link set lo up && ip route add default dev lo src 127.0.0.1 && exec \"$0\" \"$@\""
    os.environ[NAMESPACE_MARKER] = "1"
    os.execv(unshare, [unshare, "-n", "bash", "-c", script] + [sys.executable] + list(argv))
