import OS

/// A reference that is not one: Docker's "invalid reference format", with the reason where
/// Docker gives one.
public struct InvalidReference: Error, CustomStringConvertible {
    public var description: String
    init(_ reason: String? = nil) { description = "invalid reference format" + (reason.map { ": " + $0 } ?? "") }
}

/// An image reference parsed with Docker's grammar (distribution's reference package) and
/// normalised as Docker does: `redis` is docker.io/library/redis:latest, `localhost:5000/app:1`
/// stays on localhost:5000, `name@sha256:...` pins a digest. Every name that enters the
/// store (load, pull, tag) and every name looked up goes through here, so that a name
/// splits no table (a newline), climbs no path (`../x`), and `docker.io/library/x` and `x`
/// are one image.
public struct Reference: Equatable, CustomStringConvertible {
    public var domain: String       // "docker.io", "localhost:5000", "ghcr.io"
    public var path: String         // "library/redis"
    public var tag: String?
    public var digest: String?

    /// `defaultTag`: `latest` when neither tag nor digest is given, as `docker pull` and
    /// `docker run` do.
    public static func parse(_ s: String, defaultTag: Bool = true) throws -> Reference {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw InvalidReference() }
        if isID(s) && !s.hasPrefix("sha256:") {
            throw InvalidReference("repository name (\(s)) cannot be a 64-byte hexadecimal string")
        }
        var rest = Substring(s)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let d = rest[rest.index(after: at)...]
            rest = rest[..<at]
            guard d.hasPrefix("sha256:"), d.count == 71, d.dropFirst(7).utf8.allSatisfy(isLowerHex) else { throw InvalidReference() }
            digest = String(d)
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let t = rest[rest.index(after: colon)...]
            rest = rest[..<colon]
            // [\w][\w.-]{0,127}
            guard let first = t.utf8.first, isWord(first), t.utf8.count <= 128,
                  t.utf8.allSatisfy({ isWord($0) || $0 == 0x2e || $0 == 0x2d }) else { throw InvalidReference() }
            tag = String(t)
        }
        // The first component is a registry when it has a dot or a port, is localhost, or
        // has capitals (which no repository path may have).
        var comps = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var domain = "docker.io"
        if comps.count > 1, comps[0].contains(".") || comps[0].contains(":") || comps[0] == "localhost" || comps[0].lowercased() != comps[0] {
            domain = comps.removeFirst()
            guard validDomain(domain) else { throw InvalidReference() }
        }
        if domain == "index.docker.io" { domain = "docker.io" }
        if domain == "docker.io" && comps.count == 1 { comps.insert("library", at: 0) }
        let path = comps.joined(separator: "/")
        guard comps.allSatisfy({ validComponent($0.lowercased()) }) else { throw InvalidReference() }
        if path.lowercased() != path { throw InvalidReference("repository name (\(path)) must be lowercase") }
        guard (domain + "/" + path).utf8.count <= 255 else { throw InvalidReference("repository name must not be more than 255 characters") }
        if defaultTag && tag == nil && digest == nil { tag = "latest" }
        return Reference(domain: domain, path: path, tag: tag, digest: digest)
    }

    /// An image ID rather than a name: 64 hex digits, with or without `sha256:`.
    public static func isID(_ s: String) -> Bool {
        let hex = s.hasPrefix("sha256:") ? s.dropFirst(7) : Substring(s)
        return hex.utf8.count == 64 && hex.utf8.allSatisfy(isLowerHex)
    }

    /// Docker's short form, as the store keeps names: `redis:latest`, `user/app:1`,
    /// `ghcr.io/o/a:2`, `app@sha256:...`.
    public var familiar: String {
        var n = domain == "docker.io" ? (path.hasPrefix("library/") && path.split(separator: "/").count == 2 ? String(path.dropFirst(8)) : path)
            : domain + "/" + path
        if let tag { n += ":" + tag }
        if let digest { n += "@" + digest }
        return n
    }

    public var description: String {
        domain + "/" + path + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    static func isLowerHex(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
    static func isAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) }
    static func isWord(_ c: UInt8) -> Bool { isAlnum(c) || c == 0x5f }

    /// [a-z0-9]+ joined by `.`, `_`, `__` or runs of `-`.
    static func validComponent(_ c: String) -> Bool {
        let b = Array(c.utf8)
        guard let f = b.first, let l = b.last, isAlnum(f), isAlnum(l) else { return false }
        var i = 0
        while i < b.count {
            if isAlnum(b[i]) { i += 1; continue }
            var j = i
            while j < b.count && !isAlnum(b[j]) { j += 1 }
            let sep = String(decoding: b[i..<j], as: UTF8.self)
            guard sep == "." || sep == "_" || sep == "__" || sep.allSatisfy({ $0 == "-" }) else { return false }
            i = j
        }
        return true
    }

    /// host[:port], host a dotted name of [A-Za-z0-9-] labels (not starting or ending in
    /// `-`), or [IPv6].
    static func validDomain(_ d: String) -> Bool {
        var host = Substring(d)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let inner = host[host.index(after: host.startIndex)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
            host = host[host.index(after: close)...]
            if host.isEmpty { return true }
            guard host.hasPrefix(":") else { return false }
            return host.count > 1 && host.dropFirst().allSatisfy(\.isNumber)
        }
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = host[..<colon]
        }
        return !host.isEmpty && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let b = Array(label.utf8)
            guard let f = b.first, let l = b.last, isAlnum(f), isAlnum(l) else { return false }
            return b.allSatisfy { isAlnum($0) || $0 == 0x2d }
        }
    }
}
