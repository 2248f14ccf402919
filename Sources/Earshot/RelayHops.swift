import EarshotLatency
import EarshotWire

/// The hops a packet's audio takes through the relay, each timed per packet or frame (Docs/latency.md).
///
/// Every timestamp is the relay's monotonic clock read on its event loop; `ingress` starts when the datagram was
/// read from the socket (the kernel's queue before that is not seen), `egress` ends when the datagram was written
/// to it (sendmmsg returned).
public enum RelayHop: String, CaseIterable, Sendable, Codable {
    /// Socket read → the session's audio handler: routing, SRTP unprotect, RTP parsing.
    case ingress
    /// Packet at the session → its frame out of the jitter buffer (transcoding) or the reorder buffer (passthrough
    /// to a protocol model): buffering by design, mostly the jitter buffer's target delay.
    case jitterBuffer
    /// The jitter buffer's work for one frame: Opus decode or concealment, time stretching.
    case decode
    /// Frame out of the buffer → handed to the model: the model protocol's framing and the transport write, or
    /// the built-in echo's hand-over to the pacer.
    case toModel
    /// An echoing protocol model: input frame sent → the same frame back (transport both ways and the model).
    case modelTurnaround
    /// A protocol model with the server VAD: `speech_stopped` sent → the first audio of its next response (the
    /// model's time to first audio, transport both ways included).
    case modelResponse
    /// Model audio into the downlink pacer → its frame's due time: the pacer's start delay and any backlog
    /// (buffering by design).
    case pacer
    /// The pacer's work for one frame: re-framing and Opus encode.
    case encode
    /// Frame encoded (or, passthrough, packet handed back) → written to the socket: SRTP protect, the write.
    case egress
    /// Passthrough echo: socket read → the echo written to the socket. The relay's whole cost for one packet.
    case transit

    /// What the hop spans, for reports.
    public var span: String {
        switch self {
        case .ingress: "socket read → session (routing, SRTP unprotect, RTP parse)"
        case .jitterBuffer: "session → out of the jitter/reorder buffer (buffering by design)"
        case .decode: "jitter buffer work per frame (Opus decode, concealment, stretching)"
        case .toModel: "out of the buffer → handed to the model (framing, transport write)"
        case .modelTurnaround: "sent to an echoing model → the same audio back"
        case .modelResponse: "speech_stopped sent → first audio of the model's response"
        case .pacer: "model audio queued → frame due (pacer start delay, backlog)"
        case .encode: "pacer work per frame (re-framing, Opus encode)"
        case .egress: "frame ready → written to the socket (SRTP protect, send)"
        case .transit: "passthrough: socket read → echo written to the socket"
        }
    }

    /// Relay processing (counted in relay-added latency), as opposed to buffering by design or the model.
    public var isRelayProcessing: Bool {
        switch self {
        case .jitterBuffer, .pacer, .modelTurnaround, .modelResponse: false
        case .ingress, .decode, .toModel, .encode, .egress, .transit: true
        }
    }
}

/// One session's hop histograms, confined to the relay's event loop like the session. Each value recorded also
/// goes to the relay-wide Prometheus histogram of its hop.
struct SessionHops {
    private var histograms = [LatencyHistogram](repeating: LatencyHistogram(), count: RelayHop.allCases.count)
    private let metrics: RelayMetrics?

    init(metrics: RelayMetrics?) {
        self.metrics = metrics
    }

    mutating func record(_ hop: RelayHop, _ duration: Duration) {
        histograms[hop.index].record(duration)
        metrics?.record(hop, duration)
    }

    /// Merges in values measured elsewhere (the bridge's turnarounds), replacing what the hop had.
    mutating func set(_ hop: RelayHop, _ histogram: LatencyHistogram) {
        histograms[hop.index] = histogram
    }

    /// The hops that saw at least one value, in path order.
    var summaries: [SessionInfo.HopLatency] {
        RelayHop.allCases.compactMap { hop in
            let histogram = histograms[hop.index]
            guard histogram.count > 0 else { return nil }
            return SessionInfo.HopLatency(
                name: hop.rawValue, span: hop.span, relayProcessing: hop.isRelayProcessing, latency: histogram.summary)
        }
    }
}

extension RelayHop {
    /// The hop's place in `allCases` (the histogram arrays' index), without a search on the packet path.
    var index: Int {
        switch self {
        case .ingress: 0
        case .jitterBuffer: 1
        case .decode: 2
        case .toModel: 3
        case .modelTurnaround: 4
        case .modelResponse: 5
        case .pacer: 6
        case .encode: 7
        case .egress: 8
        case .transit: 9
        }
    }
}
