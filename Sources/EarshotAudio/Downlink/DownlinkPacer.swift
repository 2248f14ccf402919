internal import EarshotOpus
public import EarshotWire

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The downlink pacer and encoder: turns model audio that arrives in chunks of any size, in bursts, often much
/// faster than real time, into one Opus frame per frame duration; cut off within one frame by `clear` (barge-in).
///
/// Sans-IO: no clock, no threads, no sockets. Every entry point takes `now`; `nextDeadline` says when to call
/// `poll` again. Call `poll(now:)` until it returns nil, then drain `pollEvent()`.
///
/// ## Timeline
/// - A *talkspurt* starts when audio is ready while idle: a whole frame is queued, or the response has ended with a
///   partial frame. Its first frame is due at `now` (or, if the previous frame's audio is still playing, when that
///   frame ends, so that packets never overlap on the RTP clock). Frame k is due at `t0 + k × frame`, computed from
///   t0 and k, never by accumulation, so there is no drift.
/// - Frames never mix responses. The last partial frame of an ended response is padded with zeros. Audio of a new
///   response ends the previous one (its partial frame is padded) as `endResponse` would.
/// - A deadline where the playing response has not ended and less than a frame is queued is an *underrun*: counted,
///   and the stream waits (`nextDeadline` is nil). When a frame is ready again it continues on the same grid at the
///   first slot at or after `now`; the RTP timestamp skips the missed slots and the marker bit is set.
/// - When the playing response has ended and nothing else is ready, the pacer goes idle (not an underrun). The next
///   talkspurt's RTP timestamp jumps by the real time elapsed (48 kHz ticks), with the marker bit set.
/// - The encoder holds back its last 6.5 ms of input (its lookahead). When a talkspurt's last frame does not end in
///   that much silence plus the codec's 2.5 ms overlap, one more frame of zeros follows on the grid
///   (`PacedFrame.Kind.flush`) so that the decoder plays all of the audio and ends on silence; it is skipped when
///   audio follows at once. A talkspurt that stops with audio still in the encoder and no flush (an underrun that
///   the response's end or a clear turns into idle, a clear without fade) gets a fresh encoder, so that stale audio
///   never opens the next talkspurt.
/// - `poll` called late returns every due frame, in order, with its scheduled `due`; frames a whole frame duration
///   or more late are counted (`lateFrames`). Only `poll` moves the timeline; `enqueue`, `endResponse` and `mark`
///   only use `now` to place a new talkspurt (or a resumption) in time.
///
/// ## Clear
/// `clear` drops everything queued. If a response was playing, the next frame (on the grid, at the next deadline)
/// is a fade-out: the first `clearFade` of the audio that would have played next, under a raised-cosine gain from 1
/// to 0, then zeros. Nothing of the cleared audio follows. Only when the zeros after the fade are too few to push
/// it out of the encoder's lookahead, as with 10 ms frames, does a flush frame of zeros follow the fade (see above).
/// No fade is sent when nothing was playing (no frame of the current response sent yet, or an underrun already
/// silenced it).
/// See `ClearReport` for what counts as played.
/// Audio enqueued later for a response that was cut is refused (`samplesDroppedClearedResponse`): chunks of a
/// cancelled response still in flight from the model are not played after the barge-in.
///
/// ## Marks
/// `mark` tags the position after the last enqueued sample. It is reported (`markSent`) when the frame holding the
/// sample before it is sent, at that frame's due time plus the mark's offset in it; at once if no audio is pending
/// before it; and cancelled if a clear removes audio before it.
///
/// Allocation: the queue is a ring buffer of samples (frames are copied out of it, never the whole queue); encoding
/// uses a preallocated PCM frame and packet buffer; per frame only the payload array is allocated (plus the list of
/// completed marks when there are any).
///
/// Concurrency: owns an `OpusEncoder`, so like it the pacer is confined to one thread or event loop at a time and
/// is not `Sendable`.
public final class DownlinkPacer {
    public let configuration: Configuration

