public import EarshotNIO
import EarshotReferenceModels

/// Which model a session's audio goes to (`earshot serve --model …`).
public enum ModelChoice: Hashable, Sendable, CustomStringConvertible {
    /// The built-in echo: the caller's audio straight back, without the model protocol (the relay's own
    /// baseline: what the relay costs with no model in the way).
    case echo
    /// A model in the relay's process speaking the model protocol as Swift values: the host program's own
    /// (``InProcessModel``), or the built-in parrot and protocol echo (``BuiltInModel``).
    case inProcess(InProcessModelHandle)
    /// A model server the relay dials per session.
    case webSocket(ModelTransport.WebSocketAddress)
    /// A command the relay starts per session (`/bin/sh -c COMMAND`), speaking over stdin/stdout.
    case exec(String)
    /// The process that started the relay, on the relay's own stdin/stdout, every session multiplexed (sidecar).
    case stdio

    /// An in-process model under `name`.
    public static func inProcess(_ name: String, _ model: some InProcessModel) -> ModelChoice {
        .inProcess(InProcessModelHandle(name: name, model: model))
    }

    /// Parses `echo`, `parrot`, `builtin:echo`, `stdio`, `ws://HOST:PORT/PATH`, `wss://…`, `exec:COMMAND`, or
    /// the name of one of `inProcessModels` (a host program's own models).
    public init(parsing text: String, inProcessModels: [String: any InProcessModel] = [:]) throws(ModelChoiceError) {
        if text == "echo" {
            self = .echo
        } else if let model = inProcessModels[text] {
            self = .inProcess(text, model)
        } else if text == "stdio" {
            self = .stdio
        } else if let name = ReferenceModelName(rawValue: text) {
            self = .inProcess(name.rawValue, BuiltInModel(name))
        } else if text.hasPrefix("builtin:") {
            // `builtin:echo` is the echo speaking the model protocol in this process (bridge, no transport).
            guard let name = ReferenceModelName(rawValue: String(text.dropFirst(8))) else {
                throw .unknown(text, inProcess: inProcessModels.keys.sorted())
            }
            self = .inProcess(name == .echo ? "builtin:echo" : name.rawValue, BuiltInModel(name))
        } else if text.hasPrefix("ws://") || text.hasPrefix("wss://") {
            guard let address = ModelTransport.WebSocketAddress(url: text) else { throw .badURL(text) }
            self = .webSocket(address)
        } else if text.hasPrefix("exec:") {
            let command = String(text.dropFirst(5)).trimmingWhitespace
            guard !command.isEmpty else { throw .emptyCommand }
            self = .exec(command)
        } else {
            throw .unknown(text, inProcess: inProcessModels.keys.sorted())
        }
    }

    /// Whether sessions use the model protocol (a bridge) rather than the built-in echo.
    public var usesProtocol: Bool { self != .echo }

    public var description: String {
        switch self {
        case .echo: "echo"
        case .inProcess(let handle): handle.name
        case .webSocket(let address): address.description
        case .exec(let command): "exec:\(command)"
        case .stdio: "stdio"
        }
    }
}

public enum ModelChoiceError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknown(String, inProcess: [String])
    case badURL(String)
    case emptyCommand

    /// The forms a model setting takes.
    public static let allowed = "echo, parrot, builtin:echo, stdio, ws://HOST:PORT/PATH, wss://HOST:PORT/PATH or exec:COMMAND"

    /// What a model setting takes, for the error's context.
    public var expected: String {
        switch self {
        case .unknown(_, let names): (names.isEmpty ? "" : names.joined(separator: ", ") + ", ") + Self.allowed
        case .badURL: "a ws:// or wss://HOST[:PORT][/PATH] URL"
        case .emptyCommand: "exec: followed by a command, e.g. exec:'python3 model.py --stdio'"
        }
    }

    public var description: String {
        switch self {
        case .unknown(let text, let names):
            "unknown model '\(text)': expected \(names.isEmpty ? "" : names.joined(separator: ", ") + ", ")\(Self.allowed)"
        case .badURL(let text): "'\(text)' is not a ws:// or wss://HOST[:PORT][/PATH] URL"
        case .emptyCommand: "exec: needs a command, e.g. exec:'python3 model.py --stdio'"
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
