import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// The relay's HTTP surface: WHIP (RFC 9725) at `/v1/whip`, the session API at `/v1/sessions`, Prometheus metrics
/// at `/metrics`, and the demo page at `/`.
enum HTTPAPI {
    static let whipPath = "/v1/whip"
    /// Offers larger than this are refused with 413 (a real audio offer is 2–8 kB).
    static let maximumOfferSize = 64 * 1024

    /// Response headers a page from another origin may read: Location is how a WHIP client learns its session
    /// resource (to DELETE it), Retry-After comes with 503.
    static let exposedHeaders = ["Location", "ETag", "Link", "Accept-Post", "Retry-After"]

    static func makeRouter(engine: RelayEngine) -> Router<BasicRequestContext> {
        let router = Router()
        // CORS so a page served from another origin can do WHIP (RFC 9725 §4.3 expects it for browsers).
        router.add(
            middleware: CORSMiddleware(
                allowOrigin: .all,
                allowHeaders: [.contentType, .authorization, .ifMatch, .accept],
                allowMethods: [.get, .post, .delete, .patch, .options],
                exposedHeaders: exposedHeaders
            ))
        router.add(middleware: CORSExposeHeadersMiddleware(exposedHeaders: exposedHeaders))
        let token = engine.configuration.token

        router.on(RouterPath(whipPath), method: .options) { _, _ in
            Response(status: .noContent, headers: [.acceptPost: "application/sdp", .allow: "OPTIONS, POST"])
        }

        router.post(RouterPath(whipPath)) { request, context -> Response in
            if let failure = authorize(request, token: token) { return failure }
            guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/sdp") else {
                return problem(.unsupportedMediaType, "the WHIP offer must be sent with Content-Type: application/sdp")
            }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maximumOfferSize)
            } catch {
                return problem(.contentTooLarge, "the SDP offer is larger than \(maximumOfferSize) bytes")
            }
            let offer = String(buffer: body)
            do throws(WHIPError) {
                let (id, answer) = try await engine.offer(
                    offer, model: request.uri.queryParameters.get("model"),
                    userAgent: request.headers[.userAgent])
                let location = "\(whipPath)/\(id)"
                return Response(
                    status: .created,
                    headers: [
                        .contentType: "application/sdp", .location: location, .eTag: "\"\(id)\"",
                        .cacheControl: "no-store",
                    ],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: answer)))
            } catch {
                switch error {
                case .malformedSDP: return problem(.badRequest, error.description)
                case .unusableOffer: return problem(.notAcceptable, error.description)
                case .atCapacity: return problem(.serviceUnavailable, error.description, headers: [.retryAfter: "5"])
                case .unavailable: return problem(.serviceUnavailable, error.description, headers: [.retryAfter: "1"])
                case .internalError: return problem(.internalServerError, error.description)
                case .unknownModel: return problem(.notFound, error.description)
                }
            }
        }

        router.on(RouterPath("\(whipPath)/:id"), method: .options) { _, _ in
            Response(status: .noContent, headers: [.allow: "OPTIONS, GET, DELETE"])
        }

        // The WHIP resource reads as its session: live, or ended with its close reason (a model that failed says
        // so here too), for as long as ended sessions are kept.
        router.get(RouterPath("\(whipPath)/:id")) { request, context -> Response in
            if let failure = authorize(request, token: token) { return failure }
            let id = try context.parameters.require("id")
            guard let info = await engine.sessionInfo(id: id) else { return problem(.notFound, "no session \(id)") }
            return json(info)
        }

        router.delete(RouterPath("\(whipPath)/:id")) { request, context -> Response in
            if let failure = authorize(request, token: token) { return failure }
            let id = try context.parameters.require("id")
            guard await engine.end(id: id, reason: "ended by WHIP DELETE") else {
                return problem(.notFound, "no live session \(id)")
            }
            return Response(status: .ok)
        }

        // Trickle ICE and ICE restarts (RFC 9725 §4.3.1) are not implemented: the relay is ICE-lite with one
        // host candidate and learns the client's address from its checks.
        router.patch(RouterPath("\(whipPath)/:id")) { _, _ -> Response in
            problem(
                .methodNotAllowed, "trickle ICE and ICE restart are not supported; send a complete offer",
                headers: [.allow: "OPTIONS, GET, DELETE"])
        }

        router.get("/v1/sessions") { _, _ -> Response in
            json(await engine.sessionInfos())
        }

        router.get("/v1/sessions/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            guard let info = await engine.sessionInfo(id: id) else { return problem(.notFound, "no session \(id)") }
            return json(info)
        }

        // Prometheus text exposition format (version 0.0.4): hop histograms, sessions, packets, drops by reason,
        // jitter-buffer totals, the process's CPU and memory.
        router.get("/metrics") { _, _ -> Response in
            await engine.publishMetrics()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: engine.metrics.exposition())))
        }

        router.get("/") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: DemoPage.html)))
        }
        return router
    }

    /// 401 unless the request carries the configured bearer token (RFC 6750); nil when it may proceed.
    static func authorize(_ request: Request, token: String?) -> Response? {
        guard let token else { return nil }
        if let header = request.headers[.authorization], header == "Bearer \(token)" { return nil }
        return problem(.unauthorized, "this relay requires Authorization: Bearer <token>", headers: [.wwwAuthenticate: "Bearer"])
    }

    static func problem(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    static func json(_ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Adds `Access-Control-Expose-Headers` to the actual (non-preflight) responses of cross-origin requests.
///
/// Browsers read that header from the actual response only (Fetch standard, "CORS protocol"); on a preflight it
/// means nothing. Hummingbird's `CORSMiddleware` sends it on preflights only, so without this a page from another
/// origin gets `null` for `Location` on the WHIP 201 and cannot delete its session.
struct CORSExposeHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let value: String

    init(exposedHeaders: [String]) {
        value = exposedHeaders.joined(separator: ", ")
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        if request.headers[.origin] != nil, request.method != .options {
            response.headers[.accessControlExposeHeaders] = value
        }
        return response
    }
}

extension HTTPField.Name {
    static let acceptPost = Self("Accept-Post")!
}
