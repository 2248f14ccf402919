import EarshotOpus
public import EarshotWire

/// The uplink jitter buffer: Opus packets in, in any order and with any timing; PCM frames out, in order, on the
/// profile's terms (see `JitterBufferConfiguration.Profile`). Sans-IO: every call takes `now`, and
/// `nextDeadline` says when to call `poll` again.
///
/// The structure follows NetEq's split:
/// - the **packet buffer** (`insert`) orders packets by timestamp, throws away duplicates and packets too late to
///   play, and is bounded (`maximumPackets`; overflow flushes it, counted);
/// - the **delay estimator** (`DelayEstimator`) turns arrival times into a target delay;
/// - the **decision logic** (`poll`) decides per step: decode the next packet; rebuild a lost one from the next
///   packet's in-band FEC; conceal it (Opus PLC), fading to silence after `concealmentBeforeFade`; fill a DTX gap
///   with comfort noise; and, in the conversational profile, shrink the delay (drop silence, or remove a pitch
///   period from speech) when the buffer holds more than the target or grow it (repeat a pitch period) when it
///   holds less.
///
/// Timestamps are the sender's (RTP, 48 kHz, unwrapped to 64 bits); all delay bookkeeping is in them, so the
/// buffer works on virtual time in tests exactly as on the relay's clock.
public final class JitterBuffer {
    public let configuration: JitterBufferConfiguration
    public private(set) var statistics = JitterBufferStatistics()

    private let decoder: OpusDecoder
    private let outputRate: Int
    private let frameSamples: Int
    private var estimator: DelayEstimator

    private struct Packet {
        var sequence: Int64
        var timestamp: Int64
        var payload: [UInt8]
        var arrival: Instant
        var duration: Int64  // 48 kHz ticks
        var carriesFEC: Bool
    }

    /// Buffered packets, ordered by timestamp.
    private var packets: [Packet] = []
    private var sequences = RTPSequenceNumberUnwrapper()
    private var timestamps = RTPTimestampUnwrapper()
    /// Sequence numbers decoded recently (a ring), to tell a duplicate of a played packet from a late one.
    private var recentlyDecoded = [Int64](repeating: -1, count: 256)

    /// The timestamp of the next audio to decode (48 kHz ticks); nil before the first packet.
    private var nextTimestamp: Int64?
    private var lastDecodedSequence: Int64?
    /// Concealment produced while the buffer was empty, not yet matched by a gap (48 kHz ticks): when packets
    /// resume, up to this much missing audio counts as already replaced (the delay grew instead).
    private var expandedSinceDecode: Int64 = 0
    /// Output samples of uninterrupted concealment so far.
    private var concealedRun = 0
    private var lastSourceWasConcealment = false

    /// Decoded audio not yet emitted, and where each stretch of it came from.
    private var pcm: [Int16] = []
    private struct Segment {
        var count: Int
        var timestamp: Int64
        var arrival: Instant?
        var source: UplinkFrame.Source
        var stretched: Bool
        var followsGap = false
    }
    private var segments: [Segment] = []
    private var scratch: [Int16]

    // Conversational: the playout clock and the buffer level filter.
    private var nextTick: Instant?
    private var filteredLevelMilliseconds = 0.0
    private var levelFilterPrimed = false
    private var firstArrival: Instant?
    private var newestArrival: Instant?

    // Model: when the wait for a missing packet ends, and how late reordered packets have come.
    private var gapDeadline: Instant?
    private var gapNoticed: (timestamp: Int64, at: Instant)?
    private var reorderLateness: [(at: Instant, lateness: Duration)] = []
    private var recentArrivals: [(timestamp: Int64, arrival: Instant)] = []

    /// Frames ready to hand out.
    private var ready: [UplinkFrame] = []