    // MARK: Constants derived from the configuration

    private let samplesPerFrame: Int
    private let sampleRate: Int
    private let frameNanoseconds: Int64
    /// RTP ticks (48 kHz) per frame: 480 for 10 ms, 960 for 20 ms.
    private let rtpTicksPerFrame: Int64
    /// RTP ticks per model sample: 48 kHz / model rate, an integer at every Opus rate (6, 4, 3, 2 or 1).
    private let rtpTicksPerSample: Int64
    /// Raised-cosine gains for the fade-out, one per fade sample.
    private let fadeGains: [Float]

    // MARK: State

    /// Replaced by a fresh one (`goIdle`) when a talkspurt stops while the encoder still holds audio.
    private var encoder: OpusEncoder
    /// The encoder's lookahead still holds audio: the last frame it coded did not end in enough zeros
    /// (`flushMargin`) to push its input out to the decoder.
    private var encoderHoldsAudio = false
    /// Trailing zeros a frame needs so that the decoder outputs all of the audio before them: the encoder's
    /// lookahead plus the codec's 2.5 ms overlap (Fs/400), where decoded audio still rings.
    private let flushMargin: Int
    /// One frame of PCM handed to the encoder.
    private let frameBuffer: UnsafeMutableBufferPointer<Int16>
    /// The fade-out frame prepared by `clear`, sent by the next `poll` due.
    private let fadeBuffer: UnsafeMutableBufferPointer<Int16>
    /// Encoder output; one Opus frame is at most 1275 bytes (RFC 6716 §3.2.1), `maxPacketSize` has room to spare.
    private let packetBuffer: UnsafeMutableRawBufferPointer

    private var samples: PacerSampleRing
    /// The responses whose samples are in `samples`, in order; only the last may be open (not ended).
    private var segments = FIFOQueue<Segment>()
    private var marks = FIFOQueue<PendingMark>()
    private var events = FIFOQueue<PacerEvent>()

    /// Stream positions count every accepted model sample: `headPosition` is that of the oldest queued sample,
    /// `headPosition + samples.count` the position after the newest. Marks are positions.
    private var headPosition = 0
    /// When queued audio was enqueued: the stream position of each enqueue call's first sample and its instant,
    /// oldest first, so a frame can say how long its audio waited (`PacedFrame.enqueued`). Bounded: beyond
    /// `enqueueTimesKept` entries a call's audio is dated by the previous entry (it looks older, never younger).
    private var enqueueTimes = FIFOQueue<(position: Int, at: Instant)>()
    static let enqueueTimesKept = 1024

    /// The running talkspurt's schedule; nil while idle.
    private var grid: Grid?
    /// While held (`hold()`), audio queues but no talkspurt starts.
    public private(set) var isHeld = false
    /// The frame a talkspurt still owes at its end: the fade-out after a clear, or a flush of zeros.
    private var pendingTail: TailFrame?
    /// The last frame of queued audio sent (for marks placed after it).
    private var lastFrame: SentFrame?
    /// The last frame slot handed to the encoder (for the marker bit and the next talkspurt's timestamps).
    private var lastSlot: SentSlot?
    /// Responses cut by recent clears; their late audio is refused. Bounded (see `clearedResponseMemory`).
    private var clearedResponses: [ResponseID] = []
    /// Remembering the last 16 cut responses covers any realistic burst of cancellations.
    private static let clearedResponseMemory = 16

    private var counters = DownlinkStatistics()

    // MARK: Creation

