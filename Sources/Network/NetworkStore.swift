import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// A root's networks: networks/<name>.json, plus Docker's built-in "bridge" (swiftrun0 on
/// 10.88.0.0/16, or SWIFTRUN_BRIDGE_SUBNET), "host" and "none".
public struct NetworkStore {
    public let root: String
    var dir: String { root + "/networks" }

    public init(root: String) { self.root = root }

    public static let builtinModes = ["bridge", "host", "none"]

    public static func defaultBridge() throws -> NetworkRecord {
        let cidr = Environment.get("SWIFTRUN_BRIDGE_SUBNET") ?? "10.88.0.0/16"
        guard let s = Subnet(cidr), s.prefix <= 30 else {
            throw NetworkError("SWIFTRUN_BRIDGE_SUBNET=\(cidr) is not an IPv4 network (CIDR with the network address, prefix at most /30)")
        }
        return NetworkRecord(Name: "bridge", Id: stableID("bridge:" + cidr), Subnet: s.description, Gateway: s.gateway.description,
                             Bridge: "swiftrun0", Created: "0001-01-01T00:00:00Z")
    }

    /// A 64-hex ID that is the same every time for the same input (FNV-1a, widened).
    static func stableID(_ s: String) -> String {
        var out = ""
        for salt in 0..<4 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 &+ UInt64(salt)
            for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            out += String(h, radix: 16).leftPad(16)
        }
        return out
    }

    /// Docker's rule for network names; also keeps a reference inside networks/.
    static func validName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        return u.count >= 1 && u.count <= 64 && u[0] != 0x2e && u[0] != 0x2d && u.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f || $0 == 0x2e || $0 == 0x2d
        }
    }

    public func get(_ ref: String) throws -> NetworkRecord {
        if ref == "bridge" { return try Self.defaultBridge() }
        if Self.validName(ref), let r = try? JSON.decode(NetworkRecord.self, from: Files.read(dir + "/" + ref + ".json"), what: "network \(ref)") { return r }
        let byID = list().filter { $0.Id.hasPrefix(ref) && ref.count >= 3 }
        if byID.count == 1 { return byID[0] }
        throw NetworkError("network \(ref) not found (`swiftrun network ls` lists them; `swiftrun network create \(ref)` makes it)")
    }

    public func list() -> [NetworkRecord] {
        let user = ((try? Files.list(dir)) ?? []).filter { $0.hasSuffix(".json") }.compactMap {
            try? JSON.decode(NetworkRecord.self, from: Files.read(dir + "/" + $0), what: "network")
        }
        return ((try? Self.defaultBridge()).map { [$0] } ?? []) + user.sorted { $0.Name < $1.Name }
    }

    /// `network create`: a name like a container's, a subnet that overlaps nothing this root
    /// has and no route of the host (10.89.N.0/24 by default, as podman chooses).
    public func create(name: String, subnet: String?, isInternal: Bool, labels: [String: String], now: String) throws -> NetworkRecord {
        guard !Self.builtinModes.contains(name) else { throw NetworkError("network name \(name) is reserved (bridge, host, none are built in)") }
        guard Self.validName(name) else {
            throw NetworkError("invalid network name \"\(name)\": use [a-zA-Z0-9][a-zA-Z0-9_.-], at most 64 characters")
        }
        try Files.mkdirAll(dir, mode: 0o700)
        let existing = list()
        if existing.contains(where: { $0.Name == name }) { throw NetworkError("network with name \(name) already exists") }
        let taken = existing.map { $0.subnet } + HostNetwork.hostRoutes().map { $0.subnet } + HostNetwork.activeSubnets()
        let chosen: Subnet
        if let s = subnet {
            guard let sn = Subnet(s), sn.prefix >= 8, sn.prefix <= 30 else {
                throw NetworkError("invalid --subnet \(s): an IPv4 network in CIDR form with its network address, /8 to /30 (e.g. 10.90.0.0/24)")
            }
            if let clash = taken.first(where: { $0.overlaps(sn) }) {
                throw NetworkError("invalid --subnet \(s): it overlaps \(clash), which is in use (a network or a route of the host)")
            }
            chosen = sn
        } else {
            guard let free = (0..<256).lazy.map({ Subnet(base: IPv4(0x0A59_0000 | UInt32($0) << 8), prefix: 24) })
                .first(where: { c in !taken.contains(where: { $0.overlaps(c) }) }) else {
                throw NetworkError("no free subnet left in 10.89.0.0/16: pass --subnet")
            }
            chosen = free
        }
        var g = SystemRandomNumberGenerator()
        let id = (0..<32).map { _ in String(UInt8.random(in: 0...255, using: &g), radix: 16).leftPad(2) }.joined()
        let rec = NetworkRecord(Name: name, Id: id, Subnet: chosen.description, Gateway: chosen.gateway.description,
                                Bridge: "swr-" + String(id.prefix(8)), Created: now, Labels: labels, Internal: isInternal)
        // O_EXCL: two concurrent creates of one name, one winner.
        let path = dir + "/" + name + ".json"
        let fd = sr_open_excl(path)
        guard fd >= 0 else {
            if errno == EEXIST { throw NetworkError("network with name \(name) already exists") }
            throw SysError("open", path)
        }
        try FD(fd).writeAll(try JSON.encode(rec))
        return rec
    }

    public func remove(_ rec: NetworkRecord) throws {
        guard !Self.builtinModes.contains(rec.Name) else { throw NetworkError("\(rec.Name) is a pre-defined network and cannot be removed") }
        if unlink(dir + "/" + rec.Name + ".json") != 0 { throw SysError("unlink", dir + "/" + rec.Name + ".json") }
        // Its bridge may be lingering after its last container (HostNetwork.lingerNanos): a
        // removed network's goes now, as Docker's does, and frees its subnet.
        HostNetwork.teardownIfUnused(locking: rec.Bridge)
    }
}