    /// A known gap (the packet after it is here) longer than this is skipped, not filled: past
    /// `concealmentBeforeFade` concealment is silence anyway, and filling a long gap in one go would push that
    /// much made-up audio ahead of the packets already waiting (delay for a listener, a backlog for a model that
    /// answers in real time). The frame after the jump says so (`UplinkFrame.followsGap`).
    private var maximumFill: Int64 {
        let fade = configuration.concealmentBeforeFade.nanosecondsClamped / 1_000_000 * 48
        return fade + Int64(frameSamples) * 48_000 / Int64(outputRate)
    }
    private var pendingGap = false
    /// DTX gaps are filled with comfort noise up to this long (WebRTC senders send a DTX packet every 400 ms);
    /// longer ones are skipped like any other jump.
    static let maximumDTXFill: Int64 = 48_000 * 2
    /// A packet this far behind the playout point is taken as a restarted stream, not as a late packet.
    static let restartDistance: Int64 = 48_000 * 3

    public init(configuration: JitterBufferConfiguration) throws(JitterBufferError) {
        try configuration.validate()
        self.configuration = configuration
        do {
            decoder = try OpusDecoder(sampleRate: configuration.output.sampleRate, channels: .mono)
        } catch {
            throw .codec(error)
        }
        outputRate = configuration.output.sampleRate.hertz
        frameSamples = configuration.output.samplesPerFrame
        estimator = DelayEstimator(parameters: configuration.estimator)
        scratch = [Int16](repeating: 0, count: configuration.output.sampleRate.maxPacketSamples)
        statistics.targetDelay = configuration.profile == .conversational
            ? configuration.initialDelay.seconds : configuration.maximumDelay.seconds
    }

    // MARK: Input

    /// Hands the buffer one RTP packet's Opus payload.
    public func insert(sequenceNumber: UInt16, timestamp: UInt32, payload: UnsafeRawBufferPointer, arrival: Instant) {
        statistics.packetsReceived += 1
        let sequence = sequences.unwrap(sequenceNumber)
        let ts = timestamps.unwrap(timestamp)
        guard payload.count > 0, let layout = try? OpusPacketLayout(parsing: payload) else {
            statistics.packetsInvalid += 1
            return
        }
        let carriesFEC = layout.firstFrameCarriesFEC(in: payload)
        if carriesFEC { statistics.fecPacketsReceived += 1 }
        if firstArrival == nil { firstArrival = arrival }
        newestArrival = max(newestArrival ?? arrival, arrival)
        estimator.record(timestamp: ts, arrival: arrival)
        noteReordering(timestamp: ts, arrival: arrival)

        if let next = nextTimestamp, ts < next {
            if recentlyDecoded[Int(sequence & 255)] == sequence {
                statistics.packetsDuplicated += 1
                return
            }
            if next - ts > Self.restartDistance {
                // Far behind anything we could have played: the sender restarted its timeline.
                restart(at: ts)
            } else {
                statistics.packetsDiscarded += 1
                statistics.packetsLate += 1
                return
            }
        }
        // Binary search for the insertion point by timestamp; same sequence number → duplicate.
        var low = 0, high = packets.count
        while low < high {
            let mid = (low + high) / 2
            if packets[mid].timestamp < ts { low = mid + 1 } else { high = mid }
        }
        if low < packets.count, packets[low].sequence == sequence || packets[low].timestamp == ts {
            statistics.packetsDuplicated += 1
            return
        }
        if packets.count >= configuration.maximumPackets {
            flush()
            restart(at: ts)
            low = 0
        }
        packets.insert(
            Packet(sequence: sequence, timestamp: ts, payload: Array(payload), arrival: arrival,
                   duration: Int64(layout.samplesAt48kHz), carriesFEC: carriesFEC),
            at: low)
        if nextTimestamp == nil {
            nextTimestamp = ts
            if configuration.profile == .conversational {
                nextTick = arrival + configuration.initialDelay
            }
        }
    }

    /// `insert` for a payload held in an array.
    public func insert(sequenceNumber: UInt16, timestamp: UInt32, payload: [UInt8], arrival: Instant) {
        payload.withUnsafeBytes { insert(sequenceNumber: sequenceNumber, timestamp: timestamp, payload: $0, arrival: arrival) }
    }

