import Engine
import ImageImport
import ImageStore
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// What a container changed, and an image of it: `diff`, `commit`, `export`. The changes
/// are its overlay upper directory, read where it lies (a whiteout is a deletion).
public enum ContainerImage {
    public struct Change: Equatable {
        public var kind: Character // A, C, D
        public var path: String
    }

    /// Docker's `diff`: every path of the upper directory, A (added), C (changed: it exists
    /// below) or D (deleted), sorted by path.
    public static func diff(_ engine: Engine, _ id: String) throws -> [Change] {
        let c = try engine.load(id)
        let upper = engine.dir(id) + "/upper"
        let stack = LayerStack(dirs: try engine.findImage(c.ImageID).layers.map { engine.store.layerPath($0.chainID) })
        let below = stack.present
        let stubs = Set(stack.mountStubs(in: upper))
        var out: [Change] = []
        func walk(_ rel: String) throws {
            for name in try Files.list(upper + (rel.isEmpty ? "" : "/" + rel)).sorted() {
                let r = rel.isEmpty ? name : rel + "/" + name
                if stubs.contains(r) { continue }
                var s = stat()
                guard lstat(upper + "/" + r, &s) == 0 else { continue }
                if (s.st_mode & S_IFMT) == S_IFCHR && s.st_rdev == 0 {
                    out.append(Change(kind: "D", path: "/" + r))
                    continue
                }
                out.append(Change(kind: below(r) ? "C" : "A", path: "/" + r))
                if (s.st_mode & S_IFMT) == S_IFDIR { try walk(r) }
            }
        }
        try walk("")
        return out.sorted { $0.path < $1.path }
    }

