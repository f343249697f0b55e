#if canImport(Glibc)
import Glibc
#endif
import CShim

/// An owned file descriptor, closed when the last reference goes away.
public final class FD {
    public private(set) var raw: Int32

    public init(_ raw: Int32) { self.raw = raw }

    deinit { if raw >= 0 { Glibc.close(raw) } }

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