    /// Forgets the stream (a new SSRC): buffered packets and audio are dropped (counted as flushed) and the next
    /// packet starts a new timeline. Statistics are kept.
    public func reset() {
        flush()
        pcm.removeAll(keepingCapacity: true)
        segments.removeAll()
        nextTimestamp = nil
        nextTick = nil
        lastDecodedSequence = nil
        sequences = RTPSequenceNumberUnwrapper()
        timestamps = RTPTimestampUnwrapper()
        estimator = DelayEstimator(parameters: configuration.estimator)
        expandedSinceDecode = 0
        gapDeadline = nil
        gapNoticed = nil
        try? decoder.reset()
    }

    // MARK: Output

    /// When `poll` should next be called: the next playout tick (conversational) or the end of the wait for a
    /// missing packet (model); nil when there is nothing to wait for.
    public var nextDeadline: Instant? {
        if !ready.isEmpty { return .zero }
        switch configuration.profile {
        case .conversational: return nextTick
        case .model: return gapDeadline
        }
    }

    /// The next frame due at `now`, or nil. Call until nil after every `insert` (model profile) and at
    /// `nextDeadline`.
    public func poll(now: Instant) -> UplinkFrame? {
        if ready.isEmpty {
            switch configuration.profile {
            case .conversational: tickConversational(now: now)
            case .model: runModel(now: now)
            }
        }
        guard !ready.isEmpty else { return nil }
        return ready.removeFirst()
    }

    /// The target delay now: the conversational buffer level aimed at, or the model profile's reorder window.
    public func targetDelay(at now: Instant) -> Duration {
        switch configuration.profile {
        case .conversational:
            let frame = Duration.milliseconds(configuration.output.frameDuration.milliseconds)
            let wanted = estimator.estimate(at: now) + frame
            return min(max(wanted, configuration.minimumDelay), configuration.maximumDelay)
        case .model:
            return reorderWindow(at: now)
        }
    }

    // MARK: Conversational

    private func tickConversational(now: Instant) {
        guard var tick = nextTick, tick <= now else { return }
        let frame = configuration.output.frameDuration.duration
        // A driver that stalled for more than a second does not get a second of frames at once.
        if now - tick > .seconds(1) { tick = now }
        while tick <= now, ready.count < 50 {
            produceConversationalFrame(now: now)
            tick = tick + frame
        }
        nextTick = tick
    }

    private func produceConversationalFrame(now: Instant) {
        let target = targetDelay(at: now)
        let targetMilliseconds = Double(target.nanosecondsClamped) / 1e6
        let level = smoothLevelMilliseconds(at: now)
        // Smooth the level over about ten frames so that the arrival phase of single packets does not trigger
        // time-stretching; NetEq's buffer level filter does the same.
        if levelFilterPrimed {
            filteredLevelMilliseconds = 0.9 * filteredLevelMilliseconds + 0.1 * level
        } else {
            filteredLevelMilliseconds = level
            levelFilterPrimed = true
        }
        statistics.targetDelay = target.seconds
        statistics.currentDelay = level / 1000

        fill(now: now, upTo: frameSamples, allowExpansion: true)

        let frameMilliseconds = Double(configuration.output.frameDuration.milliseconds)
        let low = targetMilliseconds * 3 / 4
        let high = max(targetMilliseconds, low + frameMilliseconds)
        if !lastSourceWasConcealment, filteredLevelMilliseconds > high {
            accelerate(now: now, excessMilliseconds: filteredLevelMilliseconds - targetMilliseconds)
        } else if !lastSourceWasConcealment, filteredLevelMilliseconds < low {
            decelerate()
        }
        fill(now: now, upTo: frameSamples, allowExpansion: true)
        emitFrame(now: now, target: target)
    }

    /// Audio held now: decoded samples plus the span of the buffered packets, in milliseconds.
    /// Packets stamped further ahead than the maximum delay are left out: one packet with a timestamp far in the
    /// future (a broken or hostile sender) would otherwise read as seconds of buffered audio and make the buffer
    /// compress real speech for as long as it waits.
    private var bufferLevelMilliseconds: Double {
        var ticks = Int64(pcm.count) * 48_000 / Int64(outputRate)
        if let next = nextTimestamp {
            let horizon = next + configuration.maximumDelay.nanosecondsClamped / 1_000_000 * 48
            if let last = packets.last(where: { $0.timestamp <= horizon }) {
                ticks += max(0, last.timestamp + last.duration - next)
            }
        }
        return Double(ticks) / 48
    }