    /// `commit`: the container's changes as a new layer on its image, its config (command,
    /// environment, ...) as the image's, and `changes` (Dockerfile lines: CMD, ENV, ...)
    /// applied. A running container is frozen while its upper directory is read.
    public static func commit(_ engine: Engine, _ id: String, name: String?, message: String?, author: String?,
                              changes: [String], pause: Bool) throws -> String {
        let c = try engine.load(id)
        let image = try engine.findImage(c.ImageID)
        var config = try JSON.decode(ImageConfig.self, from: try engine.store.readBlob(image.id), what: "image config")
        var cc = config.config ?? .init()
        cc.Env = c.Config.Env.filter { !$0.hasPrefix("HOSTNAME=") }
        cc.Cmd = c.Config.Cmd
        cc.Entrypoint = c.Config.Entrypoint
        cc.WorkingDir = c.Config.WorkingDir
        cc.User = c.Config.User
        cc.Labels = c.Config.Labels.isEmpty ? cc.Labels : c.Config.Labels
        cc.Healthcheck = c.Config.Healthcheck
        try apply(changes: changes, to: &cc)
        config.config = cc
        let upper = engine.dir(id) + "/upper"
        let tar = engine.store.root + "/tmp/commit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(tar) }
        let running = engine.loadState(id).Running
        if pause && running { try engine.pause(id, true) }
        let packed: (diffID: String, stats: Layer.Stats)
        do {
            defer { if pause && running { try? engine.pause(id, false) } }
            let out = try FD.open(tar, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            let stubs = LayerStack(dirs: image.layers.map { engine.store.layerPath($0.chainID) }).mountStubs(in: upper)
            packed = try Layer.pack(dir: upper, to: out, excluding: stubs)
        }
        let now = Time.rfc3339Nano()
        let empty = packed.stats.entries == 0
        var layers = image.layers
        if !empty {
            config.rootfs.diff_ids.append(packed.diffID)
            let chain = ImageStore.chainIDs(config.rootfs.diff_ids).last!
            layers.append(ImageStore.LayerRef(blob: packed.diffID, diffID: packed.diffID, chainID: chain, size: Int64(packed.stats.bytes)))
        }
        config.created = now
        config.author = author ?? config.author
        config.history = (config.history ?? []) + [ImageConfig.History(created: now, created_by: ([c.Path] + c.Args).joined(separator: " "),
                                                                       comment: message, empty_layer: empty ? true : nil)]
        let bytes = try JSON.encode(config)
        let imageID = ImageStore.digest(bytes)
        let names = try name.map { [try ImageStore.checkedName($0, what: "repository")] } ?? []
        try engine.store.transaction {
            if let l = layers.last, !empty {
                try engine.store.ingest(fd: try FD.open(tar, O_RDONLY), expected: l.blob, what: "the committed layer")
                if !Files.exists(engine.store.layerPath(l.chainID)) {
                    try Layer.unpack(blob: tar, into: engine.store.layerPath(l.chainID), diffID: l.diffID)
                    engine.store.track(engine.store.layerPath(l.chainID))
                }
            }
            try engine.store.ingest(bytes: bytes, expected: imageID, what: "image config")
            try engine.store.add(ImageStore.Image(id: imageID, names: names, layers: layers, created: now,
                                                  size: ImageStore.unpackedSize(layers, blobs: 0)))
        }
        return imageID
    }

    /// `commit --change` and `import --change`: Dockerfile lines applied to an image's config.
    static func apply(changes: [String], to cc: inout ImageConfig.ContainerConfig) throws {
        guard !changes.isEmpty else { return }
        let df = try Dockerfile.parse(changes.joined(separator: "\n"), file: "--change")
        for ins in df.instructions {
            switch ins.keyword {
            case "CMD": cc.Cmd = ins.json ?? ["/bin/sh", "-c", ins.args]
            case "ENTRYPOINT": cc.Entrypoint = ins.json ?? ["/bin/sh", "-c", ins.args]
            case "ENV":
                for (k, v) in try ShellLex().pairs(ins.args, legacy: true, { _ in nil }) {
                    cc.Env = (cc.Env ?? []).filter { !$0.hasPrefix(k + "=") } + ["\(k)=\(v ?? "")"]
                }
            case "LABEL":
                var l = cc.Labels ?? [:]
                for (k, v) in try ShellLex().pairs(ins.args, legacy: true, { _ in nil }) { l[k] = v ?? "" }
                cc.Labels = l
            case "WORKDIR": cc.WorkingDir = ins.args
            case "USER": cc.User = ins.args
            case "EXPOSE":
                var p = cc.ExposedPorts ?? [:]
                for w in ins.args.split(separator: " ") { p[w.contains("/") ? String(w) : w + "/tcp"] = .init() }
                cc.ExposedPorts = p
            case "STOPSIGNAL": cc.StopSignal = ins.args
            case "VOLUME":
                var v = cc.Volumes ?? [:]
                for p in ins.json ?? ins.args.split(separator: " ").map(String.init) { v[p] = .init() }
                cc.Volumes = v
            default: throw Failure("--change \(ins.keyword): only CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR")
            }
        }
    }

    /// `import`: a root file system tarball (plain, gzip, zstd, bzip2 or xz) at `path` as an
    /// image of one layer, `changes` applied to an empty config. bzip2 and xz, which image
    /// manifests cannot name, are stored as the plain tar of the same tree.
    public static func importTarball(_ store: ImageStore, path: String, source: String, name: String?, message: String?,
                                     changes: [String]) throws -> String {
        var cc = ImageConfig.ContainerConfig()
        try apply(changes: changes, to: &cc)
        let names = try name.map { [try ImageStore.checkedName($0, what: "repository")] } ?? []
        let now = Time.rfc3339Nano()
        return try store.transaction {
            let scratch = store.tmp + "/import-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? Files.removeTree(scratch) }
            let unpacked: (diffID: String, stats: Layer.Stats)
            do { unpacked = try Layer.unpackComputingDiffID(blob: path, into: scratch) } catch {
                throw Failure("importing \(source): \(error): not a tar archive, or a damaged one")
            }
            var diffID = unpacked.diffID
            let blob: String
            if Layer.mediaType(ofBlob: path) != nil {
                blob = try store.ingest(fd: try FD.open(path, O_RDONLY), expected: nil, what: "the imported archive")
            } else {
                let tar = scratch + ".tar"
                defer { unlink(tar) }
                diffID = try Layer.pack(dir: scratch, to: try FD.open(tar, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)).diffID
                blob = try store.ingest(fd: try FD.open(tar, O_RDONLY), expected: diffID, what: "the imported archive")
            }
            let dest = store.layerPath(diffID)
            if !Files.exists(dest) {
                guard rename(scratch, dest) == 0 else { throw SysError("rename", dest) }
                store.track(dest)
            }
            let layer = ImageStore.LayerRef(blob: blob, diffID: diffID, chainID: diffID, size: Int64(unpacked.stats.bytes))
            let config = ImageConfig(config: cc, rootfs: .init(diff_ids: [diffID]),
                                     history: [.init(created: now, comment: message ?? "Imported from \(source)")])
            var withDate = config
            withDate.created = now
            let bytes = try JSON.encode(withDate)
            let imageID = ImageStore.digest(bytes)
            try store.ingest(bytes: bytes, expected: imageID, what: "image config")
            try store.add(ImageStore.Image(id: imageID, names: names, layers: [layer], created: now, size: Int64(unpacked.stats.bytes)))
            return imageID
        }
    }

    /// `export`: the container's file system, merged, as a tar on `out` (its overlay mounted
    /// for the time if it is not running).
    public static func export(_ engine: Engine, _ id: String, to out: FD) throws {
        let held = ContainerResources(engine: engine, id: id)
        let wasMounted = Mounts.isOverlay(engine.dir(id) + "/rootfs")
        if !wasMounted { try held.mountRootfs() }
        defer { if !wasMounted && !engine.loadState(id).Running { _ = try? held.release(upTo: .rootfs) } }
        _ = try Layer.pack(dir: engine.dir(id) + "/rootfs", to: out)
    }
}

extension ContainerImage {
    /// `cp`: between a container's file system and the host. The container's side is read
    /// or written inside its root (RESOLVE_IN_ROOT: its symlinks cannot point at the host's
    /// files, the class of CVE-2019-14271 and CVE-2018-15664); what lands in the container
    /// is root's, what lands on the host is the caller's. A directory source copies itself
    /// into an existing directory destination, its contents with a trailing `/.`.
    /// `archive` (-a): owners kept from the source; `followLink` (-L): a source that is a
    /// symlink is copied as what it points at (resolved inside its own root), under its name.
    public static func copy(_ engine: Engine, from: (container: String?, path: String), to: (container: String?, path: String),
                            archive: Bool = false, followLink: Bool = false) throws {
        var mounted: [ContainerResources] = []
        defer { for r in mounted { _ = try? r.release(upTo: .rootfs) } }
        func root(_ id: String) throws -> String {
            let dir = engine.dir(id) + "/rootfs"
            if !Mounts.isOverlay(dir) {
                let r = ContainerResources(engine: engine, id: id)
                try r.mountRootfs()
                if !engine.loadState(id).Running { mounted.append(r) }
            }
            return dir
        }
        let srcRoot = try from.container.map(root) ?? "/"
        let dstRoot = try to.container.map(root) ?? "/"
        let tree = try SourceTree(path: srcRoot, what: from.container.map { "container \($0.prefix(12))" } ?? "the host")
        let contentsOnly = from.path.hasSuffix("/.")
        var src = DockerIgnore.clean(from.path)
        if src == "." { src = "" }
        var st = stat()
        let leaf = src.split(separator: "/").last.map(String.init) ?? ""
        do {
            if followLink { src = try tree.followed(src) }
            st = try tree.lstatIn(src)
        } catch {
            throw Failure("Could not find the file \(from.path) in \(from.container == nil ? "the host" : "container \(from.container!.prefix(12))")")
        }
        let dstFD = try FD.open(dstRoot, O_RDONLY | O_DIRECTORY)
        var copier = Copier(root: dstFD)
        copier.keepOwner = archive
        let dest = "/" + DockerIgnore.clean(to.path)
        let destIsDir = (try? dstFD.openInRoot(dest, O_RDONLY | O_DIRECTORY)) != nil
        var entries: [SourceEntry] = []
        if (st.st_mode & S_IFMT) == S_IFDIR {
            let prefix = contentsOnly || !destIsDir ? "" : leaf
            if !prefix.isEmpty { entries.append(SourceEntry(src: src, dst: prefix, st: st, link: nil)) }
            try tree.walk(src, dstPrefix: prefix, into: &entries)
            try copier.copy(entries, from: tree, to: dest, intoDirectory: true)
        } else {
            entries = [SourceEntry(src: src, dst: leaf, st: st, link: try tree.linkTarget(src, st))]
            try copier.copy(entries, from: tree, to: destIsDir ? dest + "/" : dest, intoDirectory: destIsDir)
        }
    }
}