func sr_open_excl(_ path: String) -> Int32 { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }


extension HostNetwork {
    /// Subnets of the bridges up now (any root's).
    static func activeSubnets() -> [Subnet] {
        bridges().compactMap { b in
            (try? JSON.decode(NetworkRecord.self, from: Files.read(bridgeDir(b) + "/network.json"), what: "network")).map { $0.subnet }
        }
    }
}

/// What a container finds in /etc: resolv.conf and the start of its hosts file.
public enum HostFiles {
    /// The host's resolv.conf, minus nameservers a container cannot reach (loopback: the
    /// host's systemd-resolved or dnsmasq); Docker's fallback when none is left. --dns,
    /// --dns-search and --dns-option replace the host's lines of their kind.
    public static func resolvConf(host: String, dns: [String], search: [String], options: [String]) -> String {
        var ns: [String] = [], se: [String] = [], op: [String] = []
        for line in host.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard f.count >= 2 else { continue }
            switch f[0] {
            case "nameserver": if !(IPv4(f[1])?.isLoopback ?? (f[1] == "::1")) { ns.append(f[1]) }
            case "search", "domain": se = Array(f.dropFirst())
            case "options": op += f.dropFirst()
            default: break
            }
        }
        if !dns.isEmpty { ns = dns }
        if ns.isEmpty { ns = ["8.8.8.8", "8.8.4.4"] }
        if !search.isEmpty { se = search == ["."] ? [] : search }
        if !options.isEmpty { op = options }
        var s = ""
        if !se.isEmpty { s += "search " + se.joined(separator: " ") + "\n" }
        for n in ns { s += "nameserver \(n)\n" }
        if !op.isEmpty { s += "options " + op.joined(separator: " ") + "\n" }
        return s
    }

    /// Docker's /etc/hosts lines, then --add-host entries; the container's own addresses
    /// follow (HostNetwork.hostsFile).
    public static func hostsBase(extra: [(host: String, ip: String)]) -> String {
        var s = """
        127.0.0.1\tlocalhost
        ::1\tlocalhost ip6-localhost ip6-loopback
        fe00::0\tip6-localnet
        ff00::0\tip6-mcastprefix
        ff02::1\tip6-allnodes
        ff02::2\tip6-allrouters

        """
        for e in extra { s += "\(e.ip)\t\(e.host)\n" }
        return s
    }
}