    /// The level without the arrival phase: what is held minus the time since the newest packet came. Measured
    /// at a playout tick, the plain level jumps by a whole packet depending on whether that packet arrived just
    /// before or just after the tick; this one changes smoothly, so the buffer sees a slow clock drift as a slow
    /// trend (and stretches) instead of as a sudden underrun.
    private func smoothLevelMilliseconds(at now: Instant) -> Double {
        guard let newest = newestArrival else { return bufferLevelMilliseconds }
        let since = Double((now - newest).nanosecondsClamped) / 1e6
        return max(0, bufferLevelMilliseconds - min(since, Double(configuration.output.frameDuration.milliseconds)))
    }

    /// Shrinks the delay by up to `excess`: a silent frame is dropped whole; speech loses one pitch period.
    private func accelerate(now: Instant, excessMilliseconds: Double) {
        let maximumLag = TimeStretch.maximumLag(sampleRate: outputRate)
        let window = TimeStretch.window(sampleRate: outputRate)
        // Decode ahead so that the analysis has two periods to work on: only packets that follow on without a
        // gap (a gap is decided at its own playout time, when the missing packet may have come).
        while pcm.count < 2 * maximumLag + window, let head = packets.first, head.timestamp == nextTimestamp {
            decode(head, now: now)
        }
        let silent = pcm.withUnsafeBufferPointer {
            TimeStretch.meanSquare($0, 0..<min(frameSamples, $0.count)) < TimeStretch.silenceMeanSquare
        }
        if silent, pcm.count >= frameSamples {
            let excessSamples = Int(excessMilliseconds * Double(outputRate) / 1000)
            // Never drop into an underrun: what stays must still fill this frame.
            let drop = min(frameSamples, max(excessSamples, 0), pcm.count - frameSamples)
            guard drop > 0 else { return }
            pcm.removeFirst(drop)
            removeSegmentSamples(at: 0, count: drop)
            statistics.removedSamplesForAcceleration += drop
            filteredLevelMilliseconds -= Double(drop) * 1000 / Double(outputRate)
            return
        }
        let period = pcm.withUnsafeBufferPointer {
            TimeStretch.bestPeriod($0, start: 0, minimumLag: TimeStretch.minimumLag(sampleRate: outputRate),
                                   maximumLag: min(maximumLag, $0.count / 2 - window), window: window,
                                   sampleRate: outputRate)
        }
        // Only a clearly periodic stretch (voiced speech) is shortened: elsewhere removing a period is audible.
        guard let period, period.correlation >= 0.6, 2 * period.lag <= pcm.count,
              pcm.count - period.lag >= frameSamples || !packets.isEmpty
        else { return }
        TimeStretch.compress(&pcm, start: 0, lag: period.lag)
        removeSegmentSamples(at: period.lag, count: period.lag)
        markStretched(upTo: period.lag)
        statistics.removedSamplesForAcceleration += period.lag
        filteredLevelMilliseconds -= Double(period.lag) * 1000 / Double(outputRate)
    }

    /// Stretches the decoded audio by whole pitch periods until it fills one frame; false (and nothing changed)
    /// when it holds too little or no clear period.
    private func stretchToFillFrame() -> Bool {
        let window = TimeStretch.window(sampleRate: outputRate)
        let minimumLag = TimeStretch.minimumLag(sampleRate: outputRate)
        var added = 0
        while pcm.count < frameSamples {
            let period = pcm.withUnsafeBufferPointer {
                TimeStretch.bestPeriod($0, start: 0, minimumLag: minimumLag,
                                       maximumLag: min(TimeStretch.maximumLag(sampleRate: outputRate), $0.count / 2),
                                       window: window, sampleRate: outputRate)
            }
            guard let period, period.correlation >= 0.6, 2 * period.lag <= pcm.count, added < frameSamples else {
                return pcm.count >= frameSamples
            }
            TimeStretch.expand(&pcm, start: 0, lag: period.lag)
            insertSegmentSamples(at: period.lag, count: period.lag)
            markStretched(upTo: 2 * period.lag)
            statistics.insertedSamplesForDeceleration += period.lag
            added += period.lag
        }
        return true
    }