    public init(configuration: Configuration) throws(DownlinkPacerError) {
        try configuration.validate()
        do {
            encoder = try OpusEncoder(configuration.opusConfiguration)
        } catch {
            throw .encoder(error)
        }
        self.configuration = configuration
        let format = configuration.format
        samplesPerFrame = format.samplesPerFrame
        sampleRate = format.sampleRate.hertz
        frameNanoseconds = format.frameDuration.duration.nanosecondsClamped
        rtpTicksPerFrame = Int64(opusRTPClockRate * format.frameDuration.milliseconds / 1000)
        rtpTicksPerSample = Int64(opusRTPClockRate / format.sampleRate.hertz)
        fadeGains = Self.raisedCosineFade(length: configuration.clearFadeSamples)
        flushMargin = encoder.lookahead + format.sampleRate.hertz / 400
        samples = PacerSampleRing(limit: configuration.maxQueuedSamples)

        frameBuffer = .allocate(capacity: samplesPerFrame)
        frameBuffer.initialize(repeating: 0)
        fadeBuffer = .allocate(capacity: samplesPerFrame)
        fadeBuffer.initialize(repeating: 0)
        packetBuffer = .allocate(byteCount: OpusEncoder.maxPacketSize, alignment: 1)
    }

    deinit {
        frameBuffer.deallocate()
        fadeBuffer.deallocate()
        packetBuffer.deallocate()
    }

    // MARK: Input

    /// Appends model audio (mono, at `configuration.format`'s rate) for `response`; returns the samples accepted.
    ///
    /// Samples beyond `maxQueuedDuration` are dropped from the end of this chunk and counted
    /// (`samplesDroppedQueueFull`). Audio for a response a clear has cut is refused entirely (returns 0, counted in
    /// `samplesDroppedClearedResponse`). Audio for a different response than the open one ends the open one.
    @discardableResult
    public func enqueue(_ pcm: UnsafeBufferPointer<Int16>, response: ResponseID?, now: Instant) -> Int {
        guard !pcm.isEmpty else { return 0 }
        if let response, clearedResponses.contains(response) {
            counters.samplesDroppedClearedResponse += pcm.count
            return 0
        }
        if let open = segments.last, !open.ended, open.response == response {
            // Same response: keep appending to its segment.
        } else {
            closeOpenSegment()
            segments.append(Segment(response: response))
        }
        let accepted = min(pcm.count, samples.freeSpace)
        counters.samplesDroppedQueueFull += pcm.count - accepted
        if accepted > 0, enqueueTimes.count < Self.enqueueTimesKept {
            enqueueTimes.append((headPosition + samples.count, now))
        }
        samples.append(UnsafeBufferPointer(rebasing: pcm[..<accepted]))
        segments[segments.count - 1].queued += accepted
        segments[segments.count - 1].accepted += accepted
        let queuedMilliseconds = configuration.format.milliseconds(ofSamples: samples.count)
        counters.maxQueuedMillisecondsSeen = max(counters.maxQueuedMillisecondsSeen, queuedMilliseconds)
        reconcile(now: now)
        return accepted
    }

    @discardableResult
    public func enqueue(_ pcm: [Int16], response: ResponseID?, now: Instant) -> Int {
        pcm.withUnsafeBufferPointer { enqueue($0, response: response, now: now) }
    }

    /// Ends the open response: its last partial frame will be padded with zeros and sent without waiting for more
    /// audio. When all its audio has been sent already, `responseFinished` is emitted now. No effect when no
    /// response is open.
    public func endResponse(now: Instant) {
        closeOpenSegment()
        reconcile(now: now)
    }

    /// Tags the stream position after the last enqueued sample (see the type's documentation).
    public func mark(_ name: String, now: Instant) {
        let position = headPosition + samples.count
        if position > headPosition {
            marks.append(PendingMark(name: name, position: position))
            return
        }
        // No audio pending before the mark: it is reached when the last sent sample before it has played.
        counters.marksSent += 1
        if let frame = lastFrame, frame.startPosition < position, position <= frame.startPosition + frame.samples {
            let offset = position - frame.startPosition
            emit(
                .markSent(
                    name: name, at: frame.due + sampleDuration(offset),
                    rtpTimestamp: frame.rtpTimestamp &+ rtpTicks(samples: offset)))
        } else {
            emit(.markSent(name: name, at: now, rtpTimestamp: rtpTimestamp(at: now)))
        }
    }

