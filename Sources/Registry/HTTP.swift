import CHTTP
import OS
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP response: status, final headers (lower-cased names), and the body when kept.
public struct HTTPResponse {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

enum HTTP {
    /// `out`: where the body goes (a blob's file); nil keeps it (at most `max` bytes).
    /// `upload`: the request's body, read from an fd (its length given).
    static func request(_ method: String, _ url: String, headers: [String], upload: (fd: Int32, length: Int64)? = nil,
                        out: Int32? = nil, max: Int = 8 << 20,
                        verifyTLS: Bool = true, progress: ((Int64, Int64) -> Void)? = nil) throws -> HTTPResponse {
        let cHeaders = headers.map { strdup($0) }
        defer { cHeaders.forEach { free($0) } }
        var status = 0
        var body: UnsafeMutablePointer<CChar>?
        var bodyLen = 0
        var hdrs: UnsafeMutablePointer<CChar>?
        var err = [CChar](repeating: 0, count: 512)
        final class Box { let f: ((Int64, Int64) -> Void)?; init(_ f: ((Int64, Int64) -> Void)?) { self.f = f } }
        let box = Box(progress)
        let ctx = Unmanaged.passUnretained(box).toOpaque()
        let cb: sr_http_progress_fn = { ctx, now, total in
            Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().f?(Int64(now), Int64(total))
            return 0
        }
        let rc = cHeaders.map { UnsafePointer($0) }.withUnsafeBufferPointer { hp in
            sr_http_request(method, url, hp.baseAddress, Int32(hp.count), upload?.fd ?? -1, upload?.length ?? 0, out ?? -1, &body, &bodyLen, max,
                            progress == nil ? nil : cb, ctx, verifyTLS ? 1 : 0, &status, &hdrs, &err, err.count)
        }
        withExtendedLifetime(box) {}
        guard rc == 0 else { throw Failure("\(method) \(url): \(String(cString: err))") }
        var map: [String: String] = [:]
        if let hdrs {
            for line in String(cString: hdrs).split(separator: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                map[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmed()
            }
            sr_http_free(hdrs)
        }
        var bytes: [UInt8] = []
        if let body {
            bytes = Array(UnsafeRawBufferPointer(start: body, count: bodyLen))
            sr_http_free(body)
        }
        return HTTPResponse(status: status, headers: map, body: bytes)
    }
}
