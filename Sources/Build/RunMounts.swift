import Engine
import ImageImport
import ImageStore
import OS
#if canImport(Glibc)
import Glibc
#endif

/// RUN's BuildKit flags: `--mount=type=cache|secret|bind|tmpfs,...` and `--network`.
/// A cache mount is a directory of the store kept between builds (pip's and apt's caches);
/// a secret is a file of the caller's bound read-only for that one step, never in a layer
/// or the cache key; a bind shows the context (or a stage) read-only. What the mounts'
/// targets leave in the upper directory (the empty stubs) is removed before the commit.
struct RunMounts {
    var volumes: [String] = []
    var tmpfs: [String] = []
    var targets: [String] = []
    var network: String?
    /// What enters the cache key (never a secret's content).
    var keyParts: [String] = []
    /// Stages' roots a bind reads, held until the step ends.
    var holds: [Workspace] = []

    static func parse(_ ins: Dockerfile.Instruction, builder: Builder, o: Builder.Options, tree: SourceTree,
                      stages: [Builder.Stage], done: [Int: Builder.State], current: Int, workdir: String) throws -> RunMounts {
        var m = RunMounts()
        for (k, v) in ins.flags {
            switch k {
            case "network":
                guard let v, ["default", "none", "host"].contains(v) else { throw BuildError("RUN --network=\(v ?? ""): use default, none or host") }
                m.network = v
                m.keyParts.append("network=" + v)
            case "mount":
                guard let v else { throw BuildError("RUN --mount needs a value: --mount=type=cache,target=/root/.cache") }
                try m.add(v, builder: builder, o: o, tree: tree, stages: stages, done: done, current: current, workdir: workdir)
            case "security":
                throw BuildError("RUN --security=\(v ?? "") is not supported: RUN steps run with the default capabilities and seccomp profile")
            default:
                throw BuildError("RUN: unknown flag --\(k)")
            }
        }
        return m
    }

    mutating func add(_ spec: String, builder: Builder, o: Builder.Options, tree: SourceTree, stages: [Builder.Stage],
                      done: [Int: Builder.State], current: Int, workdir: String) throws {
        var f: [String: String] = [:]
        for part in spec.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            f[kv[0]] = kv.count > 1 ? kv[1] : "true"
        }
        let type = f["type"] ?? "bind"
        var target = f["target"] ?? f["dst"] ?? f["destination"] ?? ""
        if type == "secret" && target.isEmpty, let id = f["id"] { target = "/run/secrets/" + id }
        guard !target.isEmpty else { throw BuildError("RUN --mount=\(spec): a target is needed") }
        if !target.hasPrefix("/") { target = (workdir.hasSuffix("/") ? workdir : workdir + "/") + target }
        targets.append(target)
        let ro = f["readonly"] == "true" || f["ro"] == "true"
        switch type {
        case "cache":
            let id = f["id"] ?? target
            let dir = builder.store.buildCacheMounts + "/" + String(ImageStore.digest(Array(id.utf8)).dropFirst(7).prefix(32))
            if !Files.exists(dir) {
                try Files.mkdirAll(dir, mode: 0o755)
                if let u = f["uid"].flatMap(UInt32.init) { chown(dir, u, f["gid"].flatMap(UInt32.init) ?? 0) }
                if let mode = f["mode"].flatMap({ UInt32($0, radix: 8) }) { chmod(dir, mode_t(mode)) }
            }
            volumes.append("\(dir):\(target)\(ro ? ":ro" : "")")
            keyParts.append("cache:\(id):\(target)")
        case "secret":
            guard let id = f["id"] else { throw BuildError("RUN --mount=type=secret needs an id") }
            guard let src = o.secrets[id] else {
                if f["required"] == "true" { throw BuildError("secret \(id) not found: pass --secret id=\(id),src=FILE") }
                targets.removeLast()
                return
            }
            volumes.append("\(src):\(target):ro")
            keyParts.append("secret:\(id):\(target)")
        case "bind":
            let source = f["source"] ?? f["src"] ?? "."
            let base: String
            if let from = f["from"] {
                var srcState: Builder.State
                if let i = builder.stageIndex(from, stages, before: current), let s = done[i] {
                    srcState = s
                } else {
                    let img = try builder.engine.findImage(from)
                    srcState = Builder.State(imageID: img.id, config: .init(), layers: img.layers)
                }
                srcState.args = []
                let ws = try Workspace(builder: builder, state: srcState)
                holds.append(ws)
                base = ws.root
                keyParts.append("bind-from:\(srcState.imageID)")
            } else {
                base = tree.path
                // The context's content enters the key like a COPY's.
                let sel = try tree.select([source])
                keyParts.append("bind:" + (try tree.digest(sel.entries)))
            }
            let clean = DockerIgnore.clean(source)
            guard clean != ".." && !clean.hasPrefix("../") else { throw BuildError("RUN --mount=\(spec): the source is outside the build context") }
            let host = try Files.realpath(base + "/" + (clean == "." ? "" : clean))
            guard host == base || host.hasPrefix(base + "/") else {
                throw BuildError("RUN --mount=\(spec): the source resolves outside the build context")
            }
            // Read-only unless rw: BuildKit's rw bind writes go nowhere; ours would reach the context.
            if f["rw"] == "true" || f["readwrite"] == "true" {
                throw BuildError("RUN --mount=type=bind,rw is not supported: the context is never written")
            }
            volumes.append("\(host):\(target):ro")
            keyParts.append("bind:\(source):\(target)")
        case "tmpfs":
            tmpfs.append(target + (f["size"].map { ":size=\($0)" } ?? ""))
            keyParts.append("tmpfs:\(target)")
        case "ssh":
            throw BuildError("RUN --mount=type=ssh is not supported yet")
        default:
            throw BuildError("RUN --mount=\(spec): unknown type \(type): use cache, secret, bind or tmpfs")
        }
    }

    /// The empty files and directories the mounts' targets left where the image had none.
    func dropStubs(_ upper: String, present: (String) -> Bool) {
        for t in targets.sorted(by: { $0.count > $1.count }) {
            var rel = String(t.drop { $0 == "/" })
            while !rel.isEmpty {
                var s = stat()
                let p = upper + "/" + rel
                guard lstat(p, &s) == 0, !present(rel) else { break }
                let isDir = (s.st_mode & S_IFMT) == S_IFDIR
                if isDir { guard rmdir(p) == 0 else { break } } else {
                    guard (s.st_mode & S_IFMT) == S_IFREG, s.st_size == 0, unlink(p) == 0 else { break }
                }
                guard let slash = rel.lastIndex(of: "/") else { break }
                rel = String(rel[..<slash])
            }
        }
    }
}
