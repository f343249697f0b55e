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

    static func apply(_ script: String) throws {
        guard let nft = path else {
            throw NetworkError("nft not found: published ports and outbound NAT need nftables (apt-get install nftables; `make deps` does it)")
        }
        let r = try Subprocess.run(nft, args: [nft, "-f", "-"], env: [], input: Array(script.utf8), timeoutSeconds: 20,
                                   captureOutput: true)
        guard r.status == 0 else {
            let msg = String(decoding: r.output, as: UTF8.self).trimmed()
            throw NetworkError("nft -f - failed (exit \(r.status)\(r.timedOut ? ", timed out" : "")): \(msg)")
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

        """
    }

    /// One container's published ports: DNAT for packets to the host's addresses (from
    /// outside in prerouting, from the host itself in output).
    static func portTable(_ ports: [PortBinding], to ip: IPv4) -> String {
        var rules = ""
        for p in ports {
            let dst = p.hostIP.isEmpty ? "fib daddr type local" : "ip daddr \(p.hostIP)"
            rules += "    \(dst) \(p.proto) dport \(p.hostPort) dnat to \(ip):\(p.containerPort)\n"
        }
        return """
          chain prerouting { type nat hook prerouting priority dstnat; policy accept;
        \(rules)  }
          chain output { type nat hook output priority -100; policy accept;
        \(rules)  }

        """
    }
}