    /// Grows the delay by one pitch period of the audio about to play.
    private func decelerate() {
        let window = TimeStretch.window(sampleRate: outputRate)
        let minimumLag = TimeStretch.minimumLag(sampleRate: outputRate)
        let period = pcm.withUnsafeBufferPointer {
            TimeStretch.bestPeriod($0, start: 0, minimumLag: minimumLag,
                                   maximumLag: min(TimeStretch.maximumLag(sampleRate: outputRate), $0.count / 2),
                                   window: window, sampleRate: outputRate)
        }
        let lag: Int
        if let period, period.correlation >= 0.6 {
            lag = period.lag
        } else if pcm.withUnsafeBufferPointer({ TimeStretch.meanSquare($0, 0..<$0.count) }) < TimeStretch.silenceMeanSquare,
                  pcm.count >= 2 * minimumLag {
            // Silence stretches by any amount without artefacts.
            lag = min(pcm.count / 2, frameSamples / 2)
        } else {
            return
        }
        guard 2 * lag <= pcm.count else { return }
        TimeStretch.expand(&pcm, start: 0, lag: lag)
        insertSegmentSamples(at: lag, count: lag)
        markStretched(upTo: 2 * lag)
        statistics.insertedSamplesForDeceleration += lag
        filteredLevelMilliseconds += Double(lag) * 1000 / Double(outputRate)
    }

    // MARK: Model

    private func runModel(now: Instant) {
        // Run even before a pending deadline: the packet being waited for may just have arrived.
        gapDeadline = nil
        while pcm.count < frameSamples || ready.isEmpty {
            guard step(now: now, allowExpansion: false) else { break }
            emitReadyFrames(now: now)
        }
        emitReadyFrames(now: now)
    }

    private func emitReadyFrames(now: Instant) {
        while pcm.count >= frameSamples {
            emitFrame(now: now, target: reorderWindow(at: now))
        }
    }

    /// How long the model profile waits for a missing packet: `maximumDelay` (20 ms by default) while packets
    /// have come out of order in the last ten seconds, and during the first ten seconds, before the path has shown
    /// what it does; `minimumDelay` (0) otherwise, so that on a path that only loses packets a gap is filled at
    /// once. The window is all-or-nothing rather than fitted to the lateness seen so far: a fitted window is
    /// always a little too short for the next reordered packet, and waiting costs only on gaps.
    private func reorderWindow(at now: Instant) -> Duration {
        if reorderingSeen(at: now) { return configuration.maximumDelay }
        if let first = firstArrival, now - first < .seconds(10) { return configuration.maximumDelay }
        return configuration.minimumDelay
    }

    /// The latest that an out-of-order packet has come after the packet that overtook it, in the last ten seconds.
    private var latestReorderLateness: Duration { reorderLateness.map(\.lateness).max() ?? .zero }

    /// Whether packets have come out of order in the last ten seconds (then a gap may be a late packet).
    private func reorderingSeen(at now: Instant) -> Bool {
        reorderLatenessPrune(now: now, memory: .seconds(10))
        return !reorderLateness.isEmpty
    }

    private func reorderLatenessPrune(now: Instant, memory: Duration) {
        let horizon = now - memory
        if let index = reorderLateness.firstIndex(where: { $0.at >= horizon }) {
            if index > 0 { reorderLateness.removeFirst(index) }
        } else {
            reorderLateness.removeAll()
        }
    }

    /// Records how late a packet came after a later-stamped packet overtook it.
    private func noteReordering(timestamp: Int64, arrival: Instant) {
        if let overtaker = recentArrivals.first(where: { $0.timestamp > timestamp }) {
            reorderLateness.append((arrival, arrival - overtaker.arrival))
            if reorderLateness.count > 256 { reorderLateness.removeFirst() }
        }
        recentArrivals.append((timestamp, arrival))
        if recentArrivals.count > 32 { recentArrivals.removeFirst() }
    }

