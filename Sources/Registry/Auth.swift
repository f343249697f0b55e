import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// Registry credentials in Docker's config.json shape: {"auths": {"HOST": {"auth": base64("user:pass")}}}.
/// `login` writes the store's own file (mode 0600); Docker's ~/.docker/config.json is read too.
public struct AuthFile: Codable {
    public struct Entry: Codable { public var auth: String? }
    public var auths: [String: Entry] = [:]

    public init() {}

    /// The file `login` writes: $SWIFTRUN_AUTH_FILE, else <root>/auth.json.
    public static func path(root: String) -> String {
        if let p = getenv("SWIFTRUN_AUTH_FILE") { return String(cString: p) }
        return root + "/auth.json"
    }

    static func read(_ path: String) -> AuthFile? {
        guard let data = try? Files.read(path) else { return nil }
        return try? JSON.decode(AuthFile.self, from: data, what: path)
    }

    static func keys(for domain: String) -> [String] {
        domain == "docker.io" ? ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"]
            : [domain, "https://" + domain, "http://" + domain]
    }

    /// The user and password for a registry, from ours, then Docker's.
    public static func credentials(for domain: String, root: String) -> (user: String, password: String)? {
        var files = [path(root: root)]
        if let d = getenv("DOCKER_CONFIG") { files.append(String(cString: d) + "/config.json") }
        if let h = getenv("HOME") { files.append(String(cString: h) + "/.docker/config.json") }
        for f in files {
            guard let a = read(f) else { continue }
            for k in keys(for: domain) {
                guard let enc = a.auths[k]?.auth, let dec = Base64.decode(enc) else { continue }
                let s = String(decoding: dec, as: UTF8.self)
                guard let colon = s.firstIndex(of: ":") else { continue }
                return (String(s[..<colon]), String(s[s.index(after: colon)...]))
            }
        }
        return nil
    }

    public static func store(domain: String, user: String, password: String, root: String) throws {
        let p = path(root: root)
        var a = read(p) ?? AuthFile()
        a.auths[domain] = Entry(auth: Base64.encode(Array("\(user):\(password)".utf8)))
        try Files.writeAtomic(p, try JSON.encode(a, pretty: true), mode: 0o600)
    }

    /// false when there was nothing to forget.
    public static func remove(domain: String, root: String) throws -> Bool {
        let p = path(root: root)
        guard var a = read(p) else { return false }
        let before = a.auths.count
        for k in keys(for: domain) { a.auths[k] = nil }
        try Files.writeAtomic(p, try JSON.encode(a, pretty: true), mode: 0o600)
        return a.auths.count < before
    }
}

enum Base64 {
    static let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            let n = min(3, b.count - i)
            let v = (UInt32(b[i]) << 16) | (n > 1 ? UInt32(b[i + 1]) << 8 : 0) | (n > 2 ? UInt32(b[i + 2]) : 0)
            for j in 0..<4 { out.append(j <= n ? table[Int((v >> (18 - 6 * UInt32(j))) & 63)] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ s: String) -> [UInt8]? {
        var rev = [Int](repeating: -1, count: 256)
        for (i, c) in table.enumerated() { rev[Int(c)] = i }
        var out: [UInt8] = [], acc: UInt32 = 0, bits = 0
        for c in s.utf8 where c != UInt8(ascii: "=") && c != 10 && c != 13 {
            let v = rev[Int(c)]
            guard v >= 0 else { return nil }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xff))
            }
        }
        return out
    }
}
