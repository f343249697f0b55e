import OS
#if canImport(Glibc)
import Glibc
#endif

/// nftables through `nft -f -`: one transaction per change, in tables only swiftrun makes
/// (`ip swiftrun-*`); never a rule in anybody else's table.
enum NFT {
    static var path: String? {
        ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { access($0, X_OK) == 0 }
    }

    /// Runs `script` as one transaction; with `inNetns`, in that network namespace (a
    /// container's, through nsenter).
    static func apply(_ script: String, inNetns nsPath: String? = nil) throws {
        guard let nft = path else {
            throw NetworkError("nft not found: published ports, outbound NAT and names on user networks need nftables (apt-get install nftables; `make deps` does it)")
        }
        var argv = [nft, "-f", "-"]
        if let ns = nsPath {
            let candidates: [String] = ["/usr/bin/nsenter", "/bin/nsenter"]
            guard let nsenter = candidates.first(where: { access($0, X_OK) == 0 }) else {
                throw NetworkError("nsenter not found: names on user networks need it (apt-get install util-linux)")
            }
            argv = [nsenter, "--net=" + ns, "--"] + argv
        }
        let r = try Subprocess.run(argv[0], args: argv, env: [], input: Array(script.utf8), timeoutSeconds: 20, captureOutput: true)
        guard r.status == 0 else {
            let msg = String(decoding: r.output, as: UTF8.self).trimmed()
            let place = nsPath.map { " in \($0)" } ?? ""
            throw NetworkError("nft -f -\(place) failed (exit \(r.status)\(r.timedOut ? ", timed out" : "")): \(msg)")
        }
    }

    /// Replaces a table atomically (add + delete first makes it idempotent on nft 1.0.6,
    /// which has no `destroy`).
    static func replaceTable(_ name: String, _ body: String) throws {
        try apply("add table ip \(name)\ndelete table ip \(name)\ntable ip \(name) {\n\(body)}\n")
    }

    static func deleteTable(_ name: String) throws {
        try apply("add table ip \(name)\ndelete table ip \(name)\n")
    }

    /// The table of one bridge network: outbound NAT, 127.0.0.1 reaching published ports
    /// (DNAT from loopback needs a masquerade), container → host port → container
    /// (hairpin), and no forwarding between two swiftrun networks (bridges are all named
    /// swiftrun0 or swr-*). An internal network forwards nothing off its bridge.
    static func networkTable(bridge: String, subnet: Subnet, isInternal: Bool) -> String {
        var fwd = ""
        if isInternal {
            fwd += "    iifname \"\(bridge)\" oifname != \"\(bridge)\" drop\n"
            fwd += "    oifname \"\(bridge)\" iifname != \"\(bridge)\" drop\n"
        } else {
            if bridge != "swiftrun0" { fwd += "    iifname \"\(bridge)\" oifname \"swiftrun0\" drop\n" }
            fwd += "    iifname \"\(bridge)\" oifname \"swr-*\" oifname != \"\(bridge)\" drop\n"
        }
        return """
          chain postrouting { type nat hook postrouting priority srcnat; policy accept;
        \(isInternal ? "" : "    ip saddr \(subnet) oifname != \"\(bridge)\" masquerade\n")\
            oifname "\(bridge)" ip saddr 127.0.0.0/8 masquerade
            oifname "\(bridge)" ip saddr \(subnet) ct status dnat masquerade
          }
          chain filter_forward { type filter hook forward priority filter; policy accept;
        \(fwd)  }
        \(portMaps())
        """
    }

    /// Published ports are elements of the network table's maps (host port, or host
    /// address and port → container address and port): adding one is a set update, not a
    /// new base chain (the kernel makes a nat hook in about 30 ms, an element in 5).
    static func portMaps() -> String {
        var s = ""
        for proto in ["tcp", "udp"] {
            s += "  map \(proto)_any { type inet_service : ipv4_addr . inet_service; }\n"
            s += "  map \(proto)_ip { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n"
        }
        // From outside (prerouting) and from the host itself (output); only packets to
        // the host's own addresses, never traffic passing through or leaving.
        var rules = ""
        for proto in ["tcp", "udp"] {
            rules += "    fib daddr type local dnat ip to ip daddr . \(proto) dport map @\(proto)_ip\n"
            rules += "    fib daddr type local dnat ip to \(proto) dport map @\(proto)_any\n"
        }
        s += "  chain prerouting { type nat hook prerouting priority dstnat; policy accept;\n\(rules)  }\n"
        s += "  chain output { type nat hook output priority -100; policy accept;\n\(rules)  }\n"
        return s
    }

    static func portElements(_ ports: [PortBinding], to ip: IPv4) -> [(map: String, element: String, key: String)] {
        ports.map { p in
            let key = p.hostIP.isEmpty ? "\(p.hostPort)" : "\(p.hostIP) . \(p.hostPort)"
            return ("\(p.proto)_\(p.hostIP.isEmpty ? "any" : "ip")", "\(key) : \(ip) . \(p.containerPort)", key)
        }
    }

    static func publish(table: String, _ ports: [PortBinding], to ip: IPv4) throws {
        try apply(portElements(ports, to: ip).map { "add element ip \(table) \($0.map) { \($0.element) }\n" }.joined())
    }

    /// One transaction; if it fails (an element already gone), each on its own.
    static func unpublish(table: String, _ ports: [PortBinding]) {
        let lines = portElements(ports, to: IPv4(0)).map { "delete element ip \(table) \($0.map) { \($0.key) }\n" }
        if (try? apply(lines.joined())) == nil {
            for l in lines { try? apply(l) }
        }
    }
}