    /// Drops everything queued (barge-in); see the type's documentation and `ClearReport`. Also emitted as
    /// `.truncated`, after one `.markCancelled` per cancelled mark.
    @discardableResult
    public func clear(now: Instant) -> ClearReport {
        counters.clears += 1
        var fadeSamples = 0
        if !isFadePending, let grid, !grid.starved, let head = segments.first, head.isPlaying, head.queued > 0,
            !fadeGains.isEmpty
        {
            fadeSamples = min(fadeGains.count, head.queued, samplesPerFrame)
            prepareFade(samples: fadeSamples, response: head.response)
        }

        var cancelled: [String] = []
        while let mark = marks.popFirst() {
            cancelled.append(mark.name)
            counters.marksCancelled += 1
            emit(.markCancelled(name: mark.name))
        }

        var truncations: [ClearReport.Truncation] = []
        for index in 0..<segments.count {
            let segment = segments[index]
            let fade = index == 0 ? fadeSamples : 0
            truncations.append(
                ClearReport.Truncation(
                    response: segment.response,
                    samplesPlayed: segment.sent,
                    millisecondsPlayed: configuration.format.milliseconds(ofSamples: segment.sent),
                    fadeSamples: fade,
                    samplesDropped: segment.queued - fade))
            counters.samplesDroppedByClear += segment.queued - fade
            counters.responsesTruncated += 1
            if let response = segment.response, !clearedResponses.contains(response) {
                clearedResponses.append(response)
                if clearedResponses.count > Self.clearedResponseMemory { clearedResponses.removeFirst() }
            }
        }
        segments.removeAll()
        headPosition += samples.count
        samples.removeAll()
        enqueueTimes.removeAll()

        let fadeDue = fadeSamples > 0 ? grid.map { due(of: $0.nextIndex, in: $0) } : nil
        var framesAfterClear = 0
        if fadeSamples > 0, case .fadeOut(_, _, let flushAfter) = pendingTail {
            framesAfterClear = flushAfter ? 2 : 1
        }
        if pendingTail == nil { goIdle() }
        let report = ClearReport(
            clearedAt: now, responses: truncations, cancelledMarks: cancelled, fadeOutDue: fadeDue,
            framesAfterClear: framesAfterClear)
        emit(.truncated(report))
        return report
    }

    /// How long audio enqueued at `now` would wait before it plays: when its first sample's frame is due on the
    /// running talkspurt's grid (after an underrun, from the first slot at or after `now`), behind what is queued,
    /// plus that sample's place in its frame. The same before and after frames already due are polled. Nil when no
    /// talkspurt runs, or while held: new audio would start one, after the start delay.
    public func expectedWait(now: Instant) -> Duration? {
        guard let grid, !isHeld, pendingTail == nil else { return nil }
        var index = grid.nextIndex
        if grid.starved {
            let elapsed = (now - grid.origin).nanosecondsClamped
            index = max(index, elapsed <= 0 ? 0 : Int((elapsed + frameNanoseconds - 1) / frameNanoseconds))
        }
        index += samples.count / samplesPerFrame
        return due(of: index, in: grid) + sampleDuration(samples.count % samplesPerFrame) - now
    }

    // MARK: Holding

    /// Holds the output: audio still queues (within `maxQueuedDuration`, as always) but no new talkspurt starts
    /// until `release(now:)`; one already playing goes on. For audio that arrives before there is anyone to send
    /// it to, such as a greeting a model sends before the call has connected: held, it plays whole from the
    /// release, rather than from its arrival into a connection that is not there yet.
    public func hold() {
        isHeld = true
    }

    /// Ends a hold: what queued meanwhile starts a talkspurt at `now` (plus the start delay), as if it had
    /// arrived now; nothing is sent late in a burst. No effect when not held.
    public func release(now: Instant) {
        guard isHeld else { return }
        isHeld = false
        reconcile(now: now)
    }

    // MARK: Output

    /// When `poll` has something to do: the next frame's due time, or the deadline at which an unended response
    /// would underrun. `nil` while idle or waiting after an underrun (new audio sets it again).
    public var nextDeadline: Instant? {
        guard let grid, !grid.starved else { return nil }
        return due(of: grid.nextIndex, in: grid)
    }

