import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// The image store under one root: content-addressed blobs, layers unpacked once per
/// chain ID, and images.json naming the images. Writes are temp + rename; the index is
/// changed under a file lock, so concurrent loads are safe; what a crash leaves (blobs or
/// layers no image names, temp files) the next holder of the lock removes.
public final class ImageStore {
    public let root: String
    package var blobs: String { root + "/blobs/sha256" }
    package var layers: String { root + "/layers" }
    package var tmp: String { root + "/tmp" }
    /// RUN --mount=type=cache directories: build cache, freed by `builder prune`.
    public var buildCacheMounts: String { root + "/build-cache-mounts" }
    var indexPath: String { root + "/images.json" }

    public struct LayerRef: Codable, Equatable {
        public var blob: String      // digest of the blob as stored (compressed or not)
        public var diffID: String    // digest of the uncompressed tar
        public var chainID: String
        /// Bytes of its files, unpacked (nil in records made before it was kept).
        public var size: Int64?
        public init(blob: String, diffID: String, chainID: String, size: Int64? = nil) {
            self.blob = blob
            self.diffID = diffID
            self.chainID = chainID
            self.size = size
        }
    }

    public struct Image: Codable, Equatable {
        public var id: String        // the config's digest, as Docker's IMAGE ID
        public var names: [String]
        public var layers: [LayerRef]
        public var created: String?
        public var size: Int64       // bytes of the layers' files unpacked (Docker's SIZE); older records: of the blobs
        public var otherBlobs: [String]? // manifests, indexes, other copies of layers it came with (freed by rmi)
        /// Made by `build`: the image of the step before, and the step's cache key. Such an
        /// image is the build cache too: `rmi` by name untags it, `builder prune` deletes it.
        public var parent: String?
        public var buildKey: String?
        /// A build-cache entry nobody named: listed by `images -a` only.
        public var intermediate: Bool { buildKey != nil && names.isEmpty }
        public init(id: String, names: [String], layers: [LayerRef], created: String?, size: Int64, otherBlobs: [String]? = nil) {
            self.id = id
            self.names = names
            self.layers = layers
            self.created = created
            self.size = size
            self.otherBlobs = otherBlobs
        }
    }

    package struct Index: Codable {
        package var images: [Image] = []
    }

    /// What the current load created, removed again if it fails.
    package var created: [String] = []
    package var tracking = false
    /// Layers of a pull are fetched and unpacked by several threads.
    let createdLock = Lock()

    package func track(_ path: String) { createdLock.locked { created.append(path) } }

