#if canImport(Glibc)
import Glibc
#endif
import CShim

/// An owned file descriptor, closed when the last reference goes away.
public final class FD {
    public private(set) var raw: Int32

    public init(_ raw: Int32) { self.raw = raw }

    deinit { if raw >= 0 { Glibc.close(raw) } }

    /// A CLOEXEC copy of `fd` (one of ours, such as stdout), so that nothing we spawn inherits it.
    public convenience init(checkedDup fd: Int32) throws {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw SysError("fcntl F_DUPFD_CLOEXEC", "fd \(fd)") }
        self.init(copy)
    }

    /// Gives the descriptor up without closing it.
    public func release() -> Int32 {
        let r = raw
        raw = -1
        return r
    }

    public func close() {
        if raw >= 0 { Glibc.close(raw) }
        raw = -1
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> FD {
        let fd = sr_open_cloexec(path, flags, Int32(mode))
        guard fd >= 0 else { throw SysError("open", path) }
        return FD(fd)
    }

    public func writeAll(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(raw, $0.baseAddress, $0.count) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw SysError("write")
            }
            off += n
        }
    }

    /// Reads exactly `count` bytes; nil on a clean EOF before the first byte.
    public func readExactly(_ count: Int) throws -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: count)
        var off = 0
        while off < count {
            let n = buf.withUnsafeMutableBytes { Glibc.read(raw, $0.baseAddress! + off, count - off) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw SysError("read")
            }
            if n == 0 {
                if off == 0 { return nil }
                throw SysError("read", errno: EPROTO)
            }
            off += n
        }
        return buf
    }

    public func readToEnd() throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(raw, $0.baseAddress, $0.count) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw SysError("read")
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

extension FD {
    /// pipe2(O_CLOEXEC).
    public static func pipe() throws -> (r: FD, w: FD) {
        var fds: [Int32] = [-1, -1]
        guard sr_pipe_cloexec(&fds) == 0 else { throw SysError("pipe2") }
        return (FD(fds[0]), FD(fds[1]))
    }

    /// A unix stream socket pair, CLOEXEC: a pipe both ways that can carry fds.
    public static func socketPair() throws -> (FD, FD) {
        var fds: [Int32] = [-1, -1]
        guard sr_socketpair_cloexec(&fds) == 0 else { throw SysError("socketpair") }
        return (FD(fds[0]), FD(fds[1]))
    }

    /// O_PATH: a handle on a file (a binary to exec by fd) that cannot read or write it.
    public static func openPath(_ path: String, cloexec: Bool = true) throws -> FD {
        let fd = sr_open_path(path, cloexec ? 1 : 0)
        guard fd >= 0 else { throw SysError("open O_PATH", path) }
        return FD(fd)
    }

    /// Opens `path` for reading inside this directory: symlinks resolve inside it
    /// (RESOLVE_IN_ROOT), so an image's links cannot point us at the host's files.
    public func openInside(_ path: String) -> FD? {
        let fd = sr_open_in_dir(raw, path)
        return fd >= 0 ? FD(fd) : nil
    }

    /// Opens `path` inside this directory as if it were the root (RESOLVE_IN_ROOT: `..` and
    /// absolute symlinks stay inside; no magic links): the way into an image's or a
    /// container's tree from the host (CVE-2018-15664, CVE-2019-14271).
    public func openInRoot(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> FD {
        let fd = sr_openat2(raw, path, flags, Int32(mode), 0x10 | 0x02) // RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
        guard fd >= 0 else { throw SysError("openat2", path) }
        return FD(fd)
    }

    /// An anonymous file (memfd_create), CLOEXEC unless told.
    public static func memfd(_ name: String, cloexec: Bool = true) throws -> FD {
        let fd = sr_memfd_create(name, cloexec ? 1 : 0) // MFD_CLOEXEC
        guard fd >= 0 else { throw SysError("memfd_create", name) }
        return FD(fd)
    }

    /// flock(2); false if it would block (LOCK_NB) or failed.
    public func lock(_ op: Int32) -> Bool { sr_flock(raw, op) == 0 }

    /// One message on the socket `sock` with an fd passed along (SCM_RIGHTS).
    @discardableResult
    public static func send(_ bytes: [UInt8], on sock: Int32, passing fd: Int32) -> Bool {
        bytes.withUnsafeBytes { sr_send_with_fd(sock, $0.baseAddress, $0.count, fd) } >= 0
    }

    /// One read of a socket into `buf`; an fd sent with it is returned too. n: bytes, 0 at
    /// EOF, < 0 on an error.
    public func receive(into buf: inout [UInt8]) -> (n: Int, passed: FD?) {
        var got: Int32 = -1
        let n = buf.withUnsafeMutableBytes { sr_recv_once(raw, $0.baseAddress, $0.count, &got) }
        return (n, got >= 0 ? FD(got) : nil)
    }

    /// A socket in the network namespace `netns` (domain, type as socket(2)), CLOEXEC.
    public static func socket(inNetns netns: FD, domain: Int32, type: Int32) -> FD? {
        let s = sr_socket_in(netns.raw, domain, type, 0)
        return s >= 0 ? FD(s) : nil
    }

    /// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) on `listener`; nil when none is waiting (or an error).
    public static func acceptNonBlocking(_ listener: Int32) -> FD? {
        let a = sr_accept_nb(listener)
        return a >= 0 ? FD(a) : nil
    }
}

extension FD {
    /// Our stdin, as an FD of its own (a dup: closing it leaves fd 0 open).
    public static func standardInput() throws -> FD {
        let fd = fcntl(0, F_DUPFD_CLOEXEC, 0)
        guard fd >= 0 else { throw SysError("fcntl F_DUPFD_CLOEXEC", "standard input") }
        return FD(fd)
    }
}

/// Codable as its number, for state carried across an exec (a supervisor's idle handover):
/// the descriptor stays open through both execs, and the decoded FD owns it again.
extension FD: Codable {
    public convenience init(from decoder: Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(Int32.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(raw)
    }
}
