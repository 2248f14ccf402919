import ArgumentParser

@main
struct Earshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Earshot: a low-latency voice relay.",
        subcommands: [Doctor.self]
    )
}
