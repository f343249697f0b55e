import ImageImport
import ImageStore
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// The OCI distribution API for one repository: a ping to find the scheme, the auth a
/// 401 asks for (a bearer token from the realm, as Docker Hub does, or basic), manifests
/// by tag or digest, blobs into a file.
public final class RegistryClient {
    public let ref: Reference
    let root: String
    let verifyTLS: Bool
    var scheme = "https"
    var authorization: String?
    var challenged = false
    /// Layers download on several threads: the auth state changes under this lock.
    let authLock = Lock()
    /// `push`: tokens are asked for pull and push.
    public var wantsPush = false
    /// `login` tries these before they are kept; otherwise the auth files say.
    let given: (user: String, password: String)?

    public init(_ ref: Reference, root: String, tlsVerify: Bool = true, credentials: (user: String, password: String)? = nil) {
        self.ref = ref
        self.root = root
        verifyTLS = tlsVerify
        given = credentials
    }

    var credentials: (user: String, password: String)? { given ?? AuthFile.credentials(for: ref.domain, root: root) }

    static let manifestTypes = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest]

    func url(_ tail: String) -> String { "\(scheme)://\(ref.host)/v2/\(ref.path)/\(tail)" }

    /// GET /v2/: which scheme answers, and what auth it wants. A loopback registry
    /// without TLS is spoken to over HTTP (Docker's rule for localhost).
    public func ping() throws {
        var r: HTTPResponse
        do {
            r = try HTTP.request("GET", "https://\(ref.host)/v2/", headers: [], verifyTLS: verifyTLS)
        } catch {
            guard ref.isLoopback || !verifyTLS else {
                throw Failure("cannot reach registry \(ref.domain): \(error)")
            }
            scheme = "http"
            do { r = try HTTP.request("GET", "http://\(ref.host)/v2/", headers: []) } catch {
                throw Failure("cannot reach registry \(ref.domain) over HTTPS or HTTP: \(error)")
            }
        }
        if r.status == 401 { try authenticate(r.header("www-authenticate")) }
    }

    /// Sends a request with our auth; a 401 is answered once and the request retried.
    /// `upload` is read from `uploadOffset` (a chunk of a blob), from the start on a retry too.
    func send(_ method: String, _ url: String, accept: [String] = [], headers: [String] = [], upload: (fd: Int32, length: Int64)? = nil,
              uploadOffset: Int64 = 0, out: Int32? = nil, progress: ((Int64, Int64) -> Void)? = nil) throws -> HTTPResponse {
        func go() throws -> HTTPResponse {
            var h = (accept.isEmpty ? [] : ["Accept: " + accept.joined(separator: ", ")]) + headers
            if let a = authLock.locked({ authorization }) { h.append("Authorization: " + a) }
            if let out { _ = ftruncate(out, 0); _ = lseek(out, 0, SEEK_SET) }
            if let u = upload { _ = lseek(u.fd, off_t(uploadOffset), SEEK_SET) }
            return try HTTP.request(method, url, headers: h, upload: upload, out: out, verifyTLS: verifyTLS, progress: progress)
        }
        var r = try go()
        if r.status == 401 {
            let retry = try authLock.locked { () throws -> Bool in
                // Another layer's thread may have answered the challenge meanwhile.
                if challenged { return authorization != nil }
                try authenticate(r.header("www-authenticate"))
                return true
            }
            if retry { r = try go() }
        }
        if (r.status == 401 || r.status == 403) && method != "GET" && method != "HEAD" {
            let login = credentials == nil ? ": `swiftrun login \(ref.domain)` first" : " (with the credentials from `swiftrun login`)"
            throw Failure("denied: requested access to the resource is denied (\(ref.domain)/\(ref.path))\(login)")
        }
        if r.status == 401 || r.status == 403 {
            let login = credentials == nil ? ": `swiftrun login \(ref.domain)` first if it is private" : " (with the credentials from `swiftrun login`)"
            throw Failure("pull access denied for \(ref.familiar): repository does not exist or may require authorization\(login)")
        }
        return r
    }

    /// Answers a WWW-Authenticate challenge: Bearer (a token from the realm, asked with
    /// our credentials if we have some) or Basic (our credentials).
    func authenticate(_ challenge: String?) throws {
        challenged = true
        guard let challenge else { throw Failure("registry \(ref.domain) answered 401 without a WWW-Authenticate challenge") }
        let creds = credentials
        let basic = creds.map { "Basic " + Base64.encode(Array("\($0.user):\($0.password)".utf8)) }
        let sp = challenge.firstIndex(of: " ") ?? challenge.endIndex
        let kind = challenge[..<sp].lowercased()
        let params = Self.challengeParams(String(challenge[sp...]))
        switch kind {
        case "basic":
            guard let basic else {
                throw Failure("registry \(ref.domain) needs a user and password: `swiftrun login \(ref.domain)`")
            }
            authorization = basic
        case "bearer":
            guard let realm = params["realm"] else { throw Failure("registry \(ref.domain): bearer challenge without a realm") }
            var q: [String] = []
            if let s = params["service"] { q.append("service=" + Self.percent(s)) }
            q.append("scope=" + Self.percent(params["scope"] ?? "repository:\(ref.path):\(wantsPush ? "pull,push" : "pull")"))
            let tokenURL = realm + (realm.contains("?") ? "&" : "?") + q.joined(separator: "&")
            let r = try HTTP.request("GET", tokenURL, headers: basic.map { ["Authorization: " + $0] } ?? [], verifyTLS: verifyTLS)
            guard r.status == 200 else {
                if r.status == 401 && creds == nil {
                    throw Failure("pull access denied for \(ref.familiar): registry \(ref.domain) wants credentials: `swiftrun login \(ref.domain)` first")
                }
                throw Failure(r.status == 401 ? "registry \(ref.domain) refused the credentials (token service \(realm) said 401): `swiftrun login \(ref.domain)` again"
                                              : "token service \(realm) answered \(r.status)")
            }
            struct Token: Decodable { var token: String?; var access_token: String? }
            let t = try JSON.decode(Token.self, from: r.body, what: "token from \(realm)")
            guard let tok = t.token ?? t.access_token, !tok.isEmpty else { throw Failure("token service \(realm) gave no token") }
            authorization = "Bearer " + tok
        default:
            throw Failure("registry \(ref.domain) wants \(kind) authentication, which swiftrun does not speak")
        }
    }

    /// `realm="a",service="b"` → [realm: a, service: b] (quoted values may hold commas).
    static func challengeParams(_ s: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(s)
        while let eq = rest.firstIndex(of: "=") {
            let key = rest[..<eq].trimmed().trimmingLeading(",").lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                let end = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = String(rest[..<end])
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...]
            }
            out[key] = value
            rest = rest.drop { $0 == "," || $0 == " " }
        }
        return out
    }

    static func percent(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if c.isASCII && (c.isLetter || c.isNumber || "-_.~".contains(c)) { out.append(c) } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPad(2)
            }
        }
        return out
    }

    /// A manifest or index by tag or digest: its bytes, media type and digest.
    public func manifest(_ reference: String) throws -> (bytes: [UInt8], mediaType: String, digest: String) {
        let r = try send("GET", url("manifests/" + reference), accept: Self.manifestTypes)
        guard r.status == 200 else {
            if r.status == 404 { throw Failure("manifest for \(ref.familiar) not found: manifest unknown (no such tag or digest in \(ref.domain)/\(ref.path))") }
            throw Failure("GET manifest \(reference) from \(ref.domain): HTTP \(r.status) \(Self.registryError(r.body))")
        }
        let digest = ImageStore.digest(r.body)
        if reference.hasPrefix("sha256:") && digest != reference {
            throw Failure("manifest \(reference) from \(ref.domain) does not match its digest (got \(digest))")
        }
        struct Typed: Decodable { var mediaType: String?; var schemaVersion: Int? }
        let typed = try? JSON.decode(Typed.self, from: r.body, what: "manifest")
        if typed?.schemaVersion == 1 { throw Failure("\(ref.familiar): schema 1 manifests are not supported (push the image again with a current tool)") }
        var type = r.header("content-type").map { String($0.prefix { $0 != ";" }).trimmed() } ?? ""
        if !Self.manifestTypes.contains(type) { type = typed?.mediaType ?? MediaType.ociManifest }
        return (r.body, type, digest)
    }

    /// A blob into `fd`; the caller checks the digest.
    public func blob(_ digest: String, into fd: Int32, progress: ((Int64, Int64) -> Void)? = nil) throws {
        let r = try send("GET", url("blobs/" + digest), out: fd, progress: progress)
        guard r.status == 200 else {
            throw Failure("GET blob \(digest) from \(ref.domain): HTTP \(r.status)")
        }
    }

    /// The message of a registry's {"errors":[{"code","message"}]} body.
    static func registryError(_ body: [UInt8]) -> String {
        struct E: Decodable { struct One: Decodable { var code: String?; var message: String? }; var errors: [One]? }
        guard let e = try? JSON.decode(E.self, from: body, what: "error"), let first = e.errors?.first else { return "" }
        return [first.code, first.message].compactMap { $0 }.joined(separator: ": ")
    }
}

extension StringProtocol {
    func trimmingLeading(_ c: Character) -> String { String(drop { $0 == c }) }
}
