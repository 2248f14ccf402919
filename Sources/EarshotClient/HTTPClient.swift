public import NIOCore
import NIOHTTP1
public import NIOPosix

/// A minimal HTTP/1.1 client for WHIP and the session API: one request per connection, bounded body, a timeout.
public enum HTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case badURL(String)
        case timedOut(String)
        case connection(String)
        case bodyTooLarge

        public var description: String {
            switch self {
            case .badURL(let url): "not an http:// URL: \(url)"
            case .timedOut(let url): "no answer from \(url) in time"
            case .connection(let reason): "HTTP connection failed: \(reason)"
            case .bodyTooLarge: "the HTTP response body is too large"
            }
        }
    }

    /// Splits `http://host:port/path` (no TLS: the relay's API is for loopback or a trusted network).
    public static func split(_ url: String) throws(Failure) -> (host: String, port: Int, path: String) {
        guard url.hasPrefix("http://") else { throw .badURL(url) }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = String(authority)
        var port = 80
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":"), let p = Int(after.dropFirst()) { port = p }
        } else if let colon = authority.lastIndex(of: ":"), let p = Int(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            port = p
        }
        guard !host.isEmpty else { throw .badURL(url) }
        return (host, port, path)
    }

    public static func request(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: String? = nil,
        timeout: TimeAmount = .seconds(10), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Response {
        let (host, port, path) = try split(url)
        let collector = ResponseCollector()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(collector)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw Failure.connection("\(host):\(port): \(error)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "Host", value: port == 80 ? host : "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let bodyBuffer = body.map { ByteBuffer(string: $0) }
        head.headers.add(name: "Content-Length", value: "\(bodyBuffer?.readableBytes ?? 0)")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let bodyBuffer { channel.write(HTTPClientRequestPart.body(.byteBuffer(bodyBuffer)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timeoutTask = channel.eventLoop.scheduleTask(in: timeout) {
            collector.fail(Failure.timedOut(url))
            channel.close(promise: nil)
        }
        defer { timeoutTask.cancel() }
        let response = try await collector.promise(on: channel.eventLoop).futureResult.get()
        channel.close(promise: nil)
        return response
    }
}

private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private var status = 0
    private var headers: [(String, String)] = []
    private var body = ByteBuffer()
    private var result: EventLoopPromise<HTTPClient.Response>?
    private var pendingError: (any Error)?
    private var finished: HTTPClient.Response?
    /// Responses larger than this are refused (WHIP answers and session JSON are a few kB).
    private let limit = 4 * 1024 * 1024

    func promise(on loop: any EventLoop) -> EventLoopPromise<HTTPClient.Response> {
        let promise = loop.makePromise(of: HTTPClient.Response.self)
        loop.execute {
            if let finished = self.finished {
                promise.succeed(finished)
            } else if let error = self.pendingError {
                promise.fail(error)
            } else {
                self.result = promise
            }
        }
        return promise
    }

    func fail(_ error: any Error) {
        if let result {
            self.result = nil
            result.fail(error)
        } else if finished == nil {
            pendingError = error
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            headers = head.headers.map { ($0.name, $0.value) }
        case .body(var part):
            guard body.readableBytes + part.readableBytes <= limit else {
                fail(HTTPClient.Failure.bodyTooLarge)
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&part)
        case .end:
            let response = HTTPClient.Response(status: status, headers: headers, body: String(buffer: body))
            finished = response
            if let result {
                self.result = nil
                result.succeed(response)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if finished == nil { fail(HTTPClient.Failure.connection("closed before a complete response")) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }
}
