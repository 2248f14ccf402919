/// The demo page served at `/`: asks for the microphone, calls the relay with WHIP, plays what comes back, and
/// shows live getStats figures. Self-contained: no external scripts, styles or fonts.
///
/// Automation: `/?auto=1` starts the call on load; `window.earshot` exposes the state and the latest stats, so a
/// browser driven by a test can read them.
enum DemoPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Earshot</title>
        <style>
          body { font: 15px/1.45 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d232a; }
          h1 { font-size: 1.5rem; margin-bottom: .2rem; }
          .lede { color: #5b6670; margin-top: 0; }
          button { font: inherit; padding: .5rem 1.1rem; margin-right: .5rem; border-radius: .4rem; border: 1px solid #9aa5ae; background: #f4f6f8; cursor: pointer; }
          button.primary { background: #1f6feb; border-color: #1f6feb; color: white; }
          button:disabled { opacity: .45; cursor: default; }
          #state { font-weight: 600; }
          table { border-collapse: collapse; margin-top: 1rem; width: 100%; }
          td { padding: .3rem .6rem; border-bottom: 1px solid #e3e7eb; }
          td.v { text-align: right; font-variant-numeric: tabular-nums; }
          #log { font: 12px ui-monospace, monospace; white-space: pre-wrap; color: #5b6670; margin-top: 1rem; }
        </style>
        </head>
        <body>
        <h1>Earshot</h1>
        <p class="lede">Speak and hear the model answer through the relay (the built-in model echoes you).</p>
        <p>
          <button id="call" class="primary">Call</button>
          <button id="hangup" disabled>Hang up</button>
          State: <span id="state">idle</span>
        </p>
        <table>
          <tr><td>Round-trip time (ICE, candidate pair)</td><td class="v" id="rtt">–</td></tr>
          <tr><td>Round-trip time (RTCP, remote-inbound-rtp)</td><td class="v" id="rtcpRtt">–</td></tr>
          <tr><td>Jitter (inbound)</td><td class="v" id="jitter">–</td></tr>
          <tr><td>Jitter-buffer delay (inbound, mean)</td><td class="v" id="jbDelay">–</td></tr>
          <tr><td>Packets received / lost</td><td class="v" id="packets">–</td></tr>
          <tr><td>Packets sent</td><td class="v" id="sent">–</td></tr>
          <tr><td>Concealed samples</td><td class="v" id="concealed">–</td></tr>
          <tr><td>SRTP cipher / DTLS</td><td class="v" id="cipher">–</td></tr>
        </table>
        <div id="log"></div>
        <script>
        "use strict";
        const params = new URLSearchParams(location.search);
        const earshot = window.earshot = { state: "idle", stats: {}, error: null, resource: null };
        const $ = (id) => document.getElementById(id);
        let pc = null, timer = null, audio = null;

        function log(line) { $("log").textContent += line + "\n"; }
        function setState(s) { earshot.state = s; $("state").textContent = s; }
        const ms = (seconds) => seconds == null ? "–" : (seconds * 1000).toFixed(1) + " ms";

        async function call() {
          $("call").disabled = true;
          try {
            setState("getting microphone");
            const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
            pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
            pc.addTransceiver(stream.getAudioTracks()[0], { direction: "sendrecv", streams: [stream] });
            pc.ontrack = (event) => {
              audio = new Audio();
              audio.srcObject = event.streams[0] || new MediaStream([event.track]);
              audio.play().catch((e) => log("playback: " + e));
            };
            pc.onconnectionstatechange = () => setState(pc.connectionState);
            const offer = await pc.createOffer();
            await pc.setLocalDescription(offer);
            // Wait briefly for host candidates; the relay also accepts an offer without any.
            await new Promise((resolve) => {
              if (pc.iceGatheringState === "complete") return resolve();
              const t = setTimeout(resolve, 1000);
              pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); } };
            });
            setState("signaling");
            const headers = { "Content-Type": "application/sdp" };
            if (params.get("token")) headers["Authorization"] = "Bearer " + params.get("token");
            const response = await fetch("/v1/whip", { method: "POST", headers, body: pc.localDescription.sdp });
            if (response.status !== 201) throw new Error("WHIP " + response.status + ": " + await response.text());
            earshot.resource = response.headers.get("Location");
            log("session " + earshot.resource);
            await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
            $("hangup").disabled = false;
            timer = setInterval(poll, 500);
          } catch (e) {
            earshot.error = String(e);
            log(String(e));
            setState("failed");
            $("call").disabled = false;
          }
        }

        async function poll() {
          if (!pc) return;
          const report = await pc.getStats();
          const s = {};
          report.forEach((r) => {
            if (r.type === "candidate-pair" && r.nominated) s.rtt = r.currentRoundTripTime;
            if (r.type === "remote-inbound-rtp" && r.kind === "audio") s.rtcpRtt = r.roundTripTime;
            if (r.type === "inbound-rtp" && r.kind === "audio") {
              s.jitter = r.jitter; s.packetsReceived = r.packetsReceived; s.packetsLost = r.packetsLost;
              s.jitterBufferDelay = r.jitterBufferDelay; s.jitterBufferEmittedCount = r.jitterBufferEmittedCount;
              s.concealedSamples = r.concealedSamples; s.totalSamplesReceived = r.totalSamplesReceived;
              s.jitterBufferMean = r.jitterBufferEmittedCount ? r.jitterBufferDelay / r.jitterBufferEmittedCount : null;
            }
            if (r.type === "outbound-rtp" && r.kind === "audio") s.packetsSent = r.packetsSent;
            if (r.type === "transport") { s.srtpCipher = r.srtpCipher; s.dtlsState = r.dtlsState; s.tlsVersion = r.tlsVersion; }
          });
          earshot.stats = s;
          $("rtt").textContent = ms(s.rtt);
          $("rtcpRtt").textContent = ms(s.rtcpRtt);
          $("jitter").textContent = ms(s.jitter);
          $("jbDelay").textContent = ms(s.jitterBufferMean);
          $("packets").textContent = (s.packetsReceived ?? "–") + " / " + (s.packetsLost ?? "–");
          $("sent").textContent = s.packetsSent ?? "–";
          $("concealed").textContent = s.concealedSamples ?? "–";
          $("cipher").textContent = (s.srtpCipher ?? "–") + " / " + (s.dtlsState ?? "–");
        }

        async function hangup() {
          clearInterval(timer);
          if (earshot.resource) {
            try { await fetch(earshot.resource, { method: "DELETE" }); } catch (e) { log(String(e)); }
          }
          if (pc) pc.close();
          pc = null;
          setState("ended");
          $("hangup").disabled = true;
          $("call").disabled = false;
        }

        $("call").onclick = call;
        $("hangup").onclick = hangup;
        if (params.get("auto") === "1") call();
        </script>
        </body>
        </html>
        """#
}