    /// Returns the next frame due at or before `now`, or nil; call until nil.
    public func poll(now: Instant) -> PacedFrame? {
        while let grid, !grid.starved {
            let due = due(of: grid.nextIndex, in: grid)
            guard now >= due else { return nil }
            let isLate = now >= due + configuration.format.frameDuration.duration
            let frame: PacedFrame?
            if case .fadeOut(let response, let samples, let flushAfter)? = pendingTail {
                pendingTail = flushAfter ? .flush(response: response) : nil
                frame = encodeFrame(
                    fadeBuffer, due: due, grid: grid, response: response, samples: samples, kind: .fadeOut,
                    completedMarks: [], isLate: isLate)
                encoderHoldsAudio = flushAfter
                counters.fadeOutFrames += 1
            } else {
                switch frameSource() {
                case .ready(let count):
                    // Audio pushes the encoder's tail out as well as a flush would: a pending flush is dropped.
                    pendingTail = nil
                    frame = sendQueuedFrame(samples: count, due: due, grid: grid, isLate: isLate)
                case .waiting:
                    // The playing response has not ended and less than a frame is queued at its deadline.
                    self.grid?.starved = true
                    counters.underruns += 1
                    return nil
                case .nothing:
                    guard case .flush(let response)? = pendingTail else {
                        goIdle()
                        return nil
                    }
                    pendingTail = nil
                    frameBuffer.update(repeating: 0)
                    frame = encodeFrame(
                        frameBuffer, due: due, grid: grid, response: response, samples: 0, kind: .flush,
                        completedMarks: [], isLate: isLate)
                    encoderHoldsAudio = false
                    counters.flushFrames += 1
                }
            }
            self.grid?.nextIndex += 1
            reconcile(now: now)
            if let frame { return frame }
            // The encoder failed on this slot: it is skipped like a lost packet; go on with the next.
        }
        return nil
    }

    /// The next pending event, oldest first.
    public func pollEvent() -> PacerEvent? { events.popFirst() }

    // MARK: State

    /// Counters, with the current queue.
    public var statistics: DownlinkStatistics {
        var snapshot = counters
        snapshot.samplesQueued = samples.count
        snapshot.framesQueued = samples.count / samplesPerFrame
        snapshot.queuedMilliseconds = configuration.format.milliseconds(ofSamples: samples.count)
        return snapshot
    }

    /// Samples waiting in the queue.
    public var queuedSamples: Int { samples.count }

    /// Audio waiting in the queue.
    public var queuedDuration: Duration { sampleDuration(samples.count) }

    /// A talkspurt is running (frames are being sent, or an underrun is waiting for audio).
    public var isActive: Bool { grid != nil }

    /// The encoder's lookahead in samples at the model rate: decoded audio lags the input by this much.
    public var encoderLookahead: Int { encoder.lookahead }

    // MARK: Private: frames

    private enum FrameSource {
        /// The head segment can fill a frame with `count` samples (a whole frame, or its padded last part).
        case ready(count: Int)
        /// The head segment is playing, open, and short of a frame.
        case waiting
        /// Nothing playing and nothing ready.
        case nothing
    }

    private func frameSource() -> FrameSource {
        guard let head = segments.first else { return .nothing }
        if head.queued >= samplesPerFrame { return .ready(count: samplesPerFrame) }
        if head.ended, head.queued > 0 { return .ready(count: head.queued) }
        return head.isPlaying ? .waiting : .nothing
    }