    // MARK: Decisions

    /// Runs decision steps until `samples` are decoded or nothing more can be done.
    private func fill(now: Instant, upTo samples: Int, allowExpansion: Bool) {
        var guardSteps = 0
        while pcm.count < samples, guardSteps < 64 {
            guard step(now: now, allowExpansion: allowExpansion) else { return }
            guardSteps += 1
        }
    }

    /// One decision: decode, recover, conceal, fill or expand. Returns false when it must wait.
    private func step(now: Instant, allowExpansion: Bool) -> Bool {
        guard let next = nextTimestamp else { return false }
        guard let head = packets.first else {
            guard allowExpansion else { return false }
            // Conversational underrun: conceal without advancing the timeline, so a late packet still plays.
            let ticks = Int64(frameSamples) * 48_000 / Int64(outputRate)
            conceal(samples: frameSamples, timestamp: next, source: .concealed)
            expandedSinceDecode += ticks
            return true
        }
        let gap = head.timestamp - next
        if gap <= 0 {
            decode(head, now: now)
            return true
        }
        if expandedSinceDecode >= gap {
            // The audio missing before `head` was already replaced by concealment while the buffer ran dry.
            nextTimestamp = head.timestamp
            decode(head, now: now)
            return true
        }
        let missing = gap - expandedSinceDecode
        let twoAndAHalfMilliseconds: Int64 = 120
        let fillable = missing / twoAndAHalfMilliseconds * twoAndAHalfMilliseconds
        if fillable == 0 {
            nextTimestamp = head.timestamp
            decode(head, now: now)
            return true
        }
        if let last = lastDecodedSequence, head.sequence == last + 1, missing <= Self.maximumDTXFill {
            // The sequence is unbroken, so the sender stopped on purpose (DTX): comfort noise, at once. The time
            // really passed at the sender, so this adds no backlog.
            let chunk = min(fillable, 960)
            conceal(samples: Int(chunk * Int64(outputRate) / 48_000), timestamp: next, source: .comfortNoise)
            nextTimestamp = next + chunk
            return true
        }
        if missing > maximumFill {
            // A long gap, or a jump in the sender's timeline: skip it rather than fill it with made-up audio.
            nextTimestamp = head.timestamp
            expandedSinceDecode = 0
            statistics.gapsSkipped += 1
            pendingGap = true
            decode(head, now: now)
            return true
        }
        if configuration.profile == .conversational, allowExpansion, expandedSinceDecode == 0,
           reorderingSeen(at: now), now - head.arrival < latestReorderLateness + .milliseconds(2)
        {
            // Packets have been arriving out of order, and the packet after the gap came so recently that the
            // missing one may still be on its way: wait for it rather than declaring it lost, by stretching the
            // audio in hand (a pitch period at a time) to fill this frame. If that is not possible, conceal one
            // frame with the timeline held. Either way the delay grows, and the missing packet, if it comes
            // before the next decision, plays.
            if stretchToFillFrame() { return true }
            let ticks = Int64(frameSamples) * 48_000 / Int64(outputRate)
            conceal(samples: frameSamples, timestamp: next, source: .concealed)
            expandedSinceDecode += ticks
            return true
        }
        if configuration.profile == .model {
            // Wait for the missing packets up to the reorder window, counted from when the gap showed: once per
            // gap (keyed by the packet after it), however many packets it spans.
            if gapNoticed?.timestamp != head.timestamp { gapNoticed = (head.timestamp, now) }
            let deadline = (gapNoticed?.at ?? now) + reorderWindow(at: now)
            if deadline > now {
                gapDeadline = deadline
                return false
            }
        }
        if head.carriesFEC, fillable <= head.duration, fillable == missing {
            recoverWithFEC(from: head, ticks: fillable, timestamp: next)
            nextTimestamp = next + fillable
            expandedSinceDecode = 0
            return true
        }
        let chunk = min(fillable, Int64(frameSamples) * 48_000 / Int64(outputRate))
        conceal(samples: Int(chunk * Int64(outputRate) / 48_000), timestamp: next, source: .concealed)
        nextTimestamp = next + chunk
        return true
    }

