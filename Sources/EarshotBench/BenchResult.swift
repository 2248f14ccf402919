public import EarshotLatency

/// Everything one `earshot bench` run measured: what `--json` writes and what the HTML report draws.
/// Durations are in milliseconds, times since the start of the run in seconds.
public struct BenchResult: Codable, Sendable {
    public struct Configuration: Codable, Sendable {
        public var url: String
        public var sessions: Int
        public var durationSeconds: Double
        public var rampSeconds: Double
        /// The impairment as given (`loss=0.05,jitter=20,seed=7`), nil for a clean network.
        public var impairment: String?
        /// The relay's codec path and model, as its session JSON reports them ("passthrough", "echo").
        public var codecPath: String?
        public var model: String?
        /// The command line that produced the run.
        public var command: String
        /// When the run started (ISO 8601, UTC) and on what host (`uname -n`, cores).
        public var startedAt: String
        public var host: String

        public init(
            url: String, sessions: Int, durationSeconds: Double, rampSeconds: Double, impairment: String?,
            codecPath: String?, model: String?, command: String, startedAt: String, host: String
        ) {
            self.url = url
            self.sessions = sessions
            self.durationSeconds = durationSeconds
            self.rampSeconds = rampSeconds
            self.impairment = impairment
            self.codecPath = codecPath
            self.model = model
            self.command = command
            self.startedAt = startedAt
            self.host = host
        }
    }

    /// Sessions requested, connected, closed before the end (with why), failed to connect (with why).
    public struct Sessions: Codable, Sendable {
        public var requested: Int
        public var connected: Int
        public var closedEarly: Int
        public var failures: [String]
        public var closeReasons: [String]
        /// Session setup (offer to DTLS connected).
        public var setup: LatencySummary

        public init(
            requested: Int, connected: Int, closedEarly: Int, failures: [String], closeReasons: [String],
            setup: LatencySummary
        ) {
            self.requested = requested
            self.connected = connected
            self.closedEarly = closedEarly
            self.failures = failures
            self.closeReasons = closeReasons
            self.setup = setup
        }
    }

    /// Audio markers: sent, found again, missed.
    public struct Markers: Codable, Sendable {
        public var sent: Int
        public var found: Int
        public var missed: Int

        public init(sent: Int, found: Int, missed: Int) {
            self.sent = sent
            self.found = found
            self.missed = missed
        }
    }

    /// Packets each way, as the clients counted them, and what the receiving jitter buffers did.
    public struct Media: Codable, Sendable {
        public var packetsSent: Int
        public var packetsReceived: Int
        /// 100 × (sent − received) / sent: lost either way, or dropped by the relay or the model.
        public var packetsNotReturnedPercent: Double
        /// Packets the in-process impairment dropped, duplicated, on the uplink and the downlink.
        public var impairedLost: Int
        public var impairedDuplicated: Int
        public var concealedSamples: Int
        public var totalSamplesReceived: Int
        /// 100 × concealed / total.
        public var concealedPercent: Double
        /// Mean interarrival jitter the clients computed (RFC 3550), in milliseconds.
        public var jitterMs: Double?

        public init(
            packetsSent: Int, packetsReceived: Int, packetsNotReturnedPercent: Double, impairedLost: Int,
            impairedDuplicated: Int, concealedSamples: Int, totalSamplesReceived: Int, concealedPercent: Double,
            jitterMs: Double?
        ) {
            self.packetsSent = packetsSent
            self.packetsReceived = packetsReceived
            self.packetsNotReturnedPercent = packetsNotReturnedPercent
            self.impairedLost = impairedLost
            self.impairedDuplicated = impairedDuplicated
            self.concealedSamples = concealedSamples
            self.totalSamplesReceived = totalSamplesReceived
            self.concealedPercent = concealedPercent
            self.jitterMs = jitterMs
        }
    }

    /// One relay hop (from the relay's per-session histograms, merged over every session).
    public struct Hop: Codable, Sendable {
        /// The hop's name in the relay's session JSON (`ingress`, `jitterBuffer`, …).
        public var name: String
        /// What the hop spans, in words.
        public var span: String
        /// Whether the hop is relay processing (counted in relay-added latency) rather than buffering by design
        /// (jitter-buffer target, pacer start delay) or the model.
        public var relayProcessing: Bool
        public var latency: LatencySummary

