import OS

/// An image reference normalised as Docker's: `redis` is docker.io/library/redis:latest,
/// `localhost:5000/app:1` stays on localhost:5000, `name@sha256:...` pins a digest.
public struct Reference: Equatable, CustomStringConvertible {
    public var domain: String       // "docker.io", "localhost:5000", "ghcr.io"
    public var path: String         // "library/redis"
    public var tag: String?
    public var digest: String?

    public static func parse(_ s: String) throws -> Reference {
        func bad(_ why: String) -> Failure { Failure("invalid reference format \"\(s)\": \(why)") }
        var rest = Substring(s)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
            let hex = digest!.dropFirst(7)
            guard digest!.hasPrefix("sha256:"), hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw bad("a digest is sha256: and 64 lowercase hex digits")
            }
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard let t = tag, !t.isEmpty, t.count <= 128, t.first != "." && t.first != "-",
                  t.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }), t.allSatisfy(\.isASCII) else {
                throw bad("a tag is up to 128 of [A-Za-z0-9_.-], not starting with . or -")
            }
        }
        var comps = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !comps.isEmpty, !comps.contains(where: \.isEmpty) else { throw bad("empty path component") }
        var domain = "docker.io"
        if comps.count > 1, comps[0].contains(".") || comps[0].contains(":") || comps[0] == "localhost" {
            domain = comps.removeFirst()
        }
        if domain == "index.docker.io" { domain = "docker.io" }
        if domain == "docker.io" && comps.count == 1 { comps.insert("library", at: 0) }
        for c in comps {
            guard c.allSatisfy({ ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }),
                  c.first?.isLetter == true || c.first?.isNumber == true else {
                throw bad(c.contains(where: \.isUppercase) ? "repository name must be lowercase" : "path component \"\(c)\" is not [a-z0-9] separated by . _ -")
            }
        }
        if tag == nil && digest == nil { tag = "latest" }
        return Reference(domain: domain, path: comps.joined(separator: "/"), tag: tag, digest: digest)
    }

    /// Where the registry API is: Docker Hub's is registry-1.docker.io.
    public var host: String { domain == "docker.io" ? "registry-1.docker.io" : domain }

    /// Docker's short form for names in the store: `redis:latest`, `user/app:1`, `ghcr.io/o/a:2`.
    public var familiar: String {
        var n = domain == "docker.io" ? (path.hasPrefix("library/") ? String(path.dropFirst(8)) : path) : domain + "/" + path
        if let tag { n += ":" + tag } else if let digest { n += "@" + digest }
        return n
    }

    public var description: String {
        domain + "/" + path + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    /// Registries on loopback are spoken to over plain HTTP when HTTPS fails, as Docker does.
    public var isLoopback: Bool {
        let h = domain.split(separator: ":").first.map(String.init) ?? domain
        return h == "localhost" || h.hasPrefix("127.") || h == "[::1]"
    }
}