    private func sendQueuedFrame(samples count: Int, due: Instant, grid: Grid, isLate: Bool) -> PacedFrame? {
        let start = headPosition
        // The entry covering the frame's first sample: the last one at or before `start`.
        while enqueueTimes.count > 1, enqueueTimes[1].position <= start { _ = enqueueTimes.popFirst() }
        var enqueued = enqueueTimes.first.flatMap { $0.position <= start ? $0.at : nil }
        // Audio that arrived later and starts inside the frame (chunks that do not line up with frames): the frame
        // is dated by the newest such chunk, as the time it waits to be heard, its place in the frame included.
        var index = 1
        while index < enqueueTimes.count, enqueueTimes[index].position < start + count {
            let entry = enqueueTimes[index]
            enqueued = entry.at - sampleDuration(entry.position - start)
            index += 1
        }
        samples.copyPrefix(count, into: frameBuffer)
        if count < samplesPerFrame {
            UnsafeMutableBufferPointer(rebasing: frameBuffer[count...]).update(repeating: 0)
            counters.paddingSamplesSent += samplesPerFrame - count
        }
        samples.removeFirst(count)
        headPosition += count
        segments[0].queued -= count
        segments[0].sent += count
        segments[0].framesSent += 1
        counters.samplesSent += count

        let rtpTimestamp = rtpTimestamp(of: grid.nextIndex, in: grid)
        var completed: [String] = []
        while let mark = marks.first, mark.position <= start + count {
            _ = marks.popFirst()
            let offset = mark.position - start
            completed.append(mark.name)
            counters.marksSent += 1
            emit(
                .markSent(
                    name: mark.name, at: due + sampleDuration(offset),
                    rtpTimestamp: rtpTimestamp &+ rtpTicks(samples: offset)))
        }
        var frame = encodeFrame(
            frameBuffer, due: due, grid: grid, response: segments[0].response, samples: count, kind: .audio,
            completedMarks: completed, isLate: isLate)
        frame?.enqueued = enqueued
        if samples.count == 0 { enqueueTimes.removeAll() }
        lastFrame = SentFrame(due: due, rtpTimestamp: rtpTimestamp, startPosition: start, samples: count)
        encoderHoldsAudio = samplesPerFrame - count < flushMargin
        if encoderHoldsAudio, segments[0].ended, segments[0].queued == 0 {
            // The response's last frame: unless audio follows at once, a frame of zeros delivers its end.
            pendingTail = .flush(response: segments[0].response)
        }
        return frame
    }

    private func encodeFrame(
        _ pcm: UnsafeMutableBufferPointer<Int16>, due: Instant, grid: Grid, response: ResponseID?, samples: Int,
        kind: PacedFrame.Kind, completedMarks: [String], isLate: Bool
    ) -> PacedFrame? {
        let rtpTimestamp = rtpTimestamp(of: grid.nextIndex, in: grid)
        // The marker bit flags any discontinuity on the RTP clock (RFC 3551 §4.1: first packet after silence).
        let marker = lastSlot.map { $0.rtpTimestamp &+ UInt32(truncatingIfNeeded: rtpTicksPerFrame) != rtpTimestamp }
            ?? true
        lastSlot = SentSlot(due: due, rtpTimestamp: rtpTimestamp)
        if isLate { counters.lateFrames += 1 }
        let length: Int
        do {
            length = try encoder.encode(UnsafeBufferPointer(pcm), into: packetBuffer)
        } catch {
            counters.encoderErrors += 1
            return nil
        }
        // In DTX libopus codes silence as a bare TOC byte (with periodic comfort-noise updates of ordinary size,
        // which are not DTX frames here). Two bytes or less carry no audio at all: such a packet need not be sent.
        let isDTX = configuration.encoder.dtx && length <= 2
        if isDTX { counters.dtxFrames += 1 }
        if marker { counters.talkspurts += 1 }
        counters.framesSent += 1
        return PacedFrame(
            payload: Array(UnsafeRawBufferPointer(rebasing: packetBuffer[..<length])),
            rtpTimestamp: rtpTimestamp, marker: marker, due: due, response: response, samples: samples, kind: kind,
            completedMarks: completedMarks, isLate: isLate, isDTX: isDTX)
    }

