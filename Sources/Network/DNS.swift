/// The names of a user network over DNS: what a container's hosts file says, for tools that
/// ask DNS only (nslookup, dig) where libc reads the hosts file itself. The supervisor
/// answers on 127.0.0.11:53 in the container's netns (a DNAT there to a port of its own, so
/// that a DNS server the user runs in the container keeps port 53); names it does not know
/// get REFUSED, and the resolver goes on to the next nameserver, the host's.
public enum DNS {
    public static let address = "127.0.0.11"
    static let ttl: UInt32 = 600

    /// The reply to one query, or nil when it is not a query to answer (a reply, a
    /// truncated or compressed question, several questions).
    public static func reply(to q: [UInt8], lookup: (String) -> [IPv4]?) -> [UInt8]? {
        guard q.count >= 12, q[2] & 0x80 == 0, q[4] == 0, q[5] == 1 else { return nil }
        let opcode = (q[2] >> 3) & 0x0f
        var i = 12
        var labels: [String] = []
        while i < q.count, q[i] != 0 {
            let n = Int(q[i])
            guard n < 64, i + 1 + n <= q.count else { return nil } // no compression in a question
            labels.append(String(decoding: q[(i + 1)..<(i + 1 + n)], as: UTF8.self))
            i += 1 + n
        }
        guard i + 5 <= q.count else { return nil }
        let questionEnd = i + 5
        let qtype = UInt16(q[i + 1]) << 8 | UInt16(q[i + 2])
        let qclass = UInt16(q[i + 3]) << 8 | UInt16(q[i + 4])
        let name = labels.joined(separator: ".").lowercased()

        var rcode: UInt8 = 5 // REFUSED: not ours, ask the next server
        var answers: [IPv4] = []
        if opcode == 0, qclass == 1, !name.isEmpty, let ips = lookup(name) {
            rcode = 0
            if qtype == 1 || qtype == 255 { answers = ips } // A or ANY; AAAA and the rest: no data
        }
        var r: [UInt8] = [q[0], q[1]]
        r.append(0x80 | (opcode << 3) | 0x04 | (q[2] & 0x01)) // QR, opcode, AA, RD as asked
        r.append(0x80 | rcode)                                 // RA
        r += [0, 1, UInt8(answers.count >> 8), UInt8(answers.count & 0xff), 0, 0, 0, 0]
        r += q[12..<questionEnd]
        for ip in answers {
            r += [0xc0, 0x0c, 0, 1, 0, 1]
            r += [UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xff), UInt8((ttl >> 8) & 0xff), UInt8(ttl & 0xff)]
            r += [0, 4, UInt8(ip.value >> 24), UInt8((ip.value >> 16) & 0xff), UInt8((ip.value >> 8) & 0xff), UInt8(ip.value & 0xff)]
        }
        return r
    }

    /// name (lowercased) -> IPv4 addresses, from a hosts file's text.
    public static func hostsRecords(_ text: String) -> [String: [IPv4]] {
        var out: [String: [IPv4]] = [:]
        for line in text.split(separator: "\n") {
            let f = line.prefix { $0 != "#" }.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 2, let ip = IPv4(String(f[0])) else { continue }
            for n in f.dropFirst() {
                let k = n.lowercased()
                if !(out[k]?.contains(ip) ?? false) { out[k, default: []].append(ip) }
            }
        }
        return out
    }

    /// Sends 127.0.0.11:53 to the responder's port, in the netns at nsPath (it goes with it).
    public static func redirect(port: UInt16, netnsPath: String) throws {
        try NFT.apply(redirectTable(port: port), inNetns: netnsPath)
    }

    /// The container netns's nftables table that sends 127.0.0.11:53 to the responder's port.
    public static func redirectTable(port: UInt16) -> String {
        """
        table ip swiftrun-dns {
          chain out {
            type nat hook output priority -100; policy accept;
            ip daddr \(address) udp dport 53 dnat to \(address):\(port)
          }
          chain post {
            type nat hook postrouting priority 100; policy accept;
            ip saddr \(address) udp sport \(port) snat to \(address):53
          }
        }

        """
    }
}
