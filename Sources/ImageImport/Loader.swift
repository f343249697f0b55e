import CArchive
import OCI
import ImageStore
import OS
#if canImport(Glibc)
import Glibc
#endif

/// `load`: images from a `docker save` archive or an OCI image layout (a tarball or a
/// directory). Every blob is verified against its digest; nothing is named in the store
/// until all of an image's blobs and layers are in place.
public enum Loader {
    public struct Loaded: Equatable {
        public var id: String
        public var names: [String]
    }

    public static func load(_ input: String, into store: ImageStore, platform: String = "linux/amd64") throws -> [Loaded] {
        guard Files.exists(input) else { throw SysError("open", input, errno: ENOENT) }
        if Files.isDirectory(input) { return try loadDir(input, store, platform) }
        guard Files.size(input) > 0 else { throw Failure("\(input) is empty: not an image archive") }
        // The archive is opened by the same strict unpacker as layers, in a private place.
        let work = store.tmp + "/load-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? Files.removeTree(work) }
        do {
            try Layer.unpack(blob: input, into: work)
        } catch let e as Layer.UnpackError {
            throw Failure("\(input) is not a valid image archive: \(e)")
        }
        return try loadDir(work, store, platform)
    }

    static func loadDir(_ dir: String, _ store: ImageStore, _ platform: String) throws -> [Loaded] {
        try store.transaction { try loadDirLocked(dir, store, platform) }
    }

    static func loadDirLocked(_ dir: String, _ store: ImageStore, _ platform: String) throws -> [Loaded] {
        let d = try FD.open(dir, O_RDONLY | O_DIRECTORY)
        func open(_ rel: String) throws -> FD {
            guard let fd = d.openInside(rel) else { throw SysError("open", rel) }
            return fd
        }
        func read(_ rel: String) throws -> [UInt8] { try open(rel).readToEnd() }
        func has(_ rel: String) -> Bool { d.openInside(rel) != nil }
        if has("manifest.json") {
            return try loadDocker(read, open, store)
        }
        if has("index.json") {
            return try loadOCI(read, open, store, platform)
        }
        throw Failure("neither a docker save archive (no manifest.json) nor an OCI image layout (no index.json)")
    }

    static func loadDocker(_ read: (String) throws -> [UInt8], _ open: (String) throws -> FD, _ store: ImageStore) throws -> [Loaded] {
        let entries = try JSON.decode([DockerArchiveEntry].self, from: try read("manifest.json"), what: "manifest.json")
        // Every name is checked before anything enters the store.
        let names = try entries.map { e in try (e.RepoTags ?? []).map { try ImageStore.checkedName($0, what: "manifest.json RepoTags") } }
        var out: [Loaded] = []
        for (e, names) in zip(entries, names) {
            let configBytes = try read(e.Config)
            let config = try JSON.decode(ImageConfig.self, from: configBytes, what: e.Config)
            guard config.rootfs.diff_ids.count == e.Layers.count else {
                throw Failure("\(e.Config): \(config.rootfs.diff_ids.count) diff_ids for \(e.Layers.count) layers")
            }
            let id = try store.ingest(fd: try open(e.Config), expected: ImageStore.digest(configBytes), what: e.Config)
            var refs: [ImageStore.LayerRef] = []
            var size: Int64 = 0
            let chains = ImageStore.chainIDs(config.rootfs.diff_ids)
            for (i, path) in e.Layers.enumerated() {
                // Layers are uncompressed tars here: the blob's digest is the diff ID. Docker
                // also takes compressed ones (still with the uncompressed diff ID): such a
                // blob is stored under its own digest, and unpacking checks the diff ID.
                let diff = config.rootfs.diff_ids[i]
                let fd = try open(path)
                let blob = try store.ingest(fd: fd, expected: Self.compressed(fd) ? nil : diff, what: path)
                size += Int64(Files.size(store.blobPath(blob)))
                refs.append(.init(blob: blob, diffID: diff, chainID: chains[i]))
            }
            for i in refs.indices { refs[i].size = try store.ensureLayer(refs[i]) }
            try store.add(.init(id: id, names: names, layers: refs, created: config.created,
                                size: ImageStore.unpackedSize(refs, blobs: size)))
            out.append(Loaded(id: id, names: names))
        }
        return out
    }

    /// gzip or zstd, by their magic numbers (read in place: the fd's offset stays at 0).
    static func compressed(_ fd: FD) -> Bool {
        var magic = [UInt8](repeating: 0, count: 4)
        let n = magic.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, 4, 0) }
        return (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) || (n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd])
    }

    static func loadOCI(_ read: (String) throws -> [UInt8], _ open: (String) throws -> FD, _ store: ImageStore,
                        _ platform: String) throws -> [Loaded] {
        let index = try JSON.decode(ImageIndex.self, from: try read("index.json"), what: "index.json")
        func blob(_ desc: Descriptor) throws -> [UInt8] {
            guard ImageStore.validDigest(desc.digest) else { throw Failure("descriptor digest \"\(desc.digest)\" is not a sha256 digest") }
            let rel = "blobs/sha256/" + ImageStore.hex(desc.digest)
            try store.ingest(fd: try open(rel), expected: desc.digest, what: rel)
            return try store.readBlob(desc.digest)
        }
        // A full name from containerd's annotation, else the OCI ref name when it is one (skopeo
        // and umoci write a bare tag there: such an image is kept unnamed, as Docker does).
        func name(_ d: Descriptor) throws -> String? {
            let ann = d.annotations ?? [:]
            if let n = ann["io.containerd.image.name"] { return try ImageStore.checkedName(n, what: "index.json io.containerd.image.name") }
            guard let n = ann["org.opencontainers.image.ref.name"], n.contains("/") || n.contains(":") else { return nil }
            return try ImageStore.checkedName(n, what: "index.json org.opencontainers.image.ref.name")
        }
        for top in index.manifests { _ = try name(top) }
        var out: [Loaded] = []
        for top in index.manifests {
            var desc = top
            var manifestBlobs: [String] = []
            // An index inside: pick the platform's manifest.
            if desc.mediaType == MediaType.ociIndex || desc.mediaType == MediaType.dockerManifestList {
                let inner = try JSON.decode(ImageIndex.self, from: try blob(desc), what: desc.digest)
                manifestBlobs.append(desc.digest)
                let parts = platform.split(separator: "/").map(String.init)
                guard let m = inner.manifests.first(where: { $0.platform?.os == parts.first && $0.platform?.architecture == parts.last }) else {
                    throw Failure("no \(platform) image in index \(desc.digest)")
                }
                desc = m
            }
            let manifest = try JSON.decode(ImageManifest.self, from: try blob(desc), what: desc.digest)
            manifestBlobs.append(desc.digest)
            let configBytes = try blob(manifest.config)
            let config = try JSON.decode(ImageConfig.self, from: configBytes, what: manifest.config.digest)
            var (refs, size) = try ImageStore.layerRefs(manifest, config, what: desc.digest)
            for l in manifest.layers {
                let rel = "blobs/sha256/" + ImageStore.hex(l.digest)
                try store.ingest(fd: try open(rel), expected: l.digest, what: rel)
            }
            for i in refs.indices { refs[i].size = try store.ensureLayer(refs[i]) }
            size = ImageStore.unpackedSize(refs, blobs: size)
            let names = try name(top).map { [$0] } ?? []
            try store.add(.init(id: manifest.config.digest, names: names, layers: refs, created: config.created, size: size,
                                otherBlobs: manifestBlobs))
            out.append(Loaded(id: manifest.config.digest, names: names))
        }
        return out
    }
}