    private func prepareFade(samples count: Int, response: ResponseID?) {
        samples.copyPrefix(count, into: fadeBuffer)
        for index in 0..<count {
            fadeBuffer[index] = Int16((Float(fadeBuffer[index]) * fadeGains[index]).rounded())
        }
        UnsafeMutableBufferPointer(rebasing: fadeBuffer[count...]).update(repeating: 0)
        // If the zeros after the fade are fewer than `flushMargin`, part of the fade stays in the encoder: a frame
        // of zeros follows, so that the receiver's decoder ends on silence rather than concealing from mid-fade.
        let flushAfter = samplesPerFrame - count < flushMargin
        pendingTail = .fadeOut(response: response, samples: count, flushAfter: flushAfter)
    }

    /// Gains 0.5·(1 + cos(π·(i + 1)/(n + 1))) for i in 0..<n: from just under 1 to just over 0, so neither end
    /// of the fade steps.
    private static func raisedCosineFade(length: Int) -> [Float] {
        (0..<length).map { index in
            Float(0.5 * (1 + cos(Double.pi * Double(index + 1) / Double(length + 1))))
        }
    }

    // MARK: Private: state transitions

    /// Marks the open segment ended (its partial frame becomes sendable).
    private func closeOpenSegment() {
        guard let open = segments.last, !open.ended else { return }
        segments[segments.count - 1].ended = true
    }

    /// After any change: retires finished responses, then starts, resumes or stops the talkspurt as needed.
    private func reconcile(now: Instant) {
        while let head = segments.first, head.ended, head.queued == 0 {
            _ = segments.popFirst()
            counters.responsesFinished += 1
            emit(.responseFinished(head.response, samplesPlayed: head.sent))
        }
        if isFadePending { return }
        let source = frameSource()
        if let running = grid, running.starved, case .ready = source, segments.first?.isPlaying == false {
            // The starved response ended with nothing left and another is ready: that one starts its own
            // talkspurt (with a fresh encoder) rather than resuming the old grid.
            goIdle()
        }
        if var running = grid {
            switch source {
            case .ready:
                if running.starved {
                    // Resume on the same grid at the first slot at or after now; the skipped slots are the underrun.
                    let elapsed = (now - running.origin).nanosecondsClamped
                    let slot = elapsed <= 0 ? 0 : Int((elapsed + frameNanoseconds - 1) / frameNanoseconds)
                    let resumeIndex = max(running.nextIndex, slot)
                    counters.underrunFrames += resumeIndex - running.nextIndex
                    running.nextIndex = resumeIndex
                    running.starved = false
                    grid = running
                }
            case .waiting:
                break
            case .nothing:
                if pendingTail == nil { goIdle() }
            }
        } else if !isHeld, case .ready = source {
            // A new talkspurt: now (plus the configured start delay), or when the last frame's audio ends if that is
            // later (no overlap on the clock).
            let lastEnd = lastFrameEnd
            let start = now + configuration.startDelay
            let origin = lastEnd.map { max(start, $0.time) } ?? start
            let originRTP: UInt32
            if let lastEnd {
                originRTP = lastEnd.rtpTimestamp &+ UInt32(truncatingIfNeeded: rtpTicks(origin - lastEnd.time))
            } else {
                originRTP = configuration.initialRTPTimestamp
            }
            grid = Grid(origin: origin, originRTP: originRTP)
        }
    }

    private var isFadePending: Bool {
        if case .fadeOut? = pendingTail { true } else { false }
    }

    /// Ends the talkspurt. An encoder still holding audio (after an underrun, or a clear without fade) is replaced
    /// by a fresh one, so that the stale end of this talkspurt does not open the next one.
    private func goIdle() {
        grid = nil
        pendingTail = nil
        guard encoderHoldsAudio else { return }
        encoderHoldsAudio = false
        do {
            encoder = try OpusEncoder(configuration.opusConfiguration)
            counters.encoderResets += 1
        } catch {
            // Keep the old encoder: a few stale milliseconds are better than no encoder.
            counters.encoderErrors += 1
        }
    }

