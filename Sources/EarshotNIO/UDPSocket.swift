public import EarshotWire
public import NIOCore
import NIOPosix

/// What a UDP socket hands its datagrams to. Called on the socket's event loop only.
public protocol UDPDatagramReceiver: AnyObject {
    /// One received datagram. The buffer may be modified in place (for example SRTP removed) but not kept.
    func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: Instant)
    /// The end of a batch of reads: the moment to flush what the batch produced.
    func receiveBatchComplete(now: Instant)
}

/// One UDP socket serving every session (RFC 7983 demultiplexing happens above it), with vector reads and
/// buffered writes flushed once per batch.
///
/// Concurrency: everything but `bind` and `close` must be called on `eventLoop`.
public final class UDPSocket: @unchecked Sendable {
    public let eventLoop: any EventLoop
    public let localAddress: TransportAddress
    private let channel: any Channel
    public private(set) var statistics = Statistics()
    /// Datagrams queued since the last flush.
    public private(set) var pendingWrites = 0

    public struct Statistics: Sendable, Hashable {
        public var datagramsReceived = 0
        public var datagramsSent = 0
        public var bytesReceived = 0
        public var bytesSent = 0
        public var sendFailures = 0
        public var receiveErrors = 0
    }

    /// How many datagrams one read may gather (recvmmsg).
    public static let vectorReadCount = 32
    /// Kernel send and receive buffer size requested for the socket.
    public static let socketBufferSize: SocketOptionValue = 4 * 1024 * 1024

    /// Receive buffer per datagram: larger than any UDP payload a WebRTC peer sends (MTU-sized).
    public static let datagramBufferSize = 2048

    private init(channel: any Channel, localAddress: TransportAddress) {
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.localAddress = localAddress
    }

    /// Binds `host:port` (port 0 picks one) on one loop of `group` and delivers datagrams to the receiver that
    /// `makeReceiver` creates on that loop.
    public static func bind(
        host: String, port: Int, group: any EventLoopGroup,
        makeReceiver: @escaping @Sendable (UDPSocket) -> any UDPDatagramReceiver
    ) async throws -> UDPSocket {
        let loop = group.next()
        let handlerBox = HandlerBox()
        let channel = try await DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // Room for bursts: 4 MiB holds ~25 000 audio packets (the kernel caps it at net.core.rmem_max).
            .channelOption(.socketOption(.so_rcvbuf), value: socketBufferSize)
            .channelOption(.socketOption(.so_sndbuf), value: socketBufferSize)
            .channelOption(.datagramVectorReadMessageCount, value: vectorReadCount)
            // NIO splits one receive buffer across a vector read: size it for every datagram of the batch.
            .channelOption(
                .recvAllocator,
                value: FixedSizeRecvByteBufferAllocator(capacity: vectorReadCount * datagramBufferSize)
            )
            .channelInitializer { channel in
                let handler = ReceiveHandler()
                handlerBox.handler = handler
                return channel.pipeline.addHandler(handler)
            }
            .bind(host: host, port: port).get()
        guard let bound = channel.localAddress, let local = TransportAddress(bound) else {
            try? await channel.close()
            throw UDPSocketError.noLocalAddress
        }
        let socket = UDPSocket(channel: channel, localAddress: local)
        try await loop.submit {
            let receiver = makeReceiver(socket)
            handlerBox.handler?.attach(socket: socket, receiver: receiver)
        }.get()
        return socket
    }

    /// Queues a datagram; it leaves at the next `flush()`.
    public func send(_ bytes: [UInt8], to destination: TransportAddress) {
        bytes.withUnsafeBytes { send($0, to: destination) }
    }

    /// Queues a datagram copied from `bytes`; it leaves at the next `flush()`.
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: TransportAddress) {
        eventLoop.preconditionInEventLoop()
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        let envelope = AddressedEnvelope(remoteAddress: destination.socketAddress, data: buffer)
        statistics.datagramsSent += 1
        statistics.bytesSent += bytes.count
        pendingWrites += 1
        channel.write(envelope, promise: nil)
    }

    /// Sends every queued datagram.
    public func flush() {
        guard pendingWrites > 0 else { return }
        pendingWrites = 0
        channel.flush()
    }

    /// Closes the socket.
    public func close() async {
        try? await channel.close()
    }

    fileprivate func recordReceive(_ count: Int) {
        statistics.datagramsReceived += 1
        statistics.bytesReceived += count
    }

    fileprivate func recordError() { statistics.receiveErrors += 1 }
}

public enum UDPSocketError: Error, CustomStringConvertible {
    case noLocalAddress
    public var description: String { "the UDP socket has no local address" }
}

private final class HandlerBox: @unchecked Sendable {
    var handler: ReceiveHandler?
}

private final class ReceiveHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private weak var socket: UDPSocket?
    private var receiver: (any UDPDatagramReceiver)?

    func attach(socket: UDPSocket, receiver: any UDPDatagramReceiver) {
        self.socket = socket
        self.receiver = receiver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        guard let receiver, let source = TransportAddress(envelope.remoteAddress) else { return }
        socket?.recordReceive(envelope.data.readableBytes)
        let now = Instant.now()
        envelope.data.withUnsafeMutableReadableBytes { bytes in
            receiver.receive(bytes, from: source, now: now)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        receiver?.receiveBatchComplete(now: Instant.now())
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable and the like surface here; UDP keeps going.
        socket?.recordError()
    }
}
