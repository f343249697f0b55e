import CArchive
import OS
#if canImport(Glibc)
import Glibc
#endif

/// Unpacking one layer blob. The layer goes into a fresh directory that only becomes
/// visible (by rename) once it is complete, so a failure leaves nothing behind.
public enum Layer {
    public struct Stats: Equatable {
        public var entries: UInt64
        public var bytes: UInt64
    }

    public struct UnpackError: Error, CustomStringConvertible {
        public var entry: String
        public var reason: String
        public var errno: Int32
        public var description: String {
            let at = entry.isEmpty ? "" : "entry \"\(entry)\": "
            return "\(at)\(reason) (\(SysError.describe(errno)))"
        }
    }

    /// Unpacks the tar (gzip, zstd or plain) at `blob` into `dest`, which must not exist yet.
    @discardableResult
    public static func unpack(blob: String, into dest: String) throws -> Stats {
        let src = try FD.open(blob, O_RDONLY)
        let tmp = dest + ".partial-\(getpid())"
        try? Files.removeTree(tmp)
        guard mkdir(tmp, 0o755) == 0 else { throw SysError("mkdir", tmp) }
        do {
            let dir = try FD.open(tmp, O_RDONLY | O_DIRECTORY)
            var r = sr_unpack_result()
            if sr_unpack_layer(src.raw, dir.raw, &r) != 0 {
                throw UnpackError(entry: cString(r.entry), reason: cString(r.what), errno: r.err)
            }
            guard rename(tmp, dest) == 0 else { throw SysError("rename", dest) }
            return Stats(entries: r.entries, bytes: r.bytes)
        } catch {
            try? Files.removeTree(tmp)
            throw error
        }
    }

    static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
