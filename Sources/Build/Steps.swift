import Engine
import ImageImport
import ImageStore
import Crypto
import Registry
import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// A writable root over a state's layers: an engine container's overlay (never started),
/// or, for a state with no layer yet (FROM scratch), a bare directory that is its own upper.
/// One owner: `discard` removes the container (its volumes too) or the directory, once.
final class Workspace {
    let engine: Engine
    let containerID: String?
    let root: String
    let upper: String
    private var discarded = false

    init(builder: Builder, state: Builder.State, command: [String] = ["true"], env: [String] = [], network: String? = "none",
         mounts: RunMounts = RunMounts()) throws {
        engine = builder.engine
        if state.layers.isEmpty {
            let dir = builder.store.root + "/tmp/build-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            guard mkdir(dir, 0o755) == 0 else { throw SysError("mkdir", dir) }
            containerID = nil
            root = dir
            upper = dir
            return
        }
        var co = Engine.CreateOptions(image: state.imageID)
        co.overrides.entrypoint = ""
        co.overrides.command = command
        co.overrides.env = env
        co.network = network
        co.volumes = mounts.volumes
        co.tmpfs = mounts.tmpfs
        co.labels[Builder.ownerKey] = builder.ownerLabel
        if command == ["true"] { co.overrides.user = "0:0" } // a workspace only: never started
        let c = try engine.create(co)
        containerID = c.Id
        root = engine.dir(c.Id) + "/rootfs"
        upper = engine.dir(c.Id) + "/upper"
    }

    /// The upper directory, unmounted: the step's changes.
    func finish() throws -> String {
        if let id = containerID { try ContainerResources(engine: engine, id: id).release(upTo: .rootfs) }
        return upper
    }

    func discard() {
        guard !discarded else { return }
        discarded = true
        if let id = containerID { try? engine.remove(id, force: true, volumes: true) } else { try? Files.removeTree(root) }
    }

    deinit { discard() }

    /// mkdir -p inside the root; whether anything was made.
    func mkdirIfMissing(_ path: String) throws -> Bool {
        let r = try FD.open(root, O_RDONLY | O_DIRECTORY)
        if (try? r.openInRoot(path, O_RDONLY | O_DIRECTORY)) != nil { return false }
        try Copier(root: r).mkdirAll(path)
        return true
    }
}

extension Builder {
    // MARK: RUN

