#!/usr/bin/python3
"""A real WebRTC peer calls a running `earshot serve` and checks media both ways; prints one JSON result line.

Usage (root, inside a network namespace that has only `lo`, see below):
  /usr/bin/python3 Tests/Interop/relay_interop.py --earshot .build/debug/earshot --peer chromium|gstreamer
      [--seconds 6] [--timeout 35]

Run it as `unshare -n bash -c 'ip link set lo up; ip route add default dev lo src 127.0.0.1; exec /usr/bin/python3
Tests/Interop/relay_interop.py ...'` (the Swift test does); started outside such a namespace it re-runs itself in one
(webrtc_peers.reexec_in_loopback_namespace). Nothing can leave the namespace.

What it does, in the namespace:
1. Starts the relay (`earshot serve --http 127.0.0.1:<free port> --udp 127.0.0.1:0`) in its own process group and
   waits for `GET /v1/sessions` to answer.
2. Makes the test sound: a sequence of pure tones of 300 ms each from TONES, in a seeded random order with no tone
   twice in a row, 48 kHz 16-bit mono (sox), about 8 s. A sequence that does not repeat within the lag search
   window makes the lag found by correlation unambiguous.
3. The peer sends that sound through the relay's echo and measures what it sends and what comes back, every 20 ms:
   the dominant frequency (Hz, 0 when there is none) and the level (dBFS).
   - chromium: headless Chromium with the WAV as fake microphone (`--use-file-for-fake-audio-capture`) runs PAGE,
     served by this driver's own HTTP server (another origin than the relay's, so WHIP goes through CORS). The page
     plays the remote track (`new Audio()`, needed for jitter-buffer stats), measures both streams with WebAudio
     AnalyserNodes, stops sending after `--seconds` of media (`replaceTrack(null)`), lets the echo drain, reads
     getStats, and later DELETEs the WHIP resource.
   - gstreamer: webrtcbin (python3-gi) sends `audiotestsrc` stepping through the same tones (its `freq` property
     changed every 300 ms) via opusenc/rtpopuspay, decodes what comes back (rtpopusdepay/opusdec), and both streams
     are measured here with a Goertzel filter per tone per 20 ms frame. WHIP POST and DELETE from this driver.
4. Reads the relay's `GET /v1/sessions/{id}` after the media phase and again after the DELETE, until the session
   is closed.

The printed line, `{"event": "result", ...}`: `peer`, `version`, `error` (null when every step ran; the checks on
the figures are the Swift test's), `timings` (seconds since start), `client` (the peer's own view: `transport`
{dtlsState, srtpCipher, tlsVersion}, `outbound` {packetsSent}, `inbound` {packetsReceived, ...}, `remoteInbound`
{roundTripTime, ...}), `relay` (the session JSON after the media phase), `relayAfterDelete`, `deleteStatus`,
`audio` {frameMs, sent: [[hz, dBFS], ...], received: [...], compareFrames: how many leading frames were taken
while sending}, `tones`, `relayLog` (the relay's stderr tail).

Every wait is bounded; past `--timeout` seconds the driver kills its children and exits with status 3. The relay and
the peer run in their own process groups, which are killed on every way out; they also get SIGKILL if the driver
dies first (PR_SET_PDEATHSIG).
"""

import argparse
import json
import math
import operator
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webrtc_peers  # noqa: E402

# Eight tones 200 Hz apart. All are multiples of 50 Hz, so each completes whole periods in a 20 ms frame and the
# tones are orthogonal over a frame (Goertzel sees no leakage between them); 200 Hz apart is about 8 FFT bins of a
# 2048-point AnalyserNode at 48 kHz (23.4 Hz per bin), far more than its peak-picking error.
TONES = [400, 600, 800, 1000, 1200, 1400, 1600, 1800]
SEGMENT_SECONDS = 0.3
SEGMENTS = 27          # 8.1 s of sound: longer than the media phase, so the sound does not loop
SEED = 20261129        # fixed: the same sequence on every run
SAMPLE_RATE = 48000
FRAME_SECONDS = 0.02   # one measurement per 20 ms, one Opus frame

T0 = time.monotonic()
# Process groups to kill on the way out whatever happens (the browser's); the relay is handled by Relay.stop.
CHILD_GROUPS = []


def elapsed():
    return round(time.monotonic() - T0, 3)


def tone_sequence():
    rng = random.Random(SEED)
    sequence = []
    for _ in range(SEGMENTS):
        choices = [t for t in TONES if not sequence or t != sequence[-1]]
        sequence.append(rng.choice(choices))
    return sequence