    private func decode(_ packet: Packet, now: Instant) {
        packets.removeFirst()
        gapNoticed = nil
        let decoded: Int
        do {
            decoded = try packet.payload.withUnsafeBytes { (bytes) throws(OpusError) -> Int in
                try scratch.withUnsafeMutableBufferPointer { (out) throws(OpusError) -> Int in
                    try decoder.decode(bytes, into: out)
                }
            }
        } catch {
            statistics.packetsInvalid += 1
            // The slot is concealed on the next step.
            return
        }
        if packet.carriesFEC { statistics.fecPacketsDiscarded += 1 }
        pcm.append(contentsOf: scratch[0..<decoded])
        segments.append(Segment(count: decoded, timestamp: packet.timestamp, arrival: packet.arrival,
                                source: .decoded, stretched: false, followsGap: pendingGap))
        pendingGap = false
        nextTimestamp = packet.timestamp + packet.duration
        lastDecodedSequence = packet.sequence
        recentlyDecoded[Int(packet.sequence & 255)] = packet.sequence
        expandedSinceDecode = 0
        concealedRun = 0
        lastSourceWasConcealment = false
    }

    private func recoverWithFEC(from next: Packet, ticks: Int64, timestamp: Int64) {
        let samples = Int(ticks * Int64(outputRate) / 48_000)
        let produced: Int
        do {
            produced = try next.payload.withUnsafeBytes { (bytes) throws(OpusError) -> Int in
                try scratch.withUnsafeMutableBufferPointer { (out) throws(OpusError) -> Int in
                    try decoder.decodeFEC(from: bytes, frameSize: samples, into: out)
                }
            }
        } catch {
            conceal(samples: samples, timestamp: timestamp, source: .concealed)
            return
        }
        statistics.fecPacketsRecovered += 1
        // The FEC of `next` is spent here; its normal decoding must not count it as discarded FEC.
        statistics.fecPacketsDiscarded -= 1
        pcm.append(contentsOf: scratch[0..<produced])
        segments.append(Segment(count: produced, timestamp: timestamp, arrival: next.arrival,
                                source: .fecRecovered, stretched: false))
        concealedRun = 0
        lastSourceWasConcealment = false
    }

    /// Conceals (or fills with comfort noise) `samples` of audio; after `concealmentBeforeFade` of uninterrupted
    /// concealment the output fades out over the next chunk and then stays silent.
    private func conceal(samples: Int, timestamp: Int64, source: UplinkFrame.Source) {
        let fadeAfter = Int(configuration.concealmentBeforeFade.nanosecondsClamped / 1000) * outputRate / 1_000_000
        var produced = 0
        var kind = source
        if source == .concealed && concealedRun >= fadeAfter + frameSamples {
            for i in 0..<samples { scratch[i] = 0 }
            produced = samples
            kind = .silence
        } else {
            do {
                produced = try scratch.withUnsafeMutableBufferPointer { (out) throws(OpusError) -> Int in
                    try decoder.decodeLoss(frameSize: samples, into: out)
                }
            } catch {
                for i in 0..<samples { scratch[i] = 0 }
                produced = samples
            }
            if source == .concealed, concealedRun + produced > fadeAfter {
                // Linear fade from the point the run passes `fadeAfter` to the end of one frame after it.
                for i in 0..<produced {
                    let position = concealedRun + i - fadeAfter
                    guard position > 0 else { continue }
                    let gain = max(0, 1 - Double(position) / Double(frameSamples))
                    scratch[i] = Int16(Double(scratch[i]) * gain)
                }
            }
        }
        if source == .concealed || kind == .silence {
            if !lastSourceWasConcealment { statistics.concealmentEvents += 1 }
            concealedRun += produced
            lastSourceWasConcealment = true
        }
        pcm.append(contentsOf: scratch[0..<produced])
        segments.append(Segment(count: produced, timestamp: timestamp, arrival: nil, source: kind, stretched: false))
    }