    func runStep(_ ins: Dockerfile.Instruction, _ st: inout State, lookup: (String) -> String?, o: Options, label: String,
                 mounts: RunMounts) throws {
        guard !st.layers.isEmpty else {
            throw BuildError("RUN needs a root file system: this stage has none yet (FROM scratch): COPY a program in first")
        }
        let shell = st.config.config?.Shell ?? ["/bin/sh", "-c"]
        var mounts = mounts
        var script: String?
        defer { if let f = script { unlink(f) } }
        let cmd: [String]
        if let j = ins.json {
            cmd = j
        } else if let first = ins.heredocs.first, ins.args.trimmingTrailingSpace().hasPrefix("<<"),
                  Dockerfile.heredocStarts(ins.args).count == 1, !ins.args.contains(where: { $0 == " " || $0 == "\t" }) {
            // `RUN <<EOF`: the heredoc is the script. One that starts with #! runs as a file
            // of its own, by its interpreter (BuildKit's /dev/pipes/NAME), not by SHELL.
            if first.content.hasPrefix("#!") {
                let f = store.tmp + "/heredoc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                script = f
                let fd = try FD.open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o755)
                try fd.writeAll(Array(first.content.utf8))
                fchmod(fd.raw, 0o755)
                let target = "/dev/pipes/" + first.name
                mounts.volumes.append("\(f):\(target):ro")
                mounts.targets.append(target)
                mounts.keyParts.append("heredoc:" + first.content)
                cmd = [target]
            } else {
                cmd = shell + [first.content]
            }
        } else if !ins.heredocs.isEmpty {
            // `RUN cmd <<EOF`: the shell reads the heredocs itself.
            cmd = shell + [ins.args + "\n" + ins.heredocs.map { $0.content + $0.name + "\n" }.joined()]
        } else {
            cmd = shell + [ins.args]
        }
        // ARGs in scope reach RUN as environment (ENV wins on a clash), and the proxy ones
        // from --build-arg without a declaration; none is written to the image.
        let envNames = Set(st.env.map { String($0.prefix { $0 != "=" }) })
        var argEnv: [String] = []
        for (k, _) in st.args where !envNames.contains(k) {
            if let v = argValue(k, st.args, o.buildArgs) { argEnv.append("\(k)=\(v)") }
        }
        for (k, v) in o.buildArgs.sorted(by: { $0.key < $1.key }) where Self.proxyArgs.contains(k) && !st.args.contains(where: { $0.0 == k }) {
            argEnv.append("\(k)=\(v)")
        }
        let network = mounts.network.map { $0 == "default" ? nil : $0 } ?? o.network
        var keyParts = ["RUN", st.imageID, (try? JSON.string(cmd)) ?? cmd.joined(separator: " "), network ?? "default"] + mounts.keyParts
        keyParts += argEnv.filter { !Self.proxyArgs.contains(String($0.prefix { $0 != "=" })) }
        let key = Self.key(keyParts)
        if let hit = cached(key, st.imageID, o) { use(hit, &st, label: label, ins); return }
        onEvent(.step(step, "\(label) \(ins.original)"))
        let ws = try Workspace(builder: self, state: st, command: cmd, env: argEnv, network: network, mounts: mounts)
        defer { ws.discard() }
        let (code, tail) = try runAttached(ws.containerID!)
        try interrupts.check()
        guard code == 0 else {
            let shown = ins.json.map { "[\($0.map { "\"\($0)\"" }.joined(separator: " "))]" } ?? cmd.joined(separator: " ")
            var msg = "process \"\(shown)\" did not complete successfully: exit code: \(code)"
            if !tail.isEmpty { msg += "\n" + tail.map { "  > " + $0 }.joined(separator: "\n") }
            throw BuildError(msg)
        }
        let upper = try ws.finish()
        // The runtime's bind stubs and the mounts' targets are not the step's changes.
        let below = layers(st)
        for f in below.mountStubs(in: upper) { unlink(upper + "/" + f) }
        mounts.dropStubs(upper, present: below.present)
        for h in mounts.holds { h.discard() }
        var next = st
        try commit(&next, layerFrom: upper, createdBy: "RUN " + (ins.json.map { "[\($0.joined(separator: " "))]" } ?? ins.args), key: key)
        st = next
    }

    /// Starts the RUN container with its output through a pipe of ours, shown as it comes
    /// (each line with the step number and seconds); the exit code and the last lines.
    func runAttached(_ id: String) throws -> (Int32, [String]) {
        let (r, w) = try FD.pipe()
        let started: Engine.Started
        do {
            started = try engine.start(id, attach: .init(stdin: nil, stdout: w.raw, stderr: w.raw))
        } catch let e as RuntimeError {
            return (e.exitCode, [e.description])
        }
        w.close()
        interrupts.running(started.containerPid)
        defer { interrupts.running(nil) }
        var pending: [UInt8] = []
        var tail: [String] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        func emit(_ bytes: ArraySlice<UInt8>) {
            let line = String(decoding: bytes, as: UTF8.self)
            onEvent(.output(step, line, seconds: Double(Time.monotonicNanos() - startNs) / 1e9))
            tail.append(line)
            if tail.count > 10 { tail.removeFirst() }
        }
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(r.raw, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { break }
            pending += buf[0..<n]
            while let nl = pending.firstIndex(of: 0x0a) {
                emit(pending[..<nl])
                pending.removeSubrange(...nl)
            }
        }
        if !pending.isEmpty { emit(pending[...]) }
        let code = started.waitExit() ?? ((try? engine.view(id).state.ExitCode) ?? 125)
        return (code, tail)
    }

    func layers(_ st: State) -> LayerStack { LayerStack(dirs: st.layers.map { store.layerPath($0.chainID) }) }

    // MARK: COPY and ADD

    func copyStep(_ ins: Dockerfile.Instruction, _ st: inout State, stages: [Stage], done: [Int: State], current: Int,
                  o: Options, tree: SourceTree, lex: ShellLex, lookup: (String) -> String?, label: String) throws {
        for (k, _) in ins.flags where !["from", "chown", "chmod", "link", "checksum", "keep-git-dir", "parents", "exclude"].contains(k) {
            throw BuildError("\(ins.keyword): unknown flag --\(k)")
        }
        let parents = ins.flags.contains { $0.0 == "parents" && ($0.1 == nil || $0.1 == "true") }
        let excludes = try ins.flags.filter { $0.0 == "exclude" }.map { f -> String in
            guard let v = f.1, !v.isEmpty else { throw BuildError("\(ins.keyword) --exclude needs a pattern") }
            return try lex.process(v, lookup)
        }
        let exclude = excludes.isEmpty ? nil : DockerIgnore(excludes.joined(separator: "\n"))
        if ins.keyword == "COPY" && ins.flag("checksum") != nil { throw BuildError("COPY has no --checksum (ADD has)") }
        var words = try ins.json ?? lex.words(ins.args).map { try lex.process($0, lookup) }
        guard words.count >= 2 || (!ins.heredocs.isEmpty && words.count >= 1) else {
            throw BuildError("\(ins.keyword) requires at least two arguments: \(ins.keyword) SOURCE... DEST")
        }
        if ins.keyword == "ADD" && words.dropLast().contains(where: { $0.hasPrefix("git@") || (Download.isURL($0) && $0.hasSuffix(".git")) }) {
            throw BuildError("ADD of a git repository is not supported: clone it with RUN git clone")
        }
        var c = st.config.config ?? .init()
        var dest = words.removeLast()
        let workdir = c.WorkingDir ?? "/"
        let slashEnd = dest.hasSuffix("/") || dest == "." || dest.hasSuffix("/.")
        if !dest.hasPrefix("/") { dest = (workdir.hasSuffix("/") ? workdir : workdir + "/") + dest }
        dest = "/" + DockerIgnore.clean(dest)
        if dest == "/." { dest = "/" }
        // The source: another stage, an image, or the context.
        var srcWorkspace: Workspace?
        defer { srcWorkspace?.discard() }
        var source = tree
        var fromStage = false
        if let f = ins.flag("from") {
            let name = try lex.process(f, lookup)
            let srcState: State
            if let i = stageIndex(name, stages, before: current), let s = done[i] {
                srcState = s
            } else if let n = Int(name), n >= current {
                throw BuildError("--from=\(name): a stage can only copy from an earlier one")
            } else {
                let img: ImageStore.Image
                do { img = try engine.findImage(name) } catch { throw BuildError("--from=\(name): no stage or image by that name (\(error))") }
                srcState = State(imageID: img.id, config: ImageConfig(), layers: img.layers)
            }
            let ws = try Workspace(builder: self, state: srcState)
            srcWorkspace = ws
            source = try SourceTree(path: ws.root, what: "--from=\(name)")
            fromStage = true
        }
        // Heredoc sources: files made from the text (expanded unless the delimiter is quoted).
        var heredocFiles: [(String, String)] = []
        words = words.filter { w in
            guard w.hasPrefix("<<"), let h = ins.heredocs.first(where: { w.hasSuffix($0.name) || w.hasSuffix($0.name + "\"") || w.hasSuffix($0.name + "'") }) else { return true }
            heredocFiles.append((h.name, h.content))
            return false
        }
        for i in heredocFiles.indices where ins.heredocs.first(where: { $0.name == heredocFiles[i].0 })?.expand == true {
            heredocFiles[i].1 = try lex.process("\"" + heredocFiles[i].1.replacing("\"", with: "\\\"") + "\"", lookup)
        }
        // ADD URL: fetched on every build into a scratch directory (the content, not the URL,
        // keys the cache, as BuildKit's checksum of it does), 0600, with the server's
        // Last-Modified as its time; --checksum must match. Never extracted.
        var fetched: (tree: SourceTree, entries: [SourceEntry])?
        var scratch: String?
        defer { if let d = scratch { try? Files.removeTree(d) } }
        let urls = ins.keyword == "ADD" && !fromStage ? words.filter(Download.isURL) : []
        if let sum = ins.flag("checksum"), urls.count != 1 || words.count != 1 {
            throw BuildError("ADD --checksum=\(sum): only for one http(s) source")
        }
        if !urls.isEmpty {
            words.removeAll(where: Download.isURL)
            let d = store.tmp + "/add-url-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            scratch = d
            try Files.mkdirAll(d, mode: 0o700)
            var names: [String] = []
            for u in urls {
                let path = u.split(separator: "#")[0].split(separator: "?")[0].split(separator: "/", omittingEmptySubsequences: true).dropFirst(2)
                // The URL's last path component names the file (BuildKit's rule); "." and ".."
                // name nothing.
                let name = path.last.map(String.init).flatMap { $0 == "." || $0 == ".." ? nil : $0 } ?? "__unnamed__"
                unlink(d + "/" + name)
                let out = try FD.open(d + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600)
                let got: Download.Fetched
                do { got = try Download.get(u, to: out) } catch { throw BuildError("ADD \(u): \(error)") }
                if let sum = ins.flag("checksum") {
                    let want = try lex.process(sum, lookup), have = try Self.fileDigest(d + "/" + name)
                    guard want == have else { throw BuildError("ADD \(u): digest mismatch \(have): \(want) (--checksum)") }
                }
                if let lm = got.lastModified, let t = Self.httpDate(lm) {
                    var times = [timespec(tv_sec: t, tv_nsec: 0), timespec(tv_sec: t, tv_nsec: 0)]
                    _ = futimens(out.raw, &times)
                }
                if !names.contains(name) { names.append(name) }
            }
            let tree = try SourceTree(path: d, what: "ADD's downloads")
            fetched = (tree, try names.map { SourceEntry(src: $0, dst: $0, st: try tree.lstatIn($0), link: nil) })
        }
        let selection = try source.select(words, exclude: exclude, parents: parents)
        let multiple = selection.multiple || words.count + heredocFiles.count + urls.count > 1
        let sourceIsDir = words.contains { w in ((try? source.lstatIn(DockerIgnore.clean(w) == "." ? "" : DockerIgnore.clean(w)))?.st_mode ?? 0) & S_IFMT == S_IFDIR }
        var keyParts = [ins.keyword, st.imageID, dest, slashEnd ? "/" : "", ins.flag("chown") ?? "", ins.flag("chmod") ?? "",
                        parents ? "parents" : "", excludes.joined(separator: "\u{0}"),
                        fromStage ? "from" : "context", try source.digest(selection.entries)]
        keyParts += heredocFiles.map { $0.0 + "\u{0}" + $0.1 }
        if let f = fetched { keyParts += ["url", try f.tree.digest(f.entries)] }
        let key = Self.key(keyParts)
        if let hit = cached(key, st.imageID, o) { use(hit, &st, label: label, ins); return }
        onEvent(.step(step, "\(label) \(ins.original)"))
        let ws = try Workspace(builder: self, state: st)
        defer { ws.discard() }
        let rootFD = try FD.open(ws.root, O_RDONLY | O_DIRECTORY)
        var copier = Copier(root: rootFD)
        copier.keepOwner = fromStage
        if let chown = ins.flag("chown") {
            let spec = try lex.process(chown, lookup)
            let read = { (p: String) -> String? in (try? rootFD.openInRoot(p, O_RDONLY)).flatMap { try? $0.readToEnd() }.map { String(decoding: $0, as: UTF8.self) } }
            do {
                let u = try RunConfig.resolveUser(spec, passwd: read("/etc/passwd"), group: read("/etc/group"))
                copier.owner = (u.uid, u.gid)
            } catch {
                throw BuildError("--chown=\(spec): \(error)")
            }
        }
        if let m = ins.flag("chmod") { copier.chmod = try Chmod(m) }
        let existingDir = (try? rootFD.openInRoot(dest, O_RDONLY | O_DIRECTORY)) != nil
        let intoDirectory = slashEnd || multiple || sourceIsDir || existingDir
        if multiple && !slashEnd && !existingDir {
            throw BuildError("When using \(ins.keyword) with more than one source file, the destination must be a directory and end with a /")
        }
        var archives: [SourceEntry] = []
        var plain = selection.entries
        if ins.keyword == "ADD" && !fromStage {
            archives = plain.filter { e in
                (e.st.st_mode & S_IFMT) == S_IFREG && !e.dst.contains("/") && ((try? source.open(e.src)).map(Layer.isArchive) ?? false)
            }
            plain.removeAll { e in archives.contains { $0.src == e.src } }
        }
        try copier.copy(plain, from: source, to: dest, intoDirectory: intoDirectory)
        if let f = fetched { try copier.copy(f.entries, from: f.tree, to: dest, intoDirectory: intoDirectory) }
        for a in archives {
            // ADD extracts a local tar (gzip, bzip2, xz, zstd or plain) into the destination directory.
            try copier.mkdirAll(dest)
            let into = try rootFD.openInRoot(dest, O_RDONLY | O_DIRECTORY)
            do { try Layer.extract(try source.open(a.src), into: into) } catch {
                throw BuildError("ADD \(a.src): cannot extract: \(error)")
            }
        }
        for (name, content) in heredocFiles {
            let target = intoDirectory ? (dest == "/" ? "/" : dest + "/") + name : dest
            try copier.mkdirAll(String(target[..<target.lastIndex(of: "/")!]))
            let (parent, leaf) = SourceTree.split(String(target.dropFirst()))
            let p = parent.isEmpty ? rootFD : try rootFD.openInRoot(parent, O_RDONLY | O_DIRECTORY)
            _ = unlinkat(p.raw, leaf, 0)
            let f = try FD(checked: openat(p.raw, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644), "create", target)
            try f.writeAll(Array(content.utf8))
            if let ow = copier.owner { fchown(f.raw, ow.uid, ow.gid) }
            if let m = copier.chmod { fchmod(f.raw, m.apply(to: S_IFREG | 0o644)) }
        }
        let upper = try ws.finish()
        c = st.config.config ?? .init()
        var next = st
        next.config.config = c
        let shown = (ins.flags.map { "--\($0.0)\($0.1.map { "=" + $0 } ?? "")" } + [ins.json.map { $0.joined(separator: " ") } ?? ins.args]).joined(separator: " ")
        try commit(&next, layerFrom: upper, createdBy: "\(ins.keyword) \(shown)", key: key)
        st = next
    }

    static func fileDigest(_ path: String) throws -> String {
        let fd = try FD.open(path, O_RDONLY | O_CLOEXEC)
        var h = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd.raw, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw SysError("read", path) }
            if n == 0 { break }
            h.update(data: buf[0..<n])
        }
        return "sha256:" + h.finalize().map { ImageStore.hexByte($0) }.joined()
    }

    /// An HTTP date (RFC 1123, "Wed, 21 Oct 2015 07:28:00 GMT") as seconds since the epoch.
    static func httpDate(_ s: String) -> Int? {
        let f = s.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard f.count == 6, f[5] == "GMT", let day = Int32(f[1]), let mon = months.firstIndex(of: String(f[2])), let year = Int32(f[3]) else { return nil }
        let hms = f[4].split(separator: ":").compactMap { Int32($0) }
        guard hms.count == 3 else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = year - 1900
        tm.tm_mon = Int32(mon)
        tm.tm_mday = day
        tm.tm_hour = hms[0]
        tm.tm_min = hms[1]
        tm.tm_sec = hms[2]
        return timegm(&tm)
    }

}

extension String {
    func leftPad(_ n: Int, _ c: Character) -> String { count >= n ? self : String(repeating: c, count: n - count) + self }
}
