import Foundation
public import Logging
public import NIOCore
import NIOPosix
internal import EarshotModelProtocol

extension ModelTransport {
    /// Starts `command` (run by `/bin/sh -c`) as this session's model: messages go to its stdin and come from its
    /// stdout in length-prefixed frames (`| length u32 BE | kind u8 | body |`, kind 1 = JSON text, 2 = audio;
    /// Docs/model-protocol.md); each line it writes to stderr goes to `logger` at notice level.
    public static func launch(
        command: String, eventLoop: any EventLoop, logger: Logger, processes: ModelProcesses? = nil,
        onEvent: @escaping (ModelTransportEvent) -> Void
    ) -> ModelTransport {
        eventLoop.preconditionInEventLoop()
        let transport = ModelTransport(eventLoop: eventLoop, onEvent: onEvent)
        let box = NIOLoopBound(transport, eventLoop: eventLoop)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        process.terminationHandler = { finished in
            processes?.exited(finished.processIdentifier)
            let status = finished.terminationStatus
            let reason = finished.terminationReason
            eventLoop.execute { box.value.processExited(status: status, reason: reason) }
        }
        do {
            try process.run()
        } catch {
            eventLoop.execute { box.value.failed(.couldNotConnect("could not start `\(command)`: \(error)")) }
            return transport
        }
        transport.process = process
        processes?.started(process)
        // NIO takes its own copies of the descriptors; ours (the pipes' ends in this process) are closed.
        let output = dup(stdout.fileHandleForReading.fileDescriptor)
        let input = dup(stdin.fileHandleForWriting.fileDescriptor)
        let errors = dup(stderr.fileHandleForReading.fileDescriptor)
        try? stdout.fileHandleForReading.close()
        try? stdin.fileHandleForWriting.close()
        try? stderr.fileHandleForReading.close()

        NIOPipeBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StdioMessageHandler(transport: box))
                }
            }
            .takingOwnershipOfDescriptors(input: output, output: input)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel): box.value.channel = channel
                case .failure(let error): box.value.failed(.couldNotConnect("pipes to `\(command)`: \(error)"))
                }
            }
        let tagged = logger
        NIOPipeBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineSplitter()))
                    try channel.pipeline.syncOperations.addHandler(StderrLogger(logger: tagged))
                }
            }
            .takingOwnershipOfDescriptor(input: errors)
            .whenFailure { _ in try? FileHandle(fileDescriptor: errors, closeOnDealloc: true).close() }
        return transport
    }
}

/// Frames on the model's stdin and stdout (`StdioFrameDecoder`): a frame of length 0 or of unknown kind is
/// reported and skipped; a length over the limit loses the stream, is reported, and nothing more is read.
private final class StdioMessageHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ModelTransportMessage
    typealias OutboundOut = ByteBuffer

    let transport: NIOLoopBound<ModelTransport>
    private var decoder = StdioFrameDecoder()

    init(transport: NIOLoopBound<ModelTransport>) { self.transport = transport }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard decoder.streamError == nil else { return }
        let buffer = unwrapInboundIn(data)
        decoder.append(buffer.readableBytesView)
        while true {
            let frame: StdioFrame?
            do {
                frame = try decoder.nextFrame()
            } catch {
                transport.value.invalidFrame(error)
                if error.isFatal { return }
                continue
            }
            guard let frame else { return }
            transport.value.received(frame.kind == .control ? .text(frame.body) : .binary(frame.body))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let (kind, bytes): (StdioFrameKind, [UInt8]) = switch unwrapOutboundIn(data) {
        case .text(let b): (.control, b)
        case .binary(let b): (.audio, b)
        }
        var buffer = context.channel.allocator.buffer(capacity: 5 + bytes.count)
        buffer.writeInteger(UInt32(bytes.count + 1))
        buffer.writeInteger(kind.rawValue)
        buffer.writeBytes(bytes)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if decoder.streamError == nil, decoder.bufferedByteCount > 0 {
            transport.value.invalidFrame(.truncatedFrame(decoder.bufferedByteCount))
        }
        transport.value.channelInactive()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        transport.value.failed(.processFailed("pipe error: \(error)"))
        context.close(promise: nil)
    }
}

/// Lines of the model's stderr (at most 4 KiB each: longer ones are cut).
struct LineSplitter: ByteToMessageDecoder {
    typealias InboundOut = String

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        if let newline = view.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - view.startIndex
            let line = buffer.readString(length: length) ?? ""
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(NIOAny(line))
            return .continue
        }
        if buffer.readableBytes >= 4096 {
            context.fireChannelRead(NIOAny(buffer.readString(length: 4096) ?? ""))
            return .continue
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        if buffer.readableBytes > 0 { context.fireChannelRead(NIOAny(buffer.readString(length: buffer.readableBytes) ?? "")) }
        return .needMoreData
    }
}

private final class StderrLogger: ChannelInboundHandler {
    typealias InboundIn = String
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        logger.notice("model stderr: \(unwrapInboundIn(data))")
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
