/// IPv4 addresses and subnets (host byte order inside; netlink wants network order).
public struct IPv4: Hashable, Comparable, Codable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init?(_ s: String) {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)"
    }

    public var networkOrder: UInt32 { value.bigEndian }
    public var isLoopback: Bool { value >> 24 == 127 }
    public static func < (a: IPv4, b: IPv4) -> Bool { a.value < b.value }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let ip = IPv4(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 address: \(s)"))
        }
        self = ip
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

public struct Subnet: Hashable, CustomStringConvertible {
    public var base: IPv4
    public var prefix: Int

    /// "10.88.0.0/16"; the base must be the network address.
    public init?(_ cidr: String) {
        let parts = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let ip = IPv4(String(parts[0])), let p = Int(parts[1]), (0...32).contains(p) else { return nil }
        let s = Subnet(base: ip, prefix: p)
        guard s.base == ip else { return nil }
        self = s
    }

    public init(base: IPv4, prefix: Int) {
        self.prefix = prefix
        self.base = IPv4(base.value & Subnet.mask(prefix))
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix) }

    public var mask: UInt32 { Subnet.mask(prefix) }
    public var broadcast: IPv4 { IPv4(base.value | ~mask) }
    public var description: String { "\(base)/\(prefix)" }
    /// Docker's and podman's choice: the first address is the bridge's.
    public var gateway: IPv4 { IPv4(base.value + 1) }
    /// Addresses a container may get: after the gateway, before the broadcast address.
    public var hostRange: ClosedRange<UInt32> { (base.value + 2)...(broadcast.value - 1) }

    public func contains(_ ip: IPv4) -> Bool { ip.value & mask == base.value }
    public func overlaps(_ o: Subnet) -> Bool { contains(o.base) || o.contains(base) }
}

/// One published port: Docker's PortBinding plus the container side.
public struct PortBinding: Codable, Equatable, Hashable {
    public var hostIP: String        // "" = every address of the host
    public var hostPort: Int         // 0 until chosen (ephemeral)
    public var hostPortEnd: Int      // == hostPort, or the end of a range to choose one from
    public var containerPort: Int
    public var proto: String         // "tcp" or "udp"

    public init(hostIP: String, hostPort: Int, hostPortEnd: Int? = nil, containerPort: Int, proto: String) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.hostPortEnd = hostPortEnd ?? hostPort
        self.containerPort = containerPort
        self.proto = proto
    }

    /// Docker's key: "8080/tcp".
    public var key: String { "\(containerPort)/\(proto)" }

    /// `-p [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]` with ranges, as Docker reads it.
    public static func parse(_ spec: String) throws -> [PortBinding] {
        func bad(_ why: String) -> NetworkError { NetworkError("invalid port spec '\(spec)': \(why); use [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp], e.g. 8000:8000 or 127.0.0.1:8000:80/tcp") }
        var rest = Substring(spec)
        var proto = "tcp"
        if let slash = rest.lastIndex(of: "/") {
            proto = String(rest[rest.index(after: slash)...]).lowercased()
            rest = rest[..<slash]
            guard proto == "tcp" || proto == "udp" else {
                throw bad(proto == "sctp" ? "sctp is not supported" : "unknown protocol '\(proto)'")
            }
        }
        var ip = ""
        // An IPv6 host address comes in brackets.
        if rest.hasPrefix("[") {
            throw bad("IPv6 host addresses are not supported (swiftrun publishes IPv4)")
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let hostPart: String, containerPart: String
        switch parts.count {
        case 1: hostPart = ""; containerPart = parts[0]
        case 2: hostPart = parts[0]; containerPart = parts[1]
        case 3: ip = parts[0]; hostPart = parts[1]; containerPart = parts[2]
        default: throw bad("too many ':'")
        }
        if !ip.isEmpty {
            guard let a = IPv4(ip) else { throw bad("'\(ip)' is not an IPv4 address") }
            ip = a.value == 0 ? "" : a.description
        }
        func range(_ s: String, what: String) throws -> ClosedRange<Int> {
            let ends = s.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(ends.count), let lo = Int(ends[0]), let hi = Int(ends.last!), lo >= 1, hi <= 65535, lo <= hi else {
                throw bad("'\(s)' is not a \(what) port or range (1-65535)")
            }
            return lo...hi
        }
        guard !containerPart.isEmpty else { throw bad("no container port") }
        let c = try range(containerPart, what: "container")
        if hostPart.isEmpty {
            return c.map { PortBinding(hostIP: ip, hostPort: 0, containerPort: $0, proto: proto) }
        }
        let h = try range(hostPart, what: "host")
        if h.count == c.count {
            return zip(h, c).map { PortBinding(hostIP: ip, hostPort: $0, containerPort: $1, proto: proto) }
        }
        // Docker: a host range for one container port means "any free port of the range".
        guard c.count == 1 else { throw bad("the host range \(hostPart) and the container range \(containerPart) differ in length") }
        return [PortBinding(hostIP: ip, hostPort: h.lowerBound, hostPortEnd: h.upperBound, containerPort: c.lowerBound, proto: proto)]
    }

    /// "8080/tcp" or "8080" (an image's ExposedPorts key).
    public static func exposed(_ key: String) -> (port: Int, proto: String)? {
        let parts = key.split(separator: "/").map(String.init)
        guard let p = Int(parts.first ?? ""), (1...65535).contains(p) else { return nil }
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard proto == "tcp" || proto == "udp" else { return nil }
        return (p, proto)
    }
}

public struct NetworkError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