def make_wav(directory, sequence):
    """The tone sequence as a 48 kHz 16-bit mono WAV, made with sox: one file per tone, then concatenated. Each
    segment fades in and out over 5 ms so that the joins do not click."""
    sox = shutil.which("sox")
    if sox is None:
        raise webrtc_peers.PeerError("sox not found: install the Debian package sox")
    parts = {}
    for tone in set(sequence):
        path = os.path.join(directory, "tone%d.wav" % tone)
        subprocess.run([sox, "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", path,
                        "synth", str(SEGMENT_SECONDS), "sine", str(tone), "vol", "0.5",
                        "fade", "h", "0.005", str(SEGMENT_SECONDS), "0.005"],
                       check=True, timeout=20, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        parts[tone] = path
    out = os.path.join(directory, "tones.wav")
    subprocess.run([sox] + [parts[t] for t in sequence] + [out], check=True, timeout=20,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return out


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay:
    """`earshot serve` on 127.0.0.1 in its own process group; stderr goes to a file for the result's log tail."""

    def __init__(self, executable, directory, extra_args=()):
        self.executable = executable
        self.extra_args = extra_args
        self.log_path = os.path.join(directory, "relay.log")
        self.process = None
        self.port = None

    def start(self, timeout):
        if not os.access(self.executable, os.X_OK):
            raise webrtc_peers.PeerError("relay executable %s missing: run `swift build` first" % self.executable)
        self.port = free_tcp_port()
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [self.executable, "serve", "--http", "127.0.0.1:%d" % self.port, "--udp", "127.0.0.1:0",
             "--log-level", "debug"] + list(self.extra_args),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=webrtc_peers._die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise webrtc_peers.PeerError("relay exited with status %s:\n%s" % (self.process.returncode, self.log()))
            try:
                self.get("/v1/sessions", timeout=1)
                return
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise webrtc_peers.PeerError("relay HTTP not up within %.0f s:\n%s" % (timeout, self.log()))
                time.sleep(0.05)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def get(self, path, timeout=3):
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))

    def session(self, session_id):
        return self.get("/v1/sessions/" + session_id)

    def wait_closed(self, session_id, timeout):
        """Polls the session until its state is "closed"; returns the last JSON seen."""
        deadline = time.monotonic() + timeout
        info = None
        while time.monotonic() < deadline:
            try:
                info = self.session(session_id)
                if info.get("state") == "closed":
                    return info
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.05)
        return info

    def log(self, limit=6000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM (graceful: sessions end with BYE and close_notify), then SIGKILL to the group after 5 s."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.process = None


# The browser page. It long-polls the driver's /next for commands and posts outcomes to /report
# (webrtc_peers.Hub). Commands:
#   {"op": "call", "whip": URL, "seconds": S, "drainMs": MS}  → {"kind": "media", ...} or {"kind": "error", ...}
#   {"op": "hangup"}                                         → {"kind": "hangup", "status": ..., ...}
PAGE = r"""<!doctype html>
<html><head><meta charset="utf-8"><title>earshot relay interop</title></head>
<body><script>
"use strict";
let pc = null, resource = null, audio = null, context = null;

async function report(message) {
  await fetch("/report", {method: "POST", headers: {"Content-Type": "application/json"},
                          body: JSON.stringify(message)});
}
function progress(step) { report({kind: "progress", step}).catch(() => {}); }
const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms));
function withTimeout(promise, ms, what) {
  return Promise.race([promise, sleep(ms).then(() => { throw new Error("timed out: " + what); })]);
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

// An AnalyserNode on a stream: 2048-point FFT (42.7 ms at 48 kHz), no smoothing between frames.
function analyser(stream) {
  const node = context.createAnalyser();
  node.fftSize = 2048;
  node.smoothingTimeConstant = 0;
  context.createMediaStreamSource(stream).connect(node);
  return {node, spectrum: new Float32Array(node.frequencyBinCount), samples: new Float32Array(node.fftSize)};
}

// [dominant frequency in Hz (peak bin above 100 Hz, parabolic interpolation; 0 if none), RMS level in dBFS].
function measure(a) {
  a.node.getFloatFrequencyData(a.spectrum);
  a.node.getFloatTimeDomainData(a.samples);
  let energy = 0;
  for (const x of a.samples) energy += x * x;
  const level = 10 * Math.log10(energy / a.samples.length + 1e-20);
  const binHz = context.sampleRate / a.node.fftSize;
  let best = -1;
  for (let i = Math.ceil(100 / binHz); i < a.spectrum.length - 1; i++) {
    if (Number.isFinite(a.spectrum[i]) && (best < 0 || a.spectrum[i] > a.spectrum[best])) best = i;
  }
  let hz = 0;
  if (best > 0) {
    const l = a.spectrum[best - 1], c = a.spectrum[best], r = a.spectrum[best + 1];
    const d = (Number.isFinite(l) && Number.isFinite(r) && l - 2 * c + r !== 0) ? 0.5 * (l - r) / (l - 2 * c + r) : 0;
    hz = (best + d) * binHz;
  }
  return [Math.round(hz * 10) / 10, Math.round(level * 10) / 10];
}

async function statsSnapshot() {
  const s = {transport: {}, outbound: {}, inbound: {}, remoteInbound: {}, candidatePair: {}, codec: {}};
  const report = await pc.getStats();
  report.forEach(r => {
    if (r.type === "transport") {
      s.transport = {dtlsState: r.dtlsState, srtpCipher: r.srtpCipher, tlsVersion: r.tlsVersion,
                     dtlsCipher: r.dtlsCipher, dtlsRole: r.dtlsRole, iceState: r.iceState};
    } else if (r.type === "outbound-rtp" && r.kind === "audio") {
      s.outbound = {packetsSent: r.packetsSent, bytesSent: r.bytesSent};
    } else if (r.type === "inbound-rtp" && r.kind === "audio") {
      s.inbound = {packetsReceived: r.packetsReceived, packetsLost: r.packetsLost, jitter: r.jitter,
                   jitterBufferDelay: r.jitterBufferDelay, jitterBufferEmittedCount: r.jitterBufferEmittedCount,
                   totalSamplesReceived: r.totalSamplesReceived, concealedSamples: r.concealedSamples,
                   codecId: r.codecId};
    } else if (r.type === "remote-inbound-rtp" && r.kind === "audio") {
      s.remoteInbound = {roundTripTime: r.roundTripTime, totalRoundTripTime: r.totalRoundTripTime,
                         roundTripTimeMeasurements: r.roundTripTimeMeasurements, packetsLost: r.packetsLost,
                         fractionLost: r.fractionLost};
    } else if (r.type === "candidate-pair" && r.nominated) {
      s.candidatePair = {state: r.state, currentRoundTripTime: r.currentRoundTripTime,
                         totalRoundTripTime: r.totalRoundTripTime, responsesReceived: r.responsesReceived};
    }
  });
  const inboundCodec = s.inbound.codecId ? report.get(s.inbound.codecId) : null;
  if (inboundCodec) s.codec = {mimeType: inboundCodec.mimeType, clockRate: inboundCodec.clockRate};
  return s;
}

async function call(command) {
  const marks = {start: performance.now()};
  progress("getUserMedia");
  const stream = await navigator.mediaDevices.getUserMedia(
    {audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  progress("AudioContext");
  context = new AudioContext();
  await withTimeout(context.resume(), 5000, "AudioContext.resume");
  progress("offer");
  pc = new RTCPeerConnection({bundlePolicy: "max-bundle", rtcpMuxPolicy: "require"});
  const sender = pc.addTrack(stream.getAudioTracks()[0], stream);
  const remote = new Promise(resolve => {
    pc.ontrack = event => resolve(event.streams[0] || new MediaStream([event.track]));
  });
  const connected = new Promise((resolve, reject) => {
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "connected") resolve();
      if (pc.connectionState === "failed") reject(new Error("connectionState failed"));
    });
  });
  await pc.setLocalDescription(await pc.createOffer());
  await waitForGathering(pc, 3000);
  progress("WHIP POST");
  // Cross-origin: this page is served by the driver, the relay is on another port. The POST with
  // Content-Type application/sdp is preflighted, and reading Location needs Access-Control-Expose-Headers.
  const response = await fetch(command.whip, {method: "POST", headers: {"Content-Type": "application/sdp"},
                                              body: pc.localDescription.sdp});
  const answer = await response.text();
  if (response.status !== 201) throw new Error("WHIP POST " + response.status + ": " + answer);
  const location = response.headers.get("Location");
  if (!location) throw new Error("WHIP answer without a readable Location header (CORS expose?)");
  resource = new URL(location, command.whip).href;
  await pc.setRemoteDescription({type: "answer", sdp: answer});
  marks.answered = performance.now();
  progress("connecting");
  const remoteStream = await withTimeout(remote, 10000, "remote track");
  audio = new Audio();
  audio.srcObject = remoteStream;
  await audio.play();
  await withTimeout(connected, 10000, "connectionState connected");
  marks.connected = performance.now();
  progress("media");

  const local = analyser(stream), received = analyser(remoteStream);
  const sent = [], heard = [], times = [];
  let sending = true, compareFrames = 0;
  const timer = setInterval(() => {
    times.push(performance.now());
    sent.push(measure(local));
    heard.push(measure(received));
    if (sending) compareFrames = sent.length;
  }, 20);
  await sleep(1500);
  const early = await statsSnapshot();   // once the call has settled: concealment so far is start-up's
  await sleep(command.seconds * 1000 - 1500);
  // While media still flows both ways: the browser's receive statistics of a call in progress (concealment
  // here is concealment of the relay's stream, not of its end).
  const live = await statsSnapshot();
  sending = false;
  await sender.replaceTrack(null);   // no more RTP from here on: lets the packet counts settle
  marks.stopped = performance.now();
  await sleep(command.drainMs);
  clearInterval(timer);
  const stats = await statsSnapshot();
  const frameMs = times.length > 1 ? (times[times.length - 1] - times[0]) / (times.length - 1) : 20;
  const t = (m) => m == null ? null : Math.round(m - marks.start) / 1000;
  await report({kind: "media", resource, stats, live, early, userAgent: navigator.userAgent,
                audio: {frameMs, sent, received: heard, compareFrames, sampleRate: context.sampleRate},
                marks: {answered: t(marks.answered), connected: t(marks.connected), stopped: t(marks.stopped)}});
}

async function hangup() {
  const response = await fetch(resource, {method: "DELETE"});   // preflighted cross-origin DELETE
  const before = pc.connectionState;
  // The relay answers a DELETE by ending the session: its DTLS close_notify closes the browser's DTLS transport
  // (Chromium leaves connectionState at "connected" though).
  const deadline = performance.now() + 3000;
  let stats = await statsSnapshot();
  while (performance.now() < deadline && stats.transport.dtlsState !== "closed" && pc.connectionState === "connected") {
    await sleep(50);
    stats = await statsSnapshot();
  }
  await report({kind: "hangup", status: response.status, connectionStateBefore: before,
                connectionState: pc.connectionState, dtlsState: stats.transport.dtlsState});
  pc.close();
}

async function run() {
  for (;;) {
    let command;
    try { command = await (await fetch("/next")).json(); } catch (e) { return; }
    if (command.op === "quit") return;
    try {
      if (command.op === "call") await call(command);
      else if (command.op === "hangup") await hangup();
      else if (command.op !== "idle") await report({kind: "error", error: "unknown op " + command.op});
    } catch (e) {
      await report({kind: "error", error: String(e) + (e && e.stack ? "\n" + e.stack : "")});
    }
  }
}
run();
</script></body></html>
"""


def run_chromium(args, relay, wav, result):
    flags = ["--use-file-for-fake-audio-capture=" + wav]
    with webrtc_peers.BrowserPeer("chromium", timeout=20.0, page=PAGE, extra_args=flags) as browser:
        CHILD_GROUPS.append(browser.process.pid)
        media = browser.request({"op": "call", "whip": relay.url + "/v1/whip", "seconds": args.seconds,
                                 "drainMs": 700}, "media", timeout=args.seconds + 20)
        result["timings"]["media"] = elapsed()
        result["version"] = media.get("userAgent", "")
        result["client"] = media["stats"]
        result["clientLive"] = media.get("live")
        result["clientEarly"] = media.get("early")
        result["audio"] = media["audio"]
        result["pageMarks"] = media["marks"]
        session_id = media["resource"].rstrip("/").rsplit("/", 1)[-1]
        result["sessionID"] = session_id
        result["relay"] = relay.session(session_id)
        hung = browser.request({"op": "hangup"}, "hangup", timeout=10)
        result["deleteStatus"] = hung["status"]
        result["clientAfterDelete"] = {k: hung.get(k) for k in ("connectionStateBefore", "connectionState",
                                                                 "dtlsState")}
        result["relayAfterDelete"] = relay.wait_closed(session_id, timeout=5)
        result["timings"]["deleted"] = elapsed()


# MARK: GStreamer webrtcbin

class ToneAnalyzer:
    """Collects 16-bit mono samples on the pipeline's running-time axis and measures them per 20 ms frame: the tone
    of TONES with the most energy (Goertzel), reported only when it holds at least PURITY of the frame's energy
    (else 0), and the frame's RMS level in dBFS.

    A stream is taken as continuous sound from its first buffer on, which is placed at the running time given for
    it; every later buffer follows the previous one sample for sample. The sent sound comes from a live source
    with gapless timestamps. For the received one the caller gives the arrival time of the first decoded buffer:
    the timestamps that webrtcbin's jitter buffer (slave mode) puts on the decoded sound can stand still for a
    while after a burst of packets (up to ~100 consecutive 20 ms buffers with the same timestamp were seen), so
    placing buffers at their timestamps would overlap them. Nothing is lost on loopback (the packet counts are
    checked); a lost packet would shift the rest of the stream by 20 ms, which the per-window lag search absorbs."""

    FRAME = int(SAMPLE_RATE * FRAME_SECONDS)
    # Share of a frame's energy its strongest tone must hold to count as its tone. Noise or a wrong sound spreads
    # its energy over far more than eight frequencies and stays well below.
    PURITY = 0.3

    def __init__(self):
        self.lock = threading.Lock()
        self.chunks = []   # (first sample index in running time, samples)
        self.next_index = None
        n = self.FRAME
        self.tables = {t: ([math.cos(2 * math.pi * t * i / SAMPLE_RATE) for i in range(n)],
                           [math.sin(2 * math.pi * t * i / SAMPLE_RATE) for i in range(n)]) for t in TONES}

    def add(self, running_time_ns, data):
        """Appends a buffer; `running_time_ns` places the first one and is ignored afterwards."""
        samples = memoryview(data).cast("h").tolist()
        with self.lock:
            if self.next_index is None:
                self.next_index = round(running_time_ns * SAMPLE_RATE / 1e9)
            self.chunks.append((self.next_index, samples))
            self.next_index += len(samples)

    def frames(self, first_frame, count):
        """Measurements for frames first_frame ..< first_frame + count (of the running-time grid)."""
        n = self.FRAME
        timeline = {}
        with self.lock:
            chunks = list(self.chunks)
        for start, samples in chunks:
            for offset in range(0, len(samples)):
                timeline[start + offset] = samples[offset]
        out = []
        for k in range(first_frame, first_frame + count):
            base = k * n
            frame = [timeline.get(base + i, 0) / 32768.0 for i in range(n)]
            energy = sum(map(operator.mul, frame, frame))
            level = 10 * math.log10(energy / n + 1e-20)
            best, best_power = 0, 0.0
            for tone, (cos_table, sin_table) in self.tables.items():
                re = sum(map(operator.mul, frame, cos_table))
                im = sum(map(operator.mul, frame, sin_table))
                power = re * re + im * im
                if power > best_power:
                    best, best_power = tone, power
            # A pure tone of amplitude A over n samples: power = (A n / 2)^2 and energy = A^2 n / 2, so
            # 2 power / (n energy) = 1. A frame where the tone changes half-way holds 1/4 of each (half the
            # samples: half the amplitude sum, squared); from PURITY up, the larger share is the frame's tone.
            purity = 2 * best_power / (n * energy) if energy > 0 else 0
            out.append([best if purity >= self.PURITY else 0, round(level, 1)])
        return out



class GStreamerCall:
    """webrtcbin sendrecv: audiotestsrc (stepping through the tone sequence) → opusenc → rtpopuspay → webrtcbin;
    what comes back → rtpopusdepay → opusdec → appsink. A tee taps the sent sound before the encoder."""

    def __init__(self, timeout):
        try:
            import gi
            gi.require_version("Gst", "1.0")
            gi.require_version("GstWebRTC", "1.0")
            gi.require_version("GstSdp", "1.0")
            from gi.repository import Gst, GstWebRTC, GstSdp, GLib
        except (ImportError, ValueError) as e:
            raise webrtc_peers.PeerError(
                "GStreamer Python bindings missing (%s): install python3-gi, gir1.2-gst-plugins-bad-1.0, "
                "gir1.2-nice-0.1, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-nice" % e)
        self.Gst, self.GstWebRTC, self.GstSdp, self.GLib = Gst, GstWebRTC, GstSdp, GLib
        Gst.init(None)
        self.version = Gst.version_string()
        self.timeout = timeout
        self.sent = ToneAnalyzer()
        self.received = ToneAnalyzer()
        self.pipeline = None
        self.loop = GLib.MainLoop()
        self.loop_thread = threading.Thread(target=self.loop.run, daemon=True)
        self.loop_thread.start()
        self.decoding = threading.Event()
        self.errors = []

    def close(self):
        if self.pipeline is not None:
            self.pipeline.set_state(self.Gst.State.NULL)
            self.pipeline = None
        self.loop.quit()
        self.loop_thread.join(timeout=5)

    def _promise(self, emit, *args):
        promise = self.Gst.Promise.new()
        self.webrtc.emit(emit, *args, promise)
        if promise.wait() != self.Gst.PromiseResult.REPLIED:
            raise webrtc_peers.PeerError("webrtcbin %s: promise not replied" % emit)
        reply = promise.get_reply()
        if reply is not None and reply.has_field("error"):
            raise webrtc_peers.PeerError("webrtcbin %s: %s" % (emit, reply.get_value("error").message))
        return reply

    def _sink(self, analyzer, name):
        Gst = self.Gst

        def on_sample(sink):
            sample = sink.emit("pull-sample")
            if sample is None:
                return Gst.FlowReturn.OK
            buffer = sample.get_buffer()
            if name == "received":
                running = self.running_time()   # arrival (see ToneAnalyzer)
            else:
                running = sample.get_segment().to_running_time(Gst.Format.TIME, buffer.pts)
            ok, info = buffer.map(Gst.MapFlags.READ)
            if ok:
                analyzer.add(running, bytes(info.data))
                buffer.unmap(info)
            if name == "received":
                self.decoding.set()
            return Gst.FlowReturn.OK

        sink = Gst.ElementFactory.make("appsink", name)
        sink.set_property("emit-signals", True)
        sink.set_property("sync", False)
        sink.set_property("caps", Gst.Caps.from_string(
            "audio/x-raw,format=S16LE,rate=%d,channels=1,layout=interleaved" % SAMPLE_RATE))
        sink.connect("new-sample", on_sample)
        return sink

    def start(self, sequence):
        Gst, GstWebRTC = self.Gst, self.GstWebRTC
        # samplesperbuffer=480: 10 ms buffers, so a frequency change lands within 10 ms of its time.
        # The queue before the encoder leaks: webrtcbin holds its input until DTLS is up, and a plain queue would
        # then release up to a second of stale sound in one burst and keep that much delay for the whole call.
        # latency=100: the receiving jitter buffer's delay (default 200 ms), which is most of the echo's lag.
        self.pipeline = Gst.parse_launch(
            "webrtcbin name=webrtc bundle-policy=max-bundle latency=100 "
            "audiotestsrc name=src is-live=true wave=sine volume=0.5 samplesperbuffer=480 freq=%d ! "
            "audio/x-raw,format=S16LE,rate=%d,channels=1 ! tee name=t "
            "t. ! queue leaky=downstream max-size-buffers=3 max-size-bytes=0 max-size-time=0 ! "
            "audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
            "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! webrtc. "
            "t. ! queue ! audioconvert name=tap" % (sequence[0], SAMPLE_RATE))
        self.webrtc = self.pipeline.get_by_name("webrtc")
        self.source = self.pipeline.get_by_name("src")
        sent_sink = self._sink(self.sent, "sent")
        self.pipeline.add(sent_sink)
        self.pipeline.get_by_name("tap").link(sent_sink)

        # Kept referenced for the whole call: with python3-gi 3.42 a dropped wrapper of the ICE object takes a
        # reference that webrtcbin still needs with it, and every later ICE call then fails (GST_IS_WEBRTC_ICE).
        self.ice = ice = self.webrtc.get_property("ice-agent")
        # libnice never gathers loopback addresses by itself; in a lo-only namespace add 127.0.0.1 explicitly.
        ice.emit("add-local-ip-address", "127.0.0.1")
        self.nice_agent = agent = ice.get_property("agent")
        if agent is not None:
            agent.set_property("upnp", False)

        def on_pad(_element, pad):
            if pad.get_direction() != Gst.PadDirection.SRC:
                return
            decode = Gst.parse_bin_from_description(
                "rtpopusdepay ! opusdec ! audioconvert ! audioresample ! audio/x-raw,rate=%d,channels=1 ! "
                "audioconvert name=out" % SAMPLE_RATE, True)
            self.pipeline.add(decode)
            sink = self._sink(self.received, "received")
            self.pipeline.add(sink)
            decode.link(sink)
            decode.sync_state_with_parent()
            sink.sync_state_with_parent()
            pad.link(decode.get_static_pad("sink"))

        self.webrtc.connect("pad-added", on_pad)
        gathered = threading.Event()

        def on_gathering(element, _pspec):
            if element.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
                gathered.set()

        self.webrtc.connect("notify::ice-gathering-state", on_gathering)
        negotiation = threading.Event()
        self.webrtc.connect("on-negotiation-needed", lambda *_: negotiation.set())
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", lambda _b, m: self.errors.append(str(m.parse_error()[0].message)))
        self.pipeline.set_state(Gst.State.PLAYING)
        if not negotiation.wait(timeout=self.timeout):
            raise webrtc_peers.PeerError("webrtcbin: no on-negotiation-needed")
        reply = self._promise("create-offer", None)
        offer = reply.get_value("offer")
        self._promise("set-local-description", offer)
        if not gathered.wait(timeout=self.timeout):
            raise webrtc_peers.PeerError("webrtcbin: ICE gathering did not complete")
        return self.webrtc.get_property("local-description").sdp.as_text()

    def apply_answer(self, sdp):
        GstSdp, GstWebRTC = self.GstSdp, self.GstWebRTC
        ok, message = GstSdp.SDPMessage.new_from_text(sdp)
        if ok != GstSdp.SDPResult.OK:
            raise webrtc_peers.PeerError("GstSdp could not parse the answer")
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        self._promise("set-remote-description", answer)

    def step_tones(self, sequence):
        """Changes audiotestsrc's frequency every SEGMENT_SECONDS along the sequence (on the GLib main loop)."""
        position = [1]

        def step():
            if self.pipeline is None or position[0] >= len(sequence):
                return False
            self.source.set_property("freq", float(sequence[position[0]]))
            position[0] += 1
            return True

        self.GLib.timeout_add(int(SEGMENT_SECONDS * 1000), step)

    def wait_state(self, what, getter, wanted, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if getter() == wanted:
                return True
            time.sleep(0.02)
        return False

    def running_time(self):
        """The pipeline's running time now, in nanoseconds (the clock of the buffer timestamps)."""
        return self.pipeline.get_clock().get_time() - self.pipeline.get_base_time()

    def connection_state(self):
        return self.webrtc.get_property("connection-state")

    def dtls_state(self):
        transceiver = self.webrtc.emit("get-transceiver", 0)
        if transceiver is None:
            return None
        transport = transceiver.get_property("sender").get_property("transport")
        if transport is None:
            return None
        return transport.get_property("state")

    def srtp_cipher(self):
        """The SRTP protection profile that the DTLS-SRTP key export configured on webrtcbin's srtpenc, by its
        name in the IANA DTLS-SRTP registry (RFC 5764 §4.1.2, RFC 7714 §14.2)."""
        for element in self._all_elements(self.webrtc):
            if element.get_factory() is not None and element.get_factory().get_name() == "srtpenc":
                cipher = element.get_property("rtp-cipher").value_nick
                auth = element.get_property("rtp-auth").value_nick
                names = {("aes-128-icm", "hmac-sha1-80"): "SRTP_AES128_CM_HMAC_SHA1_80",
                         ("aes-128-icm", "hmac-sha1-32"): "SRTP_AES128_CM_HMAC_SHA1_32",
                         ("aes-128-gcm", "null"): "SRTP_AEAD_AES_128_GCM",
                         ("aes-256-gcm", "null"): "SRTP_AEAD_AES_256_GCM"}
                return names.get((cipher, auth), "%s/%s" % (cipher, auth))
        return None

    def _all_elements(self, bin_):
        iterator = bin_.iterate_recurse()
        out = []
        while True:
            ok, element = iterator.next()
            if ok == self.Gst.IteratorResult.OK:
                out.append(element)
            elif ok == self.Gst.IteratorResult.RESYNC:
                iterator.resync()
                out = []
            else:
                return out

    def stats(self):
        """webrtcbin's get-stats, flattened into the same shape as the browser page's snapshot."""
        promise = self.Gst.Promise.new()
        self.webrtc.emit("get-stats", None, promise)
        promise.wait()
        reply = promise.get_reply()
        out = {"outbound": {}, "inbound": {}, "remoteInbound": {}, "transport": {}}
        if reply is None:
            return out

        def visit(_field_id, value, _data):
            if not hasattr(value, "get_name"):
                return True
            kind = value.get_value("type").value_nick if value.has_field("type") else ""
            if kind == "outbound-rtp":
                out["outbound"] = {"packetsSent": value.get_value("packets-sent"),
                                   "bytesSent": value.get_value("bytes-sent")}
            elif kind == "inbound-rtp":
                out["inbound"] = {"packetsReceived": value.get_value("packets-received"),
                                  "packetsLost": value.get_value("packets-lost"),
                                  "jitter": value.get_value("jitter")}
            elif kind == "remote-inbound-rtp" and value.has_field("round-trip-time"):
                out["remoteInbound"] = {"roundTripTime": value.get_value("round-trip-time")}
            return True

        reply.foreach(visit, None)
        return out

    def stop_sending(self):
        """Drops buffers before the payloader from here on (a pad probe), so no more RTP goes out."""
        pad = self.pipeline.get_by_name("t").get_static_pad("sink")
        pad.add_probe(self.Gst.PadProbeType.BUFFER, lambda *_: self.Gst.PadProbeReturn.DROP)


def http(method, url, body=None, headers=None, timeout=5):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def run_gstreamer(args, relay, sequence, result):
    peer = GStreamerCall(timeout=15)
    try:
        result["version"] = peer.version
        offer = peer.start(sequence)
        status, headers, answer = http("POST", relay.url + "/v1/whip", offer.encode("utf-8"),
                                       {"Content-Type": "application/sdp"})
        if status != 201:
            raise webrtc_peers.PeerError("WHIP POST %d: %s" % (status, answer))
        location = headers.get("Location", "")
        session_id = location.rstrip("/").rsplit("/", 1)[-1]
        result["sessionID"] = session_id
        peer.apply_answer(answer)
        result["timings"]["answered"] = elapsed()
        connected = peer.GstWebRTC.WebRTCPeerConnectionState.CONNECTED
        if not peer.wait_state("connection", peer.connection_state, connected, 10):
            raise webrtc_peers.PeerError("webrtcbin connection-state %s" % peer.connection_state().value_nick)
        result["timings"]["connected"] = elapsed()
        connected_at = peer.running_time()
        peer.step_tones(sequence)
        if not peer.decoding.wait(timeout=10):
            raise webrtc_peers.PeerError("webrtcbin decoded nothing from the relay")
        time.sleep(args.seconds)
        stopped_at = peer.running_time()
        peer.stop_sending()
        time.sleep(0.7)   # let the echo of the last packets come back
        result["timings"]["media"] = elapsed()
        dtls = peer.dtls_state()
        stats = peer.stats()
        stats["transport"] = {"dtlsState": dtls.value_nick if dtls is not None else None,
                              "srtpCipher": peer.srtp_cipher()}
        result["client"] = stats
        result["relay"] = relay.session(session_id)

        # Both streams on the running-time grid from the moment the connection was up (what was sent before
        # could not reach the relay) to the end of the drain; the comparison window ends when sending stopped
        # (the tee's tap keeps getting sound afterwards).
        frame_ns = FRAME_SECONDS * 1e9
        first_frame = math.ceil(connected_at / frame_ns)
        stop_frame = math.floor(stopped_at / frame_ns)
        count = stop_frame - first_frame + int(0.7 / FRAME_SECONDS)
        result["audio"] = {"frameMs": FRAME_SECONDS * 1000, "sent": peer.sent.frames(first_frame, count),
                           "received": peer.received.frames(first_frame, count),
                           "compareFrames": stop_frame - first_frame, "sampleRate": SAMPLE_RATE}
        result["gstreamerErrors"] = peer.errors

        status, _, body = http("DELETE", relay.url + location)
        result["deleteStatus"] = status
        result["relayAfterDelete"] = relay.wait_closed(session_id, timeout=5)
        closed = peer.GstWebRTC.WebRTCDTLSTransportState.CLOSED
        peer.wait_state("dtls", peer.dtls_state, closed, 3)
        after = peer.dtls_state()
        result["clientAfterDelete"] = {"dtlsState": after.value_nick if after is not None else None}
        result["timings"]["deleted"] = elapsed()
    finally:
        peer.close()



def run_bounded(relay, directory, result, timeout, body):
    """Runs `body` (which fills `result`) with the drivers' guarantees, and returns the exit status.

    On every way out the browsers' and other children's process groups (CHILD_GROUPS) get SIGKILL, the relay is
    stopped and `directory` removed. An exception in `body` becomes `result["error"]` (status 1). Past `timeout`
    seconds the result so far is printed with the reason and the driver exits with status 3; SIGTERM and SIGINT
    clean up and exit at once. Otherwise the result is printed as one JSON line, with the relay's log tail (and
    `timings.end` when the result has timings).
    """
    finished = threading.Event()

    def cleanup():
        for group in CHILD_GROUPS:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        relay.stop()
        shutil.rmtree(directory, ignore_errors=True)

    def on_deadline():
        if finished.is_set():
            return
        result["error"] = "driver timeout after %.0f s" % timeout
        result["relayLog"] = relay.log()
        print(json.dumps(result), flush=True)
        cleanup()
        os._exit(3)

    def on_signal(signum, _frame):
        cleanup()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    watchdog = threading.Timer(timeout, on_deadline)
    watchdog.daemon = True
    watchdog.start()
    status = 0
    try:
        body()
    except Exception as e:  # noqa: BLE001 - reported to the test, which fails with the message
        result["error"] = "%s: %s" % (type(e).__name__, e)
        status = 1
    finally:
        finished.set()
        watchdog.cancel()
        relay.stop()
        if "timings" in result:
            result["timings"]["end"] = elapsed()
        result["relayLog"] = relay.log()
        print(json.dumps(result), flush=True)
        cleanup()
    return status

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--earshot", required=True, help="path of the earshot executable")
    parser.add_argument("--peer", required=True, choices=["chromium", "gstreamer"])
    parser.add_argument("--seconds", type=float, default=6.0, help="media phase length")
    parser.add_argument("--relay-arg", action="append", default=[],
                        help="an extra argument for `earshot serve` (repeat for several)")
    parser.add_argument("--timeout", type=float, default=35.0, help="bound on the whole run")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="earshot-interop-")
    relay = Relay(os.path.abspath(args.earshot), directory, extra_args=args.relay_arg)
    sequence = tone_sequence()
    result = {"event": "result", "peer": args.peer, "version": "", "error": None, "timings": {},
              "tones": {"sequence": sequence, "segmentMs": SEGMENT_SECONDS * 1000}}

    def body():
        relay.start(timeout=15)
        result["timings"]["relayUp"] = elapsed()
        if args.peer == "chromium":
            wav = make_wav(directory, sequence)
            run_chromium(args, relay, wav, result)
        else:
            run_gstreamer(args, relay, sequence, result)

    return run_bounded(relay, directory, result, args.timeout, body)


if __name__ == "__main__":
    webrtc_peers.reexec_in_loopback_namespace([os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit(main())
