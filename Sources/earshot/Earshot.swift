import ArgumentParser

@main
struct Earshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Earshot: a low-latency voice relay.",
        subcommands: [Serve.self, Call.self, Model.self, Bench.self, BargeIn.self, BenchModel.self, SimulateJitter.self, Doctor.self]
    )
}