    /// Runs a load under the store lock; on failure removes every blob and layer it added,
    /// so a failed command leaves the store exactly as it was. A killed one leaves its
    /// marker, and the next holder of the lock removes what the index does not name.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try withLock {
            created = []
            tracking = true
            defer { tracking = false; created = [] }
            // Only its presence counts (no content to be half-written): a plain create.
            _ = try FD.open(transactionMarker, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
            do {
                let result = try body()
                unlink(transactionMarker)
                return result
            } catch {
                for p in created.reversed() { try? Files.removeTree(p) }
                unlink(transactionMarker)
                throw error
            }
        }
    }

    /// Present while a transaction runs: found by the next holder of the lock, it means the
    /// transaction's process died in it.
    var transactionMarker: String { tmp + "/transaction" }

    public init(root: String) throws {
        self.root = root
        for d in [root, root + "/blobs/sha256", root + "/layers", root + "/tmp"] { try Files.mkdirAll(d, mode: 0o700) }
        _ = try FD.open(root + "/lock", O_RDWR | O_CREAT, mode: 0o600) // part of the skeleton, not of any load
    }

    public static func defaultRoot() -> String {
        if let e = getenv("SWIFTRUN_ROOT") { return String(cString: e) }
        return "/var/lib/swiftrun"
    }

    public func blobPath(_ digest: String) -> String { blobs + "/" + Self.hex(digest) }
    public func layerPath(_ chainID: String) -> String { layers + "/" + Self.hex(chainID) }

    package static func hex(_ digest: String) -> String {
        digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
    }

    package static func validDigest(_ d: String) -> Bool {
        let h = hex(d)
        return d.hasPrefix("sha256:") && h.count == 64 && h.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    package static func hexByte(_ b: UInt8) -> String {
        let d = Array("0123456789abcdef".utf8)
        return String(decoding: [d[Int(b >> 4)], d[Int(b & 15)]], as: UTF8.self)
    }

    /// Spools standard input to a file (`load` without -i).
    public func ingestStdin(to path: String) throws {
        let out = try FD.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw SysError("read", "standard input") }
            if n == 0 { return }
            try out.writeAll(Array(buf[0..<n]))
        }
    }

    public func readBlob(_ digest: String) throws -> [UInt8] {
        try Files.read(blobPath(digest))
    }

    package func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd = try FD.open(root + "/lock", O_RDWR | O_CREAT, mode: 0o600)
        while flock(fd.raw, LOCK_EX) < 0 {
            if errno != EINTR { throw SysError("flock", root + "/lock") }
        }
        defer { flock(fd.raw, LOCK_UN) }
        sweepDead()
        if Files.exists(transactionMarker) { collectGarbage() }
        return try body()
    }

    /// Removes what a load or pull killed half way left outside the store proper: temp
    /// files and directories carry their writer's pid as their second field ("load-PID-N",
    /// "blob-PID-N", "download-PID-N", "stdin-PID", "<chain>.partial-PID" in layers), and
    /// only those of a pid that no longer exists are taken: a load unpacking its archive
    /// before it takes the lock is left alone.
    func sweepDead() {
        func dead(_ pid: Substring) -> Bool {
            guard let p = Int32(pid.prefix { $0.isNumber }), p > 0 else { return false }
            return kill(p, 0) < 0 && errno == ESRCH
        }
        for name in (try? Files.list(tmp)) ?? [] where name != "transaction" {
            let parts = name.split(separator: "-")
            if parts.count >= 2, dead(parts[1]) { try? Files.removeTree(tmp + "/" + name) }
        }
        for name in (try? Files.list(layers)) ?? [] {
            if let r = name.firstRange(of: ".partial-"), dead(name[r.upperBound...]) { try? Files.removeTree(layers + "/" + name) }
        }
        for name in (try? Files.list(root)) ?? [] {
            if let r = name.firstRange(of: ".tmp."), dead(name[r.upperBound...]) { unlink(root + "/" + name) }
        }
    }

    /// After a transaction whose process died in it (the lock is ours, so none is running):
    /// every blob and layer the index does not name is what it left. An index that cannot be
    /// read keeps everything.
    func collectGarbage() {
        guard let idx = try? readIndex() else { return }
        let blobsKept = Set(idx.images.flatMap { [$0.id] + $0.layers.map(\.blob) + ($0.otherBlobs ?? []) }.map(Self.hex))
        let layersKept = Set(idx.images.flatMap { $0.layers.map { Self.hex($0.chainID) } })
        for name in (try? Files.list(blobs)) ?? [] where !blobsKept.contains(name) { unlink(blobs + "/" + name) }
        for name in (try? Files.list(layers)) ?? [] where !layersKept.contains(name) { try? Files.removeTree(layers + "/" + name) }
        unlink(transactionMarker)
    }

    package func readIndex() throws -> Index {
        guard Files.exists(indexPath) else { return Index() }
        return try JSON.decode(Index.self, from: try Files.read(indexPath), what: indexPath)
    }

    public func images() throws -> [Image] { try readIndex().images }

    /// Finds an image by name ("repo:tag", "repo" meaning "repo:latest", with or without
    /// docker.io/library/) or by ID (prefix). A name that is not a reference is refused with
    /// Docker's "invalid reference format".
    public func find(_ ref: String) throws -> Image {
        let all = try images()
        if Reference.isID(ref) {
            let id = ref.hasPrefix("sha256:") ? ref : "sha256:" + ref
            if let i = all.first(where: { $0.id == id }) { return i }
            throw Failure("no such image: \(ref)")
        }
        let parsed = Result(catching: { try Reference.parse(ref) })
        if case .success(let r) = parsed, let i = all.first(where: { $0.names.contains(r.familiar) }) { return i }
        let hex = Self.hex(ref)
        if hex.count >= 4 && hex.utf8.allSatisfy(Reference.isLowerHex) {
            let matches = all.filter { Self.hex($0.id).hasPrefix(hex) }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 { throw Failure("image ID prefix \(ref) is ambiguous: give more of it") }
        }
        if case .failure(let e) = parsed { throw e }
        throw Failure("no such image: \(ref)")
    }

    /// Adds a name to an image (moving it from any other image, as Docker's tags do).
    public func tag(_ ref: String, as name: String) throws {
        let target: Reference
        do { target = try Reference.parse(name) } catch {
            throw Failure("Error parsing reference: \(JSONText.quote(name)) is not a valid repository/tag: \(error)")
        }
        guard target.digest == nil else { throw Failure("refusing to create a tag with a digest reference") }
        var image = try find(ref)
        image.names = [target.familiar]
        try add(image)
    }

    /// The name as the store keeps it (Docker's familiar form: "busybox" → "busybox:latest",
    /// "docker.io/library/x:1" → "x:1"); a string that is no reference is returned as it is,
    /// and matches nothing.
    public static func normalizeName(_ n: String) -> String {
        (try? Reference.parse(n))?.familiar ?? n
    }

    /// A name an archive or registry gives an image, checked before it names anything.
    public static func checkedName(_ n: String, what: String) throws -> String {
        do { return try Reference.parse(n).familiar } catch {
            throw Failure("\(what): image name \(JSONText.quote(n)): \(error)")
        }
    }

    /// Removes a name; when an image has no name left (or is given by ID), the image goes,
    /// with every blob and layer no other image uses. Returns what Docker prints.
    /// `users(imageID)`: the containers that need the image's layers (their rootfs is an
    /// overlay of them). While there are some, the image is not deleted: without `force`
    /// the removal fails; with it, the names go and the layers stay (a <none> image).
    public func remove(_ ref: String, force: Bool = false, users: (String) -> [String] = { _ in [] }) throws -> [String] {
        try withLock {
            var idx = try readIndex()
            let all = idx.images
            let byName = Self.normalizeName(ref)
            var out: [String] = []
            guard let target = all.first(where: { $0.names.contains(byName) }) ?? (try? find(ref)) else {
                throw Failure("no such image: \(ref)")
            }
            let i = idx.images.firstIndex { $0.id == target.id }!
            if target.names.contains(byName) && target.names.count > 1 {
                idx.images[i].names.removeAll { $0 == byName }
                out.append("Untagged: \(byName)")
            } else if case let used = users(target.id), !used.isEmpty {
                let c = String(used[0].prefix(12)), img = String(target.id.dropFirst(7).prefix(12))
                guard force else {
                    throw Failure(target.names.contains(byName)
                        ? "conflict: unable to remove repository reference \"\(ref)\" (must force) - container \(c) is using its referenced image \(img)"
                        : "conflict: unable to delete \(img) (must be forced) - image is being used by container \(c)")
                }
                out += target.names.map { "Untagged: \($0)" }
                idx.images[i].names = []
            } else if target.buildKey != nil && target.names.contains(byName) {
                // The build cache keeps it (and its layers) until `builder prune`.
                out += target.names.map { "Untagged: \($0)" }
                idx.images[i].names = []
            } else {
                out += target.names.map { "Untagged: \($0)" }
                idx.images.remove(at: i)
                // What the remaining images still need stays; the rest is freed.
                let keepBlobs = Set(idx.images.flatMap { [$0.id] + $0.layers.map(\.blob) + ($0.otherBlobs ?? []) })
                let keepLayers = Set(idx.images.flatMap { $0.layers.map(\.chainID) })
                for l in target.layers.reversed() where !keepLayers.contains(l.chainID) {
                    try Files.removeTree(layerPath(l.chainID))
                    out.append("Deleted: \(l.chainID)")
                }
                for b in [target.id] + target.layers.map(\.blob) + (target.otherBlobs ?? []) where !keepBlobs.contains(b) {
                    unlink(blobPath(b))
                }
                out.append("Deleted: \(target.id)")
            }
            try Files.writeAtomic(indexPath, try JSON.encode(idx, pretty: true), mode: 0o600, sync: true)
            return out
        }
    }

    /// Inside a transaction: `digest` kept as another blob of the image (push's gzip copy of
    /// a layer), freed with it. False if the image is gone meanwhile (an `rmi`).
    package func recordOtherBlob(_ digest: String, of imageID: String) throws -> Bool {
        var idx = try readIndex()
        guard let i = idx.images.firstIndex(where: { $0.id == imageID }) else { return false }
        if !(idx.images[i].otherBlobs ?? []).contains(digest) {
            idx.images[i].otherBlobs = (idx.images[i].otherBlobs ?? []) + [digest]
            try Files.writeAtomic(indexPath, try JSON.encode(idx, pretty: true), mode: 0o600, sync: true)
        }
        return true
    }

    /// Records an image; a name moves to it from any image that had it (as Docker's tags do).
    /// Inside a load's transaction the lock is already held.
    public func add(_ image: Image) throws {
        if tracking { try addLocked(image) } else { try withLock { try addLocked(image) } }
    }

    private func addLocked(_ image: Image) throws {
        var idx = try readIndex()
        for i in idx.images.indices { idx.images[i].names.removeAll { image.names.contains($0) } }
        if let i = idx.images.firstIndex(where: { $0.id == image.id }) {
            idx.images[i].names = Array(Set(idx.images[i].names + image.names)).sorted()
            // The same image from another source (gzip vs plain layers): keep its blobs on record.
            let known = Set(idx.images[i].layers.map(\.blob) + (idx.images[i].otherBlobs ?? []))
            let extra = (image.layers.map(\.blob) + (image.otherBlobs ?? [])).filter { !known.contains($0) }
            if !extra.isEmpty { idx.images[i].otherBlobs = (idx.images[i].otherBlobs ?? []) + extra }
        } else {
            idx.images.append(image)
        }
        try Files.writeAtomic(indexPath, try JSON.encode(idx, pretty: true), mode: 0o600, sync: true)
    }
}
