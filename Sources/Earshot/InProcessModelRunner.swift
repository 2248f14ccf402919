import EarshotModelProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Runs the in-process models' sessions as child tasks of the relay service (structured: the service's `run`
/// returns only after every one of them did). A session's job waits for its `session.start`, answers it with
/// `session.ready` in the format the model picks, then calls the model's `serve`.
public final class InProcessModelRunner: Sendable {
    /// One session for an in-process model.
    struct Job: Sendable {
        let model: any InProcessModel
        let queue: InProcessInputQueue
        let eventLoop: any EventLoop
        let deliverer: NIOLoopBound<InProcessDeliverer>
        let logger: Logger

        public func run() async {
            guard case .message(.control(.sessionStart(let start)))? = await queue.next() else { return }
            let offered = start.outputAudioFormats.compactMap(ModelControlMessage.OutputAudioFormat.init(name:))
            let rate = model.outputSampleRate(for: start)
            let session = ModelSession(
                start: start, outputSampleRate: rate ?? 0, queue: queue, eventLoop: eventLoop, deliverer: deliverer)
            guard let rate, offered.contains(.init(encoding: "pcm16", sampleRate: rate)) else {
                try? await session.deliver(.control(.error(
                    code: .unsupportedFormat,
                    message: "the in-process model takes none of the offered outputs \(start.outputAudioFormats)")))
                await session.close(reason: "unsupported format")
                return
            }
            do {
                try await session.deliver(.control(.sessionReady(.init(
                    outputAudioFormat: .init(encoding: "pcm16", sampleRate: rate)))))
            } catch {
                return
            }
            do {
                try await model.serve(session)
                await session.close(reason: "the model finished")
            } catch is CancellationError {
                await session.close(reason: "the model was cancelled")
            } catch ModelSessionError.ended {
                // The model sent after its session ended: nothing to report.
            } catch {
                logger.warning("in-process model failed: \(error)", metadata: ["session": "\(start.sessionID)"])
                try? await session.deliver(.control(.error(code: "model_error", message: "\(error)")))
                await session.close(reason: "model error")
            }
        }
    }

    private let jobs: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    private let active = NIOLockedValueBox(0)
    /// How long models get to return once no more sessions come and theirs ended, before they are cancelled.
    public let grace: Duration

    public init(grace: Duration = .seconds(2)) {
        (jobs, continuation) = AsyncStream.makeStream()
        self.grace = grace
    }

    /// Sessions being served (their `serve` has not returned).
    public var activeCount: Int { active.withLockedValue { $0 } }

    /// Queues a session's job (from the event loop): `run` starts it at once.
    func start(_ job: Job) {
        active.withLockedValue { $0 += 1 }
        if case .terminated = continuation.yield(job) {
            active.withLockedValue { $0 -= 1 }
            job.queue.finish()
        }
    }

    /// No more sessions: once the running ones return (or the grace period ends), `run` returns.
    public func finish() {
        continuation.finish()
    }

    /// Runs every session's job until `finish` and the jobs' end; models still running `grace` after `finish`
    /// are cancelled. The loop that takes the jobs runs on the model threads as well, so a busy cooperative pool
    /// (a host's own work) does not hold back a new session's model.
    public func run() async {
        if #available(macOS 15, *) {
            await withTaskExecutorPreference(InProcessModelExecutor.shared) { await runJobs() }
        } else {
            await runJobs()
        }
    }

    private func runJobs() async {
        let active = self.active
        let grace = self.grace
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for await job in jobs {
                    // Models run on the relay's model threads, not on the cooperative pool (see
                    // InProcessModelExecutor); their child tasks inherit the preference.
                    if #available(macOS 15, *) {
                        group.addTask(executorPreference: InProcessModelExecutor.shared) {
                            await job.run()
                            active.withLockedValue { $0 -= 1 }
                        }
                    } else {
                        group.addTask {
                            await job.run()
                            active.withLockedValue { $0 -= 1 }
                        }
                    }
                }
                group.addTask {
                    let deadline = ContinuousClock.now + grace
                    while active.withLockedValue({ $0 }) > 0 {
                        guard ContinuousClock.now < deadline else { throw GraceExpired() }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
            }
        } catch {
            // GraceExpired: the models still running were cancelled and have returned.
        }
        // Every job that started has returned; any left in the stream (a cancelled run) never started.
        active.withLockedValue { $0 = 0 }
    }

    private struct GraceExpired: Error {}
}