        public init(name: String, span: String, relayProcessing: Bool, latency: LatencySummary) {
            self.name = name
            self.span = span
            self.relayProcessing = relayProcessing
            self.latency = latency
        }
    }

    /// A progress sample, every `interval` seconds during the run.
    public struct TimePoint: Codable, Sendable {
        public var atSeconds: Double
        public var sessionsUp: Int
        /// Marker round trips found during this interval.
        public var markers: Int
        public var rttP50Ms: Double?
        public var rttP99Ms: Double?
        /// Packets not returned during this interval, percent of those sent.
        public var lossPercent: Double?
        /// The local relay's CPU (100 = one core) and resident memory, when it was sampled.
        public var relayCPUPercent: Double?
        public var relayRSSMiB: Double?

        public init(
            atSeconds: Double, sessionsUp: Int, markers: Int, rttP50Ms: Double?, rttP99Ms: Double?,
            lossPercent: Double?, relayCPUPercent: Double?, relayRSSMiB: Double?
        ) {
            self.atSeconds = atSeconds
            self.sessionsUp = sessionsUp
            self.markers = markers
            self.rttP50Ms = rttP50Ms
            self.rttP99Ms = rttP99Ms
            self.lossPercent = lossPercent
            self.relayCPUPercent = relayCPUPercent
            self.relayRSSMiB = relayRSSMiB
        }
    }

    /// The same-run baselines: the client against an in-process echo with no relay in between, and the bare CPU
    /// cost of one session's SRTP and Opus work.
    public struct Baseline: Codable, Sendable {
        /// Marker round trip through an in-process echo (same client, same codec path, no relay).
        public var echoRTT: LatencySummary
        /// RTT through the relay minus the baseline, at p50 and p99 (each distribution's own percentile).
        public var relayAddedP50Ms: Double?
        public var relayAddedP99Ms: Double?
        /// The relay's configured buffering on the path (jitter-buffer target, pacer start delay), subtracted
        /// from the difference above to give `relayAdded…`; 0 for passthrough.
        public var relayBufferingMs: Double
        /// CPU seconds per second (100 = one core) that one session's relay-side SRTP + Opus work costs, measured
        /// in this process; the relay's CPU per session divided by this is `cpuRatio`.
        public var floorCPUPercentPerSession: Double?
        public var relayCPUPercentPerSession: Double?
        public var cpuRatio: Double?

        public init(
            echoRTT: LatencySummary, relayAddedP50Ms: Double?, relayAddedP99Ms: Double?, relayBufferingMs: Double,
            floorCPUPercentPerSession: Double?, relayCPUPercentPerSession: Double?, cpuRatio: Double?
        ) {
            self.echoRTT = echoRTT
            self.relayAddedP50Ms = relayAddedP50Ms
            self.relayAddedP99Ms = relayAddedP99Ms
            self.relayBufferingMs = relayBufferingMs
            self.floorCPUPercentPerSession = floorCPUPercentPerSession
            self.relayCPUPercentPerSession = relayCPUPercentPerSession
            self.cpuRatio = cpuRatio
        }
    }

    public var configuration: Configuration
    public var sessions: Sessions
    public var markers: Markers
    /// Mouth-to-ear round trip from the audio markers, all sessions together.
    public var rtt: LatencySummary
    /// The RTCP round trip the clients measured (network only, no buffering).
    public var rtcpRTT: LatencySummary
    public var media: Media
    /// The relay's per-hop view, merged over sessions; empty when the relay's session JSON was not reachable.
    public var hops: [Hop]
    /// Relay-side processing per packet (passthrough: socket in to socket out), merged over sessions.
    public var relayTransit: LatencySummary?
    public var timeline: [TimePoint]
    public var baseline: Baseline?
    /// Seconds between timeline points.
    public var interval: Double

    public init(
        configuration: Configuration, sessions: Sessions, markers: Markers, rtt: LatencySummary,
        rtcpRTT: LatencySummary, media: Media, hops: [Hop], relayTransit: LatencySummary?, timeline: [TimePoint],
        baseline: Baseline?, interval: Double
    ) {
        self.configuration = configuration
        self.sessions = sessions
        self.markers = markers
        self.rtt = rtt
        self.rtcpRTT = rtcpRTT
        self.media = media
        self.hops = hops
        self.relayTransit = relayTransit
        self.timeline = timeline
        self.baseline = baseline
        self.interval = interval
    }
}
