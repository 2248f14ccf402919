import EarshotAudio
import Foundation

/// The threads in-process models run on: a task executor of the relay's own (`withTaskExecutorPreference`), so a
/// model's work never waits for a cooperative pool that something else in the host holds (a blocking call, a long
/// computation), and a model that computes for a while does not hold the host's pool either. The threads start
/// once and live as long as the process; jobs run in the order they came, on whichever thread is free.
@available(macOS 15, *)
final class InProcessModelExecutor: TaskExecutor, @unchecked Sendable {
    /// The executor every relay in the process shares.
    static let shared = InProcessModelExecutor(threads: 2)

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs = FIFOQueue<UnownedJob>()

    init(threads: Int) {
        for index in 0..<max(1, threads) {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "earshot-model-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.popFirst()!
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
