import CArchive
import Crypto
import ImageStore
import OCI
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

    final class Hasher {
        var sha = SHA256()
    }

    /// `body` gets a C sink (callback and context) that hashes every byte passed to it: the
    /// C side's return code, and the sha256 digest of those bytes.
    static func hashing(_ body: (sr_sink_fn, UnsafeMutableRawPointer) -> Int32) -> (Int32, String) {
        let hasher = Hasher()
        let rc = body({ ctx, buf, len in
            Unmanaged<Hasher>.fromOpaque(ctx!).takeUnretainedValue().sha.update(bufferPointer: UnsafeRawBufferPointer(start: buf, count: len))
        }, Unmanaged.passUnretained(hasher).toOpaque())
        return withExtendedLifetime(hasher) { (rc, "sha256:" + hasher.sha.finalize().map { ImageStore.hexByte($0) }.joined()) }
    }

    /// A tar (gzip, bzip2, xz, zstd or plain) extracted into an existing directory, every entry confined
    /// to it (ADD of a local archive).
    public static func extract(_ archive: FD, into dir: FD) throws {
        var r = sr_unpack_result()
        guard sr_unpack_layer(archive.raw, dir.raw, &r) == 0 else {
            throw UnpackError(entry: cString(r.entry), reason: cString(r.what), errno: r.err)
        }
    }

    /// The overlay directory `dir` (an upper directory: whiteouts are char 0:0 devices) as an
    /// uncompressed layer tar written to `out`; its diff ID, hashed as it is written.
    public static func pack(dir: String, to out: FD, excluding: [String] = []) throws -> (diffID: String, stats: Stats) {
        let d = try FD.open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        var r = sr_unpack_result()
        let cex = excluding.map { strdup($0) }
        defer { cex.forEach { free($0) } }
        let (rc, digest) = hashing { sink, ctx in
            cex.map { UnsafePointer($0) }.withUnsafeBufferPointer { ex in sr_pack_layer(d.raw, out.raw, sink, ctx, ex.baseAddress, Int32(ex.count), &r) }
        }
        if rc != 0 { throw UnpackError(entry: cString(r.entry), reason: cString(r.what), errno: r.err) }
        return (digest, Stats(entries: r.entries, bytes: r.bytes))
    }

    /// Unpacks the tar (gzip, zstd or plain) at `blob` into `dest`, which must not exist yet.
    /// With `diffID`, the uncompressed stream must hash to it (checked in the same pass): a
    /// layer stored under a chain ID is then exactly the content that chain names, and an
    /// image cannot poison the layer of another by claiming its diff ID.
    @discardableResult
    public static func unpack(blob: String, into dest: String, diffID: String? = nil) throws -> Stats {
        try unpackHashed(blob: blob, into: dest) { got in
            if let want = diffID, got != want {
                throw UnpackError(entry: "", reason: "the layer's uncompressed content is \(got), but the image config claims \(want): refused (a layer must be what its diff ID names)", errno: EBADMSG)
            }
        }.stats
    }

    /// `import`: a tar (any compression libarchive reads) unpacked into `dest`; its diff ID
    /// is what the uncompressed stream hashed to.
    public static func unpackComputingDiffID(blob: String, into dest: String) throws -> (diffID: String, stats: Stats) {
        try unpackHashed(blob: blob, into: dest) { _ in }
    }

    static func unpackHashed(blob: String, into dest: String, check: (String) throws -> Void) throws -> (diffID: String, stats: Stats) {
        let src = try FD.open(blob, O_RDONLY)
        let tmp = dest + ".partial-\(getpid())"
        try? Files.removeTree(tmp)
        guard mkdir(tmp, 0o755) == 0 else { throw SysError("mkdir", tmp) }
        do {
            let dir = try FD.open(tmp, O_RDONLY | O_DIRECTORY)
            var r = sr_unpack_result()
            let (rc, got) = hashing { sink, ctx in sr_unpack_layer_hashed(src.raw, dir.raw, sink, ctx, &r) }
            if rc != 0 {
                throw UnpackError(entry: cString(r.entry), reason: cString(r.what), errno: r.err)
            }
            try check(got)
            guard rename(tmp, dest) == 0 else { throw SysError("rename", dest) }
            return (got, Stats(entries: r.entries, bytes: r.bytes))
        } catch {
            try? Files.removeTree(tmp)
            throw error
        }
    }

    /// A layer tar gzip-compressed for push (the same input always gives the same bytes);
    /// the digest of what was written.
    public static func gzip(_ input: FD, to out: FD) throws -> String {
        var r = sr_unpack_result()
        let (rc, digest) = hashing { sink, ctx in sr_gzip_stream(input.raw, out.raw, sink, ctx, &r) }
        if rc != 0 { throw UnpackError(entry: "", reason: "gzip of a layer: " + cString(r.what), errno: r.err) }
        return digest
    }

    /// ADD's test: a tar (plain or compressed), by content; a file merely named .tar.gz is not.
    public static func isArchive(_ fd: FD) -> Bool { sr_is_tar(fd.raw) == 1 }

    /// The OCI media type of a layer blob, from its first bytes: gzip, zstd or a plain tar;
    /// nil for bzip2 and xz, which libarchive reads but no image manifest can name.
    public static func mediaType(ofBlob path: String) -> String? {
        var b = [UInt8](repeating: 0, count: 6)
        if let fd = try? FD.open(path, O_RDONLY) { _ = b.withUnsafeMutableBytes { Glibc.read(fd.raw, $0.baseAddress, 6) } }
        if b[0] == 0x1f && b[1] == 0x8b { return MediaType.ociLayerTar + "+gzip" }
        if b[0..<4] == [0x28, 0xb5, 0x2f, 0xfd] { return MediaType.ociLayerTar + "+zstd" }
        if b[0..<3] == [0x42, 0x5a, 0x68] || b == [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] { return nil }
        return MediaType.ociLayerTar
    }

    /// The media type `save` and `push` write for a stored layer.
    public static func manifestMediaType(ofBlob path: String) throws -> String {
        guard let t = mediaType(ofBlob: path) else {
            throw Failure("layer \(path.split(separator: "/").last ?? ""): bzip2 or xz compressed, which an image manifest cannot name; rebuild or re-import the image")
        }
        return t
    }

    static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