    /// When the last frame handed to the encoder (sent, or lost to an encoder error) ends, in time and on the RTP
    /// clock.
    private var lastFrameEnd: (time: Instant, rtpTimestamp: UInt32)? {
        guard let lastSlot else { return nil }
        return (
            lastSlot.due + configuration.format.frameDuration.duration,
            lastSlot.rtpTimestamp &+ UInt32(truncatingIfNeeded: rtpTicksPerFrame)
        )
    }

    // MARK: Private: time

    private func due(of index: Int, in grid: Grid) -> Instant {
        Instant(nanoseconds: grid.origin.nanoseconds &+ Int64(index) &* frameNanoseconds)
    }

    private func rtpTimestamp(of index: Int, in grid: Grid) -> UInt32 {
        grid.originRTP &+ UInt32(truncatingIfNeeded: Int64(index) &* rtpTicksPerFrame)
    }

    /// The RTP clock at `time`: the running grid's, else continued from the last frame's end.
    private func rtpTimestamp(at time: Instant) -> UInt32 {
        if let grid {
            return grid.originRTP &+ UInt32(truncatingIfNeeded: rtpTicks(time - grid.origin))
        }
        if let end = lastFrameEnd {
            return end.rtpTimestamp &+ UInt32(truncatingIfNeeded: rtpTicks(time - end.time))
        }
        return configuration.initialRTPTimestamp
    }

    /// 48 kHz ticks in `duration`, rounded toward zero. 48000 / 10⁹ = 6 / 125000; splitting the division keeps the
    /// product in range for any duration.
    private func rtpTicks(_ duration: Duration) -> Int64 {
        let nanoseconds = duration.nanosecondsClamped
        return nanoseconds / 125_000 * 6 + nanoseconds % 125_000 * 6 / 125_000
    }

    private func rtpTicks(samples: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: Int64(samples) &* rtpTicksPerSample)
    }

    /// The duration of `count` model samples, rounded down to the nanosecond.
    private func sampleDuration(_ count: Int) -> Duration {
        .nanoseconds(Int64(count) * 1_000_000_000 / Int64(sampleRate))
    }

    private func emit(_ event: PacerEvent) {
        guard events.count < configuration.eventQueueCapacity else {
            counters.eventsDropped += 1
            return
        }
        events.append(event)
    }
}

@available(*, unavailable, message: "A DownlinkPacer owns an OpusEncoder and is confined to one thread or event loop")
extension DownlinkPacer: Sendable {}

// MARK: - Private types

extension DownlinkPacer {
    /// The audio of one response, in queue order.
    fileprivate struct Segment {
        var response: ResponseID?
        /// Samples accepted into the queue.
        var accepted = 0
        /// Samples sent at full level.
        var sent = 0
        /// Samples still queued.
        var queued = 0
        var framesSent = 0
        /// No more audio will come (`endResponse`, or audio of another response arrived).
        var ended = false

        /// At least one frame of it has been sent: it is what the listener hears.
        var isPlaying: Bool { framesSent > 0 }
    }

    fileprivate struct PendingMark {
        var name: String
        var position: Int
    }

    /// A frame owed at the end of a talkspurt.
    fileprivate enum TailFrame {
        /// The fade-out in `fadeBuffer`, of `samples` model samples; always sent.
        case fadeOut(response: ResponseID?, samples: Int, flushAfter: Bool)
        /// Zeros that push the end of the audio out of the encoder's lookahead; dropped if audio is ready instead.
        case flush(response: ResponseID?)
    }

    fileprivate struct SentFrame {
        var due: Instant
        var rtpTimestamp: UInt32
        var startPosition: Int
        var samples: Int
    }

    fileprivate struct SentSlot {
        var due: Instant
        var rtpTimestamp: UInt32
    }

    /// A talkspurt's schedule: frame k is due at `origin + k × frame` with RTP timestamp `originRTP + k × ticks`.
    fileprivate struct Grid {
        var origin: Instant
        var originRTP: UInt32
        var nextIndex = 0
        /// Waiting after an underrun; no deadline until audio returns.
        var starved = false
    }
}
