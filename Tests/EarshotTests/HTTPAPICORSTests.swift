@testable import Earshot
import EarshotCrypto
import EarshotNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Testing

/// CORS on the WHIP endpoint, for pages served from another origin than the relay (the usual way to embed it).
/// A browser reads `Access-Control-Expose-Headers` from the actual response, not from the preflight: the WHIP 201
/// must carry it, or `response.headers.get("Location")` is null and the page cannot DELETE its session.
@Suite(.serialized)
struct HTTPAPICORSTests {
    static let origin = "http://127.0.0.1:9"

    /// A relay engine with its UDP socket on 127.0.0.1 (no datagram is sent: no peer ever answers), the real
    /// router, and a test client that calls the router directly.
    func withRelay(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let certificate = try DTLSCertificate(commonName: "earshot-test")
        let context = try DTLSContext(configuration: .init(certificate: certificate))
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let engine = RelayEngine(
            configuration: RelayConfiguration(), eventLoop: loop, dtlsContext: context,
            logger: Logger(label: "cors-test"))
        let socket = try await UDPSocket.bind(host: "127.0.0.1", port: 0, group: loop) { socket in
            engine.attach(socket: socket)
            return engine
        }
        let app = Application(router: HTTPAPI.makeRouter(engine: engine))
        do {
            try await app.test(.router, body)
        } catch {
            await engine.shutdown(reason: "test")
            await socket.close()
            throw error
        }
        await engine.shutdown(reason: "test")
        await socket.close()
    }

    static func exposed(_ fields: HTTPFields) -> Set<String> {
        Set((fields[.accessControlExposeHeaders] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        })
    }

    @Test func whipCreatedExposesLocationToAnotherOrigin() async throws {
        let offer = try PackagePaths.fixture("sdp/chromium-audio.sdp")
        try await withRelay { client in
            try await client.execute(
                uri: "/v1/whip", method: .post,
                headers: [.origin: Self.origin, .contentType: "application/sdp"],
                body: ByteBuffer(string: offer)
            ) { response in
                #expect(response.status == .created)
                #expect(response.headers[.location]?.hasPrefix("/v1/whip/") == true)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                #expect(Self.exposed(response.headers).isSuperset(of: ["location", "etag"]))
            }
        }
    }

    @Test func errorResponsesExposeHeadersToo() async throws {
        try await withRelay { client in
            // 415: the offer must be application/sdp. Still a CORS response a page can read.
            try await client.execute(
                uri: "/v1/whip", method: .post, headers: [.origin: Self.origin, .contentType: "text/plain"],
                body: ByteBuffer(string: "v=0")
            ) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                #expect(Self.exposed(response.headers).contains("retry-after"))
            }
        }
    }

    @Test func sameOriginResponsesCarryNoCORSHeaders() async throws {
        let offer = try PackagePaths.fixture("sdp/chromium-audio.sdp")
        try await withRelay { client in
            try await client.execute(
                uri: "/v1/whip", method: .post, headers: [.contentType: "application/sdp"],
                body: ByteBuffer(string: offer)
            ) { response in
                #expect(response.status == .created)
                #expect(response.headers[.accessControlExposeHeaders] == nil)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }

    @Test func preflightsAllowPostAndDelete() async throws {
        try await withRelay { client in
            for (uri, method) in [("/v1/whip", "POST"), ("/v1/whip/0123456789abcdef", "DELETE")] {
                try await client.execute(
                    uri: uri, method: .options,
                    headers: [
                        .origin: Self.origin, .accessControlRequestMethod: method,
                        .accessControlRequestHeaders: "content-type",
                    ]
                ) { response in
                    #expect(response.status == .noContent)
                    #expect(response.headers[.accessControlAllowOrigin] == "*")
                    #expect(response.headers[.accessControlAllowMethods]?.contains(method) == true, "\(uri)")
                    #expect(response.headers[.accessControlAllowHeaders]?.lowercased().contains("content-type") == true)
                }
            }
        }
    }
}
