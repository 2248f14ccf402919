import Foundation
public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

extension ModelTransport {
    /// Where a `ws://` or `wss://` model lives.
    public struct WebSocketAddress: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var path: String
        /// `wss://`: TLS, the server's certificate checked against the trusted roots and the host name.
        public var tls: Bool

        /// Parses `ws://HOST[:PORT][/PATH]` or `wss://…` (IPv6 hosts in brackets; ports 80 and 443 by default).
        public init?(url: String) {
            if url.hasPrefix("ws://") {
                tls = false
            } else if url.hasPrefix("wss://") {
                tls = true
            } else {
                return nil
            }
            var rest = Substring(url.dropFirst(tls ? 6 : 5))
            let pathStart = rest.firstIndex(of: "/") ?? rest.endIndex
            path = pathStart == rest.endIndex ? "/" : String(rest[pathStart...])
            rest = rest[..<pathStart]
            var hostPart = rest
            var portValue = tls ? 443 : 80
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                hostPart = rest[rest.index(after: rest.startIndex)..<close]
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()) else { return nil }
                    portValue = p
                } else if !after.isEmpty {
                    return nil
                }
            } else if let colon = rest.lastIndex(of: ":") {
                hostPart = rest[..<colon]
                guard let p = Int(rest[rest.index(after: colon)...]) else { return nil }
                portValue = p
            }
            guard !hostPart.isEmpty, (1...65535).contains(portValue) else { return nil }
            host = String(hostPart)
            port = portValue
        }

        public var description: String {
            let scheme = tls ? "wss" : "ws"
            return host.contains(":") ? "\(scheme)://[\(host)]:\(port)\(path)" : "\(scheme)://\(host):\(port)\(path)"
        }
    }

    /// Dials a WebSocket model. Events (messages, the end) arrive on `eventLoop` through `onEvent`, which is also
    /// told `.ended(.couldNotConnect)` when the connection, the handshake or `connectTimeout` fails; the transport
    /// is returned at once and can be sent to as soon as it connects (earlier sends are refused).
    /// For `wss://`, the server's certificate must chain to `trustRootsFile` (PEM) when given, else to the
    /// system's trusted roots, and name the URL's host (a DNS name or an IP address in its subjectAltName).
    public static func connect(
        to address: WebSocketAddress, eventLoop: any EventLoop, connectTimeout: Duration = .seconds(5),
        trustRootsFile: String? = nil, onEvent: @escaping (ModelTransportEvent) -> Void
    ) -> ModelTransport {
        eventLoop.preconditionInEventLoop()
        let transport = ModelTransport(eventLoop: eventLoop, onEvent: onEvent)
        let box = NIOLoopBound(transport, eventLoop: eventLoop)
        let tlsContext: NIOSSLContext?
        if address.tls {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let trustRootsFile { configuration.trustRoots = .file(trustRootsFile) }
            do {
                tlsContext = try NIOSSLContext(configuration: configuration)
            } catch {
                eventLoop.execute { box.value.failed(.couldNotConnect("\(address): TLS setup: \(error)")) }
                return transport
            }
        } else {
            tlsContext = nil
        }
        let upgraded = eventLoop.makePromise(of: Void.self)
        let timeout = TimeAmount.nanoseconds(connectTimeout.nanosecondsClampedForNIO)
        let deadline = eventLoop.scheduleTask(in: timeout) {
            upgraded.fail(ModelTransportConnectError("no WebSocket handshake within \(connectTimeout)"))
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                let upgrader = NIOWebSocketClientUpgrader(
                    maxFrameSize: ModelTransport.maximumMessageSize,
                    automaticErrorHandling: true,
                    upgradePipelineHandler: { channel, _ in
                        // The request writer is ours, so the upgrade does not know to remove it.
                        channel.pipeline.removeHandler(name: UpgradeRequestWriter.name).flatMapThrowing {
                            let sync = channel.pipeline.syncOperations
                            try sync.addHandler(NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 4096,
                                maxAccumulatedFrameSize: ModelTransport.maximumMessageSize))
                            try sync.addHandler(WebSocketMessageHandler(transport: box))
                            upgraded.succeed(())
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        // SNI only for a name: an IP address is checked against the certificate's IP entries.
                        let isAddress = (try? SocketAddress(ipAddress: address.host, port: 0)) != nil
                        let handler = try NIOSSLClientHandler(
                            context: tlsContext, serverHostname: isAddress ? nil : address.host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes,
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeRequestWriter(host: address.host, port: address.port, path: address.path,
                                             refused: upgraded),
                        name: UpgradeRequestWriter.name)
                }
            }
            .connect(host: address.host, port: address.port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    upgraded.futureResult.assumeIsolated().whenComplete { outcome in
                        deadline.cancel()
                        switch outcome {
                        case .success:
                            box.value.channel = channel
                        case .failure(let error):
                            channel.close(promise: nil)
                            box.value.failed(.couldNotConnect("\(address): \(error)"))
                        }
                    }
                case .failure(let error):
                    deadline.cancel()
                    upgraded.fail(error)
                    box.value.failed(.couldNotConnect("\(address): \(error)"))
                }
            }
        return transport
    }
}

