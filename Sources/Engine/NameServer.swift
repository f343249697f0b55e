import Network
import OS
#if canImport(Glibc)
import Glibc
#endif

/// DNS for a container on a user network (Network.DNS): a UDP socket made inside its netns
/// on 127.0.0.11 and a port of its own, which that netns's nftables table reaches from
/// 127.0.0.11:53. Answers come from the container's hosts file, read again when it changes.
final class NameServer {
    let sock: FD
    let hostsPath: String
    private var records: [String: [IPv4]] = [:]
    private var hostsStamp: (Int, Int) = (-1, -1)

    init(netns: FD, hostsPath: String) throws {
        self.hostsPath = hostsPath
        guard let sock = FD.socket(inNetns: netns, domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue | SOCK_NONBLOCK.rawValue)) else {
            throw SysError("socket in the container's netns (name server)")
        }
        self.sock = sock
        let s = sock.raw
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = UInt32(0x7f00_000b).bigEndian // 127.0.0.11
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) == 0 && getsockname(s, $0, &len) == 0 }
        }
        guard rc else { throw SysError("bind 127.0.0.11 in the container's netns (name server)") }
        let port = UInt16(bigEndian: sa.sin_port)
        try DNS.redirect(port: port, netnsPath: "/proc/\(getpid())/fd/\(netns.raw)")
    }

    /// The socket of a supervisor before its idle exec (Handover): bound, redirected to.
    init(sock: FD, hostsPath: String) {
        self.sock = sock
        self.hostsPath = hostsPath
    }

    /// Answers what has come in.
    func handle() {
        var buf = [UInt8](repeating: 0, count: 1500)
        for _ in 0..<64 {
            var from = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(sock.raw, &buf, buf.count, 0, $0, &len) }
            }
            guard n > 0 else { return }
            refresh()
            guard let r = DNS.reply(to: Array(buf[..<n]), lookup: { records[$0] }) else { continue }
            _ = withUnsafePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(sock.raw, r, r.count, 0, $0, len) }
            }
        }
    }

    /// The hosts file is rewritten in place as the network changes: reread on a new mtime.
    private func refresh() {
        var st = stat()
        guard stat(hostsPath, &st) == 0 else { return }
        let stamp = (Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec))
        guard stamp != hostsStamp, let text = try? Files.readString(hostsPath) else { return }
        hostsStamp = stamp
        records = DNS.hostsRecords(text)
    }
}
