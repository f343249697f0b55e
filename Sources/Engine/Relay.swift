import OS
#if canImport(Glibc)
import Glibc
#endif

/// `-p` with `--network none`: there is no route into the container, so the supervisor
/// accepts on the host port and connects, from a socket made inside the container's netns,
/// to 127.0.0.1:PORT there. Bytes are copied with read/write in the supervisor's poll loop
/// (FACTS: 1.24-1.36x direct on this kernel; splice was slower). UDP goes per client
/// address: a socket inside connected to the port, forgotten after 60 s without traffic
/// (Docker's proxy keeps UDP flows 90 s).
final class PortRelay {
    struct Listener {
        let fd: Int32          // owned by PortReservations
        let containerPort: Int
        var udp = false
    }

    /// One UDP client: its address on the host side, its socket in the container.
    final class Flow {
        let listener: Int
        let client: sockaddr_in
        let inside: FD
        var lastNs: Int64
        init(listener: Int, client: sockaddr_in, inside: FD, now: Int64) {
            self.listener = listener
            self.client = client
            self.inside = inside
            lastNs = now
        }
    }
    static let flowIdleNs: Int64 = 60_000_000_000
    static let maxFlows = 4096
    var flows: [Flow] = []

    /// When the next idle UDP flow is due to go (the loop wakes for it).
    var nextExpiryNs: Int64? { flows.map(\.lastNs).min().map { $0 + Self.flowIdleNs } }

    /// What one read or datagram takes, shared by every connection and flow (the loop is
    /// single-threaded): pages of its own (over malloc's mmap threshold), untouched until
    /// used and given back when the supervisor idles.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 4096)
    var scratchRegion: iovec { iovec(iov_base: scratch.baseAddress, iov_len: scratch.count) }
    deinit { scratch.deallocate() }

    /// One direction's bytes that the other side could not take yet.
    struct Buf {
        var data: [UInt8] = []
        var off = 0, len = 0
        var empty: Bool { len == 0 }
    }

    final class Conn {
        let a: FD               // the client, on the host
        let b: FD               // the container side
        var connected = false
        var ab = Buf(), ba = Buf()
        var aEOF = false, bEOF = false
        var aShut = false, bShut = false
        var dead = false
        init(a: FD, b: FD) { self.a = a; self.b = b }
        var done: Bool { dead || (aEOF && bEOF && ab.empty && ba.empty) }
    }

    static let pollRDHUP: Int32 = 0x2000
    var listeners: [Listener] = []
    var conns: [Conn] = []
    /// The container's netns of the current run (nil between runs).
    var netns: FD?
    /// The clock flows age by (a fake one in RelayUnitTests).
    var now: () -> Int64 = Time.monotonicNanos

    init(listeners: [Listener]) { self.listeners = listeners }

    /// Connections die with the container they went to.
    func reset() {
        conns = []
        flows = []
        netns = nil
    }

    func pollfds() -> [pollfd] {
        var out: [pollfd] = listeners.map { pollfd(fd: netns == nil ? -1 : $0.fd, events: Int16(POLLIN), revents: 0) }
        for c in conns {
            var ea: Int32 = 0, eb: Int32 = 0
            if c.ab.empty && !c.aEOF { ea |= Int32(POLLIN) }
            if !c.ba.empty { ea |= Int32(POLLOUT) }
            if !c.connected {
                // Until the container accepts: only a client that gives up (POLLRDHUP), so a
                // request already sent does not spin the loop.
                ea = Self.pollRDHUP
                eb = Int32(POLLOUT)
            } else {
                if c.ba.empty && !c.bEOF { eb |= Int32(POLLIN) }
                if !c.ab.empty { eb |= Int32(POLLOUT) }
            }
            out.append(pollfd(fd: c.a.raw, events: Int16(ea), revents: 0))
            out.append(pollfd(fd: c.b.raw, events: Int16(eb), revents: 0))
        }
        for f in flows { out.append(pollfd(fd: f.inside.raw, events: Int16(POLLIN), revents: 0)) }
        return out
    }

    /// `fds` is what pollfds() returned, after poll.
    func handle(_ fds: ArraySlice<pollfd>) {
        let base = fds.startIndex
        let before = conns // what was polled; accept adds to conns
        let polledFlows = flows
        for (i, l) in listeners.enumerated() where fds[base + i].revents != 0 {
            if l.udp { datagrams(from: i) } else { accept(l) }
        }
        let flowBase = base + listeners.count + 2 * before.count
        for (k, f) in polledFlows.enumerated() where fds[flowBase + k].revents != 0 { replies(f) }
        let t = now()
        flows.removeAll { t - $0.lastNs >= Self.flowIdleNs }
        for (j, c) in before.enumerated() {
            let ra = fds[base + listeners.count + 2 * j].revents, rb = fds[base + listeners.count + 2 * j + 1].revents
            if !c.connected {
                if ra & Int16(Self.pollRDHUP | Int32(POLLHUP | POLLERR)) != 0 { c.dead = true; continue }
                guard rb != 0 else { continue }
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(c.b.raw, SOL_SOCKET, SO_ERROR, &err, &len)
                if err != 0 { c.dead = true; continue }
                c.connected = true
            }
            pump(c, from: c.a, to: c.b, &c.ab, readable: ra, writable: rb, eof: &c.aEOF, shut: &c.bShut)
            pump(c, from: c.b, to: c.a, &c.ba, readable: rb, writable: ra, eof: &c.bEOF, shut: &c.aShut)
        }
        conns.removeAll { $0.done }
    }

