import CArchive
import Crypto
import ImageStore
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// What fills the store: blobs copied in and hashed (swift-crypto), layers unpacked
/// (libarchive). Apart from the store's core so that the per-container supervisor, which
/// reads the store but never fills it, links neither (nor Foundation, which swift-crypto
/// brings).
extension ImageStore {
    public static func digest(_ bytes: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: bytes).map { hexByte($0) }.joined()
    }

    /// Copies the file at fd into the blob store, hashing as it goes. With `expected`, the
    /// content must match it; a blob already present is not copied again.
    @discardableResult
    public func ingest(fd: FD, expected: String?, what: String) throws -> String {
        if let e = expected {
            guard Self.validDigest(e) else { throw Failure("\(what): \"\(e)\" is not a sha256 digest") }
            if Files.exists(blobPath(e)) { return e }
        }
        let part = tmp + "/blob-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let out = try FD.open(part, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        var hasher = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        do {
            while true {
                let n = buf.withUnsafeMutableBytes { Glibc.read(fd.raw, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; throw SysError("read", what) }
                if n == 0 { break }
                hasher.update(data: buf[0..<n])
                try out.writeAll(Array(buf[0..<n]))
            }
            if fsync(out.raw) < 0 { throw SysError("fsync", part) }
            out.close()
            let d = "sha256:" + hasher.finalize().map { Self.hexByte($0) }.joined()
            if let e = expected, e != d {
                throw Failure("\(what): content does not match its digest (expected \(e), got \(d)): the archive is corrupt")
            }
            let existed = Files.exists(blobPath(d))
            if rename(part, blobPath(d)) < 0 { throw SysError("rename", blobPath(d)) }
            if tracking && !existed { track(blobPath(d)) }
            return d
        } catch {
            unlink(part)
            throw error
        }
    }

    /// A blob written by `fill` (a download) into a file of the store's own, then checked
    /// against `expected` and moved into place; nothing of it stays on a failure.
    public func ingestDownload(expected: String, what: String, fill: (Int32) throws -> Void) throws {
        guard Self.validDigest(expected) else { throw Failure("\(what): \"\(expected)\" is not a sha256 digest") }
        if Files.exists(blobPath(expected)) { return }
        let part = tmp + "/download-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(part) }
        let out = try FD.open(part, O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
        try fill(out.raw)
        if fsync(out.raw) < 0 { throw SysError("fsync", part) }
        // Hashed where it lies (read back from the page cache), then renamed: one write.
        var hasher = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var off: off_t = 0
        while true {
            let n = buf.withUnsafeMutableBytes { pread(out.raw, $0.baseAddress, $0.count, off) }
            if n < 0 { if errno == EINTR { continue }; throw SysError("read", part) }
            if n == 0 { break }
            hasher.update(data: buf[0..<n])
            off += off_t(n)
        }
        let d = "sha256:" + hasher.finalize().map { Self.hexByte($0) }.joined()
        guard d == expected else {
            throw Failure("\(what): content does not match its digest (expected \(expected), got \(d)): the registry sent something else")
        }
        if rename(part, blobPath(d)) < 0 { throw SysError("rename", blobPath(d)) }
        if tracking { track(blobPath(d)) }
    }

    /// A small blob (a manifest) from memory.
    public func ingest(bytes: [UInt8], expected: String, what: String) throws {
        try ingestDownload(expected: expected, what: what) { fd in
            // A copy of the fd for FD to own (and close), CLOEXEC like every fd we hold.
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
            guard copy >= 0 else { throw SysError("fcntl F_DUPFD_CLOEXEC", what) }
            try FD(copy).writeAll(bytes)
        }
    }

    /// A manifest's layers with their config's diff_ids and chain IDs (one diff_id per layer,
    /// each digest a sha256), and the layers' total size.
    public static func layerRefs(_ manifest: ImageManifest, _ config: ImageConfig, what: String) throws -> (refs: [LayerRef], size: Int64) {
        guard config.rootfs.diff_ids.count == manifest.layers.count else {
            throw Failure("image \(what): \(config.rootfs.diff_ids.count) diff_ids for \(manifest.layers.count) layers")
        }
        let chains = chainIDs(config.rootfs.diff_ids)
        var refs: [LayerRef] = []
        for (i, l) in manifest.layers.enumerated() {
            guard validDigest(l.digest) else { throw Failure("layer digest \"\(l.digest)\" is not a sha256 digest") }
            refs.append(LayerRef(blob: l.digest, diffID: config.rootfs.diff_ids[i], chainID: chains[i]))
        }
        return (refs, manifest.layers.reduce(0) { $0 + $1.size })
    }

    /// chainID(n) = sha256(chainID(n-1) + " " + diffID(n)), as the image spec defines.
    public static func chainIDs(_ diffIDs: [String]) -> [String] {
        var out: [String] = []
        for d in diffIDs {
            out.append(out.last.map { digest(Array("\($0) \(d)".utf8)) } ?? d)
        }
        return out
    }

    /// Unpacks a layer once; later images with the same chain share it. Returns the bytes of
    /// its files, unpacked (as another image recorded them, for a layer already here; nil if
    /// none did).
    @discardableResult
    public func ensureLayer(_ ref: LayerRef) throws -> Int64? {
        let dest = layerPath(ref.chainID)
        if Files.exists(dest) {
            return (try? readIndex())?.images.lazy.flatMap(\.layers).first { $0.chainID == ref.chainID && $0.size != nil }?.size
        }
        let stats = try Layer.unpack(blob: blobPath(ref.blob), into: dest, diffID: ref.diffID)
        if tracking { track(dest) }
        return Int64(stats.bytes)
    }

    /// Docker's SIZE: the layers' files unpacked, the same whichever way the image came
    /// (compressed or not); `blobs` where a layer's is not known.
    public static func unpackedSize(_ refs: [LayerRef], blobs: Int64) -> Int64 {
        refs.allSatisfy { $0.size != nil } ? refs.reduce(0) { $0 + $1.size! } : blobs
    }

    /// `push`: a layer as registries get it from Docker, gzip. A blob stored gzip or zstd
    /// goes as it is; a plain tar (what build, commit and import store) is compressed once,
    /// kept as one of the image's blobs (rmi frees it), and found again by its diff ID in
    /// gzip-layers/, so a second push compresses and sends nothing.
    public func pushBlob(_ l: LayerRef, of image: Image) throws -> (digest: String, mediaType: String) {
        let type = try Layer.manifestMediaType(ofBlob: blobPath(l.blob))
        guard type == MediaType.ociLayerTar else { return (l.blob, type) }
        let gz = MediaType.ociLayerTar + "+gzip"
        let mapDir = root + "/gzip-layers", map = mapDir + "/" + Self.hex(l.diffID)
        let gone = Failure("image \(image.id.dropFirst(7).prefix(12)) was removed during the push")
        if let d = (try? Files.readString(map))?.trimmed(), Self.validDigest(d), Files.exists(blobPath(d)) {
            guard try transaction({ try recordOtherBlob(d, of: image.id) }) else { throw gone }
            return (d, gz)
        }
        // Compressed outside the lock (it takes seconds), moved in and recorded in one
        // transaction: a kill between the two leaves a blob the next lock holder sweeps.
        let part = tmp + "/gzip-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(part) }
        let digest = try Layer.gzip(try FD.open(blobPath(l.blob), O_RDONLY), to: try FD.open(part, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600))
        try transaction {
            let existed = Files.exists(blobPath(digest))
            guard rename(part, blobPath(digest)) == 0 else { throw SysError("rename", blobPath(digest)) }
            if !existed { track(blobPath(digest)) }
            guard try recordOtherBlob(digest, of: image.id) else { throw gone }
        }
        try Files.mkdirAll(mapDir, mode: 0o700)
        try Files.writeAtomic(map, Array(digest.utf8), mode: 0o600)
        return (digest, gz)
    }
}