struct ModelTransportConnectError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var nanosecondsClampedForNIO: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Sends the HTTP upgrade request once connected; a response that is not an upgrade fails the handshake.
private final class UpgradeRequestWriter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    static let name = "earshot-websocket-upgrade-request"
    let host: String, port: Int, path: String
    let refused: EventLoopPromise<Void>

    init(host: String, port: Int, path: String, refused: EventLoopPromise<Void>) {
        self.host = host
        self.port = port
        self.path = path
        self.refused = refused
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Only reached when the server answered without upgrading.
        if case .head(let head) = unwrapInboundIn(data) {
            refused.fail(ModelTransportConnectError("the model answered HTTP \(head.status.code) instead of a WebSocket upgrade"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        refused.fail(error)
        context.close(promise: nil)
    }
}

/// WebSocket messages to and from the transport, after the upgrade; the aggregator has joined fragments.
private final class WebSocketMessageHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = ModelTransportMessage
    typealias OutboundOut = WebSocketFrame

    let transport: NIOLoopBound<ModelTransport>
    private var sentClose = false

    init(transport: NIOLoopBound<ModelTransport>) { self.transport = transport }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            transport.value.received(.text(Array(buffer: frame.unmaskedData)))
        case .binary:
            transport.value.received(.binary(Array(buffer: frame.unmaskedData)))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self).map { Int($0) }
            if !sentClose {
                sentClose = true
                var reply = context.channel.allocator.buffer(capacity: 2)
                reply.writeInteger(UInt16(code ?? 1000))
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: reply)))
                    .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
            let text = code.map { "WebSocket close \($0)" } ?? "WebSocket close"
            // 1000 normal, 1001 going away: a clean end; any other code is the model reporting a failure.
            if code == nil || code == 1000 || code == 1001 {
                transport.value.failed(.closedByModel(text))
            } else {
                transport.value.failed(.protocolViolation(text))
            }
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let message = unwrapOutboundIn(data)
        let (opcode, bytes): (WebSocketOpcode, [UInt8]) = switch message {
        case .text(let b): (.text, b)
        case .binary(let b): (.binary, b)
        }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        // A client masks every frame it sends (RFC 6455 §5.3).
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: buffer)),
                      promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, !sentClose else {
            context.close(mode: mode, promise: promise)
            return
        }
        sentClose = true
        var reply = context.channel.allocator.buffer(capacity: 2)
        reply.writeInteger(UInt16(1000))
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: reply)
        context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
            context.close(mode: mode, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        transport.value.channelInactive()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        transport.value.failed(.protocolViolation("\(error)"))
        context.close(promise: nil)
    }
}