    /// Copies while both sides keep up (a bounded number of rounds per wake-up, so one busy
    /// connection cannot starve the others or the container's log).
    func pump(_ c: Conn, from: FD, to: FD, _ buf: inout Buf, readable: Int16, writable: Int16, eof: inout Bool, shut: inout Bool) {
        guard !c.dead else { return }
        var canRead = readable & Int16(POLLIN | POLLHUP | POLLERR) != 0
        for _ in 0..<16 {
            if buf.empty && !eof && canRead {
                // Read into the shared scratch and write straight on; only what the other
                // side cannot take yet is kept by the connection.
                let n = read(from.raw, scratch.baseAddress, scratch.count)
                if n == 0 { eof = true } else if n < 0 {
                    if errno != EAGAIN && errno != EINTR { c.dead = true; return }
                    canRead = false
                } else {
                    let w = write(to.raw, scratch.baseAddress, n)
                    if w < 0 && errno != EAGAIN && errno != EINTR { c.dead = true; return }
                    let sent = max(w, 0)
                    if sent < n {
                        buf.data = Array(UnsafeRawBufferPointer(rebasing: scratch[sent..<n]))
                        buf.off = 0
                        buf.len = n - sent
                        break
                    }
                    continue
                }
            }
            guard !buf.empty else { break }
            let n = buf.data.withUnsafeBytes { write(to.raw, $0.baseAddress! + buf.off, buf.len) }
            if n > 0 { buf.off += n; buf.len -= n } else if n < 0 && errno != EAGAIN && errno != EINTR { c.dead = true; return } else { break }
            if buf.empty { buf.data = [] } // drained: an idle connection keeps no buffer
            if !buf.empty || !canRead { break }
        }
        // One side finished sending: the other learns it once everything has reached it.
        if eof && buf.empty && !shut {
            shutdown(to.raw, Int32(SHUT_WR))
            shut = true
        }
    }

    /// Client datagrams on a UDP port, each to its flow's socket in the container.
    func datagrams(from i: Int) {
        guard let ns = netns else { return }
        for _ in 0..<64 {
            var from = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(listeners[i].fd, scratch.baseAddress, 65536, 0, $0, &len) }
            }
            if n < 0 { return }
            let flow: Flow
            if let f = flows.first(where: { $0.listener == i && $0.client.sin_addr.s_addr == from.sin_addr.s_addr && $0.client.sin_port == from.sin_port }) {
                flow = f
            } else {
                // Each flow holds a socket: a flood from many (spoofable) addresses must not
                // take every fd the supervisor has.
                guard flows.count < Self.maxFlows else { continue }
                guard let inside = FD.socket(inNetns: ns, domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue | SOCK_NONBLOCK.rawValue)) else { continue }
                let s = inside.raw
                var to = sockaddr_in()
                to.sin_family = sa_family_t(AF_INET)
                to.sin_port = UInt16(listeners[i].containerPort).bigEndian
                to.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
                let rc = withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                guard rc == 0 else { continue }
                flow = Flow(listener: i, client: from, inside: inside, now: now())
                flows.append(flow)
            }
            flow.lastNs = now()
            _ = send(flow.inside.raw, scratch.baseAddress, n, 0)
        }
    }

    /// The container's answers, back to the client from the published port.
    func replies(_ f: Flow) {
        var client = f.client
        for _ in 0..<64 {
            let n = recv(f.inside.raw, scratch.baseAddress, 65536, 0)
            if n < 0 { return }
            f.lastNs = now()
            _ = withUnsafePointer(to: &client) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(listeners[f.listener].fd, scratch.baseAddress, n, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
    }

    func accept(_ l: Listener) {
        guard let ns = netns else { return }
        while true {
            guard let client = FD.acceptNonBlocking(l.fd) else { return }
            // Without a socket inside, the client sees its connection closed.
            guard let inside = FD.socket(inNetns: ns, domain: AF_INET, type: Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue)) else { continue }
            let b = inside.raw
            // The container's listener may complete a handshake it then never accepts (its
            // queue full: busybox httpd listens with a backlog of 9). This side then thinks
            // it is connected, and the request or FIN it sends is retransmitted for ~15
            // minutes (tcp_retries2) while both fds stay open: after wrk -c1000 with
            // timeouts, 778 of ~1000 connections were still held 60 s later. Data unacked
            // for 10 s ends it; a listening kernel acks in microseconds, however slow the
            // app is to answer, so only such a connection hits it.
            var timeoutMs: UInt32 = 10_000
            _ = setsockopt(b, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &timeoutMs, socklen_t(MemoryLayout<UInt32>.size))
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = UInt16(l.containerPort).bigEndian
            sa.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(b, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 || errno == EINPROGRESS else { continue }
            let c = Conn(a: client, b: inside)
            c.connected = rc == 0
            conns.append(c)
        }
    }
}