    // MARK: Emission and bookkeeping

    private func emitFrame(now: Instant, target: Duration) {
        guard pcm.count >= frameSamples, let first = segments.first else { return }
        var remaining = frameSamples
        var worst = UplinkFrame.Source.decoded
        var stretched = false
        var followsGap = false
        let quantile = estimator.quantileEstimate.seconds
        while remaining > 0, !segments.isEmpty {
            let take = min(remaining, segments[0].count)
            let segment = segments[0]
            worst = Self.worse(worst, segment.source)
            stretched = stretched || segment.stretched
            followsGap = followsGap || segment.followsGap
            switch segment.source {
            case .decoded, .fecRecovered:
                if let arrival = segment.arrival {
                    statistics.jitterBufferDelay += (now - arrival).seconds * Double(take)
                    statistics.jitterBufferTargetDelay += target.seconds * Double(take)
                    statistics.jitterBufferMinimumDelay += quantile * Double(take)
                    statistics.jitterBufferEmittedCount += take
                }
            case .concealed:
                statistics.concealedSamples += take
            case .silence:
                statistics.concealedSamples += take
                statistics.silentConcealedSamples += take
            case .comfortNoise:
                statistics.comfortNoiseSamples += take
            }
            remaining -= take
            if take == segment.count {
                segments.removeFirst()
            } else {
                segments[0].count -= take
                segments[0].timestamp += Int64(take) * 48_000 / Int64(outputRate)
                segments[0].followsGap = false
            }
        }
        let samples = Array(pcm[0..<frameSamples])
        pcm.removeFirst(frameSamples)
        statistics.totalSamplesReceived += frameSamples
        statistics.framesEmitted += 1
        statistics.targetDelay = target.seconds
        statistics.currentDelay = bufferLevelMilliseconds / 1000
        ready.append(UplinkFrame(samples: samples, rtpTimestamp: first.timestamp, arrival: first.arrival,
                                 emitted: now, source: worst, stretched: stretched, followsGap: followsGap))
    }

    private static func worse(_ a: UplinkFrame.Source, _ b: UplinkFrame.Source) -> UplinkFrame.Source {
        func rank(_ s: UplinkFrame.Source) -> Int {
            switch s {
            case .decoded: 0
            case .comfortNoise: 1
            case .fecRecovered: 2
            case .concealed: 3
            case .silence: 4
            }
        }
        return rank(a) >= rank(b) ? a : b
    }

    private func removeSegmentSamples(at position: Int, count: Int) {
        var offset = 0, toRemove = count, index = 0
        while toRemove > 0, index < segments.count {
            let end = offset + segments[index].count
            if end > position {
                let removable = min(toRemove, end - max(position, offset))
                segments[index].count -= removable
                toRemove -= removable
            }
            offset = end
            if segments[index].count == 0 { segments.remove(at: index) } else { index += 1 }
        }
    }

    private func insertSegmentSamples(at position: Int, count: Int) {
        guard !segments.isEmpty else { return }
        var offset = 0
        for index in segments.indices {
            if offset + segments[index].count >= position {
                segments[index].count += count
                return
            }
            offset += segments[index].count
        }
        segments[segments.count - 1].count += count
    }

    private func markStretched(upTo position: Int) {
        var offset = 0
        for index in segments.indices where offset < position {
            segments[index].stretched = true
            offset += segments[index].count
        }
    }

    private func flush() {
        guard !packets.isEmpty else { return }
        statistics.packetsDiscarded += packets.count
        statistics.packetsFlushed += packets.count
        statistics.bufferFlushes += 1
        packets.removeAll(keepingCapacity: true)
    }

    /// Starts the timeline again at `timestamp` (buffered packets were flushed by the caller if needed).
    private func restart(at timestamp: Int64) {
        flush()
        nextTimestamp = timestamp
        expandedSinceDecode = 0
        gapNoticed = nil
        gapDeadline = nil
    }
}

@available(*, unavailable, message: "A JitterBuffer is confined to one event loop")
extension JitterBuffer: Sendable {}
