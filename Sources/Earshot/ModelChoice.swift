public import EarshotNIO
public import EarshotReferenceModels

/// Which model a session's audio goes to (`earshot serve --model …`).
public enum ModelChoice: Hashable, Sendable, CustomStringConvertible {
    /// The built-in echo: the caller's audio straight back, without the model protocol (the relay's own
    /// baseline: what the relay costs with no model in the way).
    case echo
    /// A built-in model speaking the model protocol in the relay's process (`parrot`).
    case builtIn(ReferenceModelName)
    /// A model server the relay dials per session.
    case webSocket(ModelTransport.WebSocketAddress)
    /// A command the relay starts per session (`/bin/sh -c COMMAND`), speaking over stdin/stdout.
    case exec(String)

    /// Parses `echo`, `parrot`, `builtin:echo`, `ws://HOST:PORT/PATH`, `wss://…` or `exec:COMMAND`.
    public init(parsing text: String) throws(ModelChoiceError) {
        if text == "echo" {
            self = .echo
        } else if let name = ReferenceModelName(rawValue: text) {
            self = .builtIn(name)
        } else if text.hasPrefix("builtin:") {
            // `builtin:echo` is the echo speaking the model protocol in this process (bridge, no transport).
            guard let name = ReferenceModelName(rawValue: String(text.dropFirst(8))) else { throw .unknown(text) }
            self = .builtIn(name)
        } else if text.hasPrefix("ws://") || text.hasPrefix("wss://") {
            guard let address = ModelTransport.WebSocketAddress(url: text) else { throw .badURL(text) }
            self = .webSocket(address)
        } else if text.hasPrefix("exec:") {
            let command = String(text.dropFirst(5)).trimmingWhitespace
            guard !command.isEmpty else { throw .emptyCommand }
            self = .exec(command)
        } else {
            throw .unknown(text)
        }
    }

    /// Whether sessions use the model protocol (a bridge) rather than the built-in echo.
    public var usesProtocol: Bool { self != .echo }

    public var description: String {
        switch self {
        case .echo: "echo"
        case .builtIn(let name): name == .echo ? "builtin:echo" : name.rawValue
        case .webSocket(let address): address.description
        case .exec(let command): "exec:\(command)"
        }
    }
}

public enum ModelChoiceError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknown(String)
    case badURL(String)
    case emptyCommand

    public var description: String {
        switch self {
        case .unknown(let text):
            "unknown model '\(text)': expected echo, parrot, builtin:echo, ws://HOST:PORT/PATH, wss://… or exec:COMMAND"
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
