import Engine
import ImageImport
import ImageStore
import Registry
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

public struct BuildError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// `swiftrun build`: a Dockerfile's stages, daemonless. Each step's result is an image of
/// the store whose record names the image before it and the step's cache key; the next
/// build with the same parent and key takes it instead of running the step (the cache, kept
/// by `rmi` until `builder prune`). RUN is a container of our engine (its network, seccomp,
/// capabilities, hosts and resolv.conf); COPY writes into a container's root; a step's layer
/// is the overlay upper directory it left, packed as a tar and moved into the store as is.
public final class Builder {
    public struct Options {
        public var context: String
        /// The Dockerfile's path; nil: CONTEXT/Dockerfile.
        public var dockerfile: String?
        /// `-f -`: its text.
        public var dockerfileText: String?
        public var tags: [String] = []
        public var target: String?
        public var buildArgs: [String: String] = [:]
        public var noCache = false
        /// --pull: fetch every base image again; else only one the store lacks (Docker's way).
        public var pull = false
        /// RUN's network: nil (the default bridge), "none", "host".
        public var network: String?
        public var labels: [String: String] = [:]
        /// --secret id=ID,src=FILE: what RUN --mount=type=secret,id=ID shows, read-only.
        public var secrets: [String: String] = [:]
        public init(context: String) { self.context = context }
    }

    let engine: Engine
    var store: ImageStore { engine.store }
    /// Progress lines (BuildKit's plain format).
    public var progress: (String) -> Void = { _ in }
    /// The same as events, for a live view (`--progress tty`); by default, the plain lines.
    public lazy var onEvent: (BuildEvent) -> Void = { [unowned self] e in
        if case .finished = e { return }
        self.progress(e.plain)
    }
    /// Signals that end the build (started by the CLI before any thread).
    public var interrupts = Interrupts()
    /// What a step's containers carry: our pid and start time (the next build sweeps those
    /// of a build that was killed).
    lazy var ownerLabel = "\(getpid()):\(Proc.stat(getpid())?.startTime ?? 0)"
    static let ownerKey = "io.swiftrun.build"
    var step = 0
    let startNs = Time.monotonicNanos()
    /// --no-cache: a step's result is never swapped for another build's.
    var noCache = false

    public init(engine: Engine) { self.engine = engine }

    /// A stage's state between steps.
    struct State {
        var name: String?
        /// The image of the last step ("scratch" before any).
        var imageID: String
        var config: ImageConfig
        var layers: [ImageStore.LayerRef]
        /// ARGs declared in this stage, with their values.
        var args: [(String, String?)] = []
        /// CMD set in this stage (an ENTRYPOINT then keeps it; else it clears the base's).
        var cmdSet = false
        var env: [String] { config.config?.Env ?? [] }
    }

    struct Stage {
        var index: Int
        var name: String?
        var from: String
        var platform: String?
        var instructions: [Dockerfile.Instruction]
        var line: Int
    }

    /// Builds and tags; returns the image ID.
    public func build(_ o: Options) throws -> String {
        sweepAbandoned()
        noCache = o.noCache
        let context = try Files.realpath(o.context)
        guard Files.isDirectory(context) else { throw BuildError("unable to prepare context: path \"\(o.context)\" is not a directory") }
        let dfPath = o.dockerfile.map { $0.hasPrefix("/") ? $0 : Files.absolute($0) } ?? context + "/Dockerfile"
        let text: String
        if let t = o.dockerfileText {
            text = t
        } else {
            guard let t = try? Files.readString(dfPath) else {
                throw BuildError("failed to read dockerfile: open \(dfPath): no such file or directory")
            }
            text = t
        }
        let fileName = o.dockerfileText != nil ? "Dockerfile" : String(dfPath.split(separator: "/").last ?? "Dockerfile")
        let df = try Dockerfile.parse(text, file: fileName)
        // <Dockerfile>.dockerignore beside the Dockerfile wins over the context's.
        let ignoreText = (o.dockerfileText == nil ? try? Files.readString(dfPath + ".dockerignore") : nil)
            ?? (try? Files.readString(context + "/.dockerignore")) ?? ""
        let tree = try SourceTree(path: context, ignore: DockerIgnore(ignoreText), what: "the build context")
        let lex = ShellLex(escape: df.escape)

        // Global ARGs (before the first FROM): visible in FROM lines only, until re-declared.
        var globalArgs: [(String, String?)] = []
        var stages: [Stage] = []
        for ins in df.instructions {
            if ins.keyword == "FROM" {
                let words = lex.words(ins.args)
                guard words.count == 1 || (words.count == 3 && words[1].lowercased() == "as") else {
                    throw DockerfileError(df.file, ins.line, "FROM requires either one or three arguments: FROM IMAGE [AS NAME]")
                }
                let lookup = { (k: String) -> String? in self.argValue(k, globalArgs, o.buildArgs) ?? Self.platformArgs[k] }
                let from = try lex.process(words[0], lookup)
                if let f = ins.flag("platform"), case let p = try lex.process(f, lookup), p != "linux/amd64" && p != "linux" {
                    throw DockerfileError(df.file, ins.line, "FROM --platform=\(p): only linux/amd64 builds and runs on this machine")
                }
                let name = words.count == 3 ? words[2].lowercased() : nil
                if let n = name, stages.contains(where: { $0.name == n }) {
                    throw DockerfileError(df.file, ins.line, "duplicate stage name \"\(n)\"")
                }
                stages.append(Stage(index: stages.count, name: name, from: from, platform: ins.flag("platform"), instructions: [], line: ins.line))
            } else if stages.isEmpty {
                guard ins.keyword == "ARG" else {
                    throw DockerfileError(df.file, ins.line, "no build stage in current context: \(ins.keyword) before the first FROM")
                }
                for (k, v) in try lex.pairs(ins.args, legacy: false, { _ in nil }) { globalArgs.append((k, v)) }
            } else {
                stages[stages.count - 1].instructions.append(ins)
            }
        }
        guard !stages.isEmpty else { throw DockerfileError(df.file, 1, "the Dockerfile has no FROM instruction") }
        // The target and the stages it needs, in order.
        let targetIndex: Int
        if let t = o.target {
            guard let i = stages.firstIndex(where: { $0.name == t.lowercased() }) else {
                throw BuildError("target stage \"\(t)\" could not be found")
            }
            targetIndex = i
        } else {
            targetIndex = stages.count - 1
        }
        try interrupts.check()
        var needed = Set<Int>()
        func need(_ i: Int) throws {
            guard needed.insert(i).inserted else { return }
            if let dep = stageIndex(stages[i].from, stages, before: i) { try need(dep) }
            for ins in stages[i].instructions where ins.keyword == "COPY" || ins.keyword == "ADD" {
                if let f = ins.flag("from"), let dep = stageIndex(f, stages, before: i) { try need(dep) }
            }
        }
        try need(targetIndex)

        var results: [Int: State] = [:]
        for i in needed.sorted() {
            results[i] = try buildStage(stages[i], stages, results, globalArgs: globalArgs, o: o, tree: tree, lex: lex, file: df.file)
        }
        var final = results[targetIndex]!
        if !o.labels.isEmpty {
            var c = final.config.config ?? .init()
            var l = c.Labels ?? [:]
            for (k, v) in o.labels { l[k] = v }
            c.Labels = l
            final.config.config = c
            let key = Self.key(["LABEL --label", final.imageID] + o.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            try commit(&final, layerFrom: nil, createdBy: "LABEL (from --label)", key: key)
        }
        try interrupts.check()
        step += 1
        onEvent(.note(step, "naming to \(o.tags.isEmpty ? "<none>" : o.tags.joined(separator: ", "))"))
        for t in o.tags { try store.tag(final.imageID, as: t) }
        onEvent(.note(step, "writing image \(final.imageID) done"))
        onEvent(.finished)
        return final.imageID
    }

    /// The containers of builds that were killed (SIGKILL, a crash): removed with what they hold.
    func sweepAbandoned() {
        for v in engine.list() {
            guard let owner = v.container.Config.Labels[Self.ownerKey] else { continue }
            let parts = owner.split(separator: ":")
            guard parts.count == 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]) else { continue }
            if !Proc.isAlive(pid, startTime: start) { try? engine.remove(v.container.Id, force: true, volumes: true) }
        }
    }

    func stageIndex(_ ref: String, _ stages: [Stage], before i: Int) -> Int? {
        if let n = Int(ref), n >= 0, n < i { return n }
        return stages[..<i].firstIndex { $0.name == ref.lowercased() }
    }

    func argValue(_ k: String, _ declared: [(String, String?)], _ buildArgs: [String: String]) -> String? {
        guard let d = declared.last(where: { $0.0 == k }) else { return nil }
        return buildArgs[k] ?? d.1
    }

    /// BuildKit's automatic platform ARGs: in FROM lines as they are, in a stage once declared
    /// (`ARG TARGETARCH`). Builds here are linux/amd64 for linux/amd64.
    static let platformArgs: [String: String] = ["TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64",
                                                 "TARGETVARIANT": "", "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux",
                                                 "BUILDARCH": "amd64", "BUILDVARIANT": ""]

    static let proxyArgs: Set<String> = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                                         "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"]

    static func key(_ parts: [String]) -> String {
        ImageStore.digest(Array(parts.joined(separator: "\u{0}").utf8))
    }

    /// A FROM image: from the store, pulled first when it is missing or with --pull.
    func baseImage(_ ref: String, pull: Bool, label: String) throws -> ImageStore.Image {
        if !pull, let img = try? engine.findImage(ref) { return img }
        onEvent(.note(step, "\(label) pulling \(ref)"))
        _ = try Puller.pull(ref, store: store) { e in
            if case .resolved(let line) = e { self.onEvent(.note(self.step, line)) }
        }
        return try engine.findImage(ref)
    }

    // MARK: a stage

    func buildStage(_ s: Stage, _ stages: [Stage], _ done: [Int: State], globalArgs: [(String, String?)], o: Options,
                    tree: SourceTree, lex: ShellLex, file: String) throws -> State {
        var st: State
        step += 1
        let label = "[\(s.name ?? "stage-\(s.index)") 1/\(s.instructions.count + 1)]"
        if let dep = stageIndex(s.from, stages, before: s.index), let base = done[dep] {
            st = base
            st.args = []
            st.cmdSet = false
            onEvent(.step(step, "\(label) FROM \(s.from)"))
        } else if s.from.lowercased() == "scratch" {
            st = State(imageID: "scratch", config: ImageConfig(config: .init(), history: []), layers: [])
            onEvent(.step(step, "\(label) FROM scratch"))
        } else {
            let img: ImageStore.Image
            do { img = try baseImage(s.from, pull: o.pull, label: label) } catch {
                throw BuildError("\(file):\(s.line): FROM \(s.from): \(error)")
            }
            let config = try JSON.decode(ImageConfig.self, from: try store.readBlob(img.id), what: "image config \(img.id)")
            st = State(imageID: img.id, config: config, layers: img.layers)
            onEvent(.step(step, "\(label) FROM \(s.from) (\(img.id.dropFirst(7).prefix(12)))"))
        }
        st.name = s.name
        var instructions = s.instructions
        // ONBUILD triggers of the base image run first, and are not inherited further.
        if let triggers = st.config.config?.OnBuild, !triggers.isEmpty {
            let parsed = try Dockerfile.parse(triggers.joined(separator: "\n"), file: "ONBUILD of \(s.from)")
            instructions = parsed.instructions + instructions
            st.config.config?.OnBuild = nil
        }
        for (n, ins) in instructions.enumerated() {
            try interrupts.check()
            step += 1
            let label = "[\(s.name ?? "stage-\(s.index)") \(n + 2)/\(instructions.count + 1)]"
            do {
                try run(ins, &st, stages: stages, done: done, current: s.index, globalArgs: globalArgs, o: o, tree: tree, lex: lex,
                        label: label)
            } catch let e as ShellLex.Failure {
                throw DockerfileError(file, ins.line, "\(ins.keyword): \(e.description)")
            } catch let e as DockerfileError {
                throw e
            } catch {
                throw BuildError("\(file):\(ins.line): \(ins.original): \(error)")
            }
        }
        return st
    }

    /// One instruction: config-only ones change the config; RUN, COPY, ADD and a WORKDIR that
    /// must be created make a layer. Each result is committed (or found in the cache).
    func run(_ ins: Dockerfile.Instruction, _ st: inout State, stages: [Stage], done: [Int: State], current: Int,
             globalArgs: [(String, String?)], o: Options, tree: SourceTree, lex: ShellLex, label: String) throws {
        // What `$V` means here: the stage's ENV, then its ARGs (ENV wins on a name clash).
        let envMap = Dictionary(st.env.compactMap { kv -> (String, String)? in
            guard let eq = kv.firstIndex(of: "=") else { return nil }
            return (String(kv[..<eq]), String(kv[kv.index(after: eq)...]))
        }, uniquingKeysWith: { _, b in b })
        let args = st.args
        let lookup = { (k: String) -> String? in envMap[k] ?? self.argValue(k, args, o.buildArgs) }
        var c = st.config.config ?? .init()
        let createdBy: String
        var keyParts = [ins.keyword, st.imageID]

        switch ins.keyword {
        case "ARG":
            for (k, v) in try lex.pairs(ins.args, legacy: false, lookup) {
                // A global ARG re-declared without a value takes the global default.
                let value = v ?? globalArgs.last(where: { $0.0 == k })?.1 ?? Self.platformArgs[k]
                st.args.append((k, value))
            }
            onEvent(.step(step, "\(label) \(ins.original)"))
            return // never in the image; it reaches RUN's environment and cache key
        case "ENV":
            var env = st.env
            for (k, v) in try lex.pairs(ins.args, legacy: true, lookup) {
                guard let v else { throw BuildError("ENV \(k): a value is needed (ENV \(k)=VALUE)") }
                env.removeAll { $0.hasPrefix(k + "=") }
                env.append("\(k)=\(v)")
            }
            c.Env = env
            createdBy = "ENV " + ins.args
        case "LABEL", "MAINTAINER":
            var labels = c.Labels ?? [:]
            if ins.keyword == "MAINTAINER" {
                labels["maintainer"] = try lex.process(ins.args, lookup)
            } else {
                for (k, v) in try lex.pairs(ins.args, legacy: true, lookup) { labels[k] = v ?? "" }
            }
            c.Labels = labels
            createdBy = ins.keyword + " " + ins.args
        case "EXPOSE":
            var ports = c.ExposedPorts ?? [:]
            for w in lex.words(ins.args) {
                let p = try lex.process(w, lookup)
                ports[p.contains("/") ? p : p + "/tcp"] = .init()
            }
            c.ExposedPorts = ports
            createdBy = "EXPOSE " + ins.args
        case "WORKDIR":
            let w = try lex.process(ins.args, lookup)
            let dir = w.hasPrefix("/") ? w : ((c.WorkingDir ?? "/") + "/" + w)
            c.WorkingDir = "/" + DockerIgnore.clean(dir)
            if c.WorkingDir == "/." { c.WorkingDir = "/" }
            createdBy = "WORKDIR " + c.WorkingDir!
        case "USER":
            c.User = try lex.process(ins.args, lookup)
            createdBy = "USER " + c.User!
        case "VOLUME":
            var v = c.Volumes ?? [:]
            for p in try ins.json ?? lex.words(ins.args).map({ try lex.process($0, lookup) }) { v[p] = .init() }
            c.Volumes = v
            createdBy = "VOLUME " + ins.args
        case "STOPSIGNAL":
            c.StopSignal = try lex.process(ins.args, lookup)
            createdBy = "STOPSIGNAL " + c.StopSignal!
        case "SHELL":
            guard let j = ins.json, !j.isEmpty else { throw BuildError("SHELL requires the JSON form: SHELL [\"executable\", \"parameters\"]") }
            c.Shell = j
            createdBy = "SHELL " + ins.args
        case "CMD", "ENTRYPOINT":
            let cmd = ins.json ?? ((c.Shell ?? ["/bin/sh", "-c"]) + [ins.args])
            if ins.keyword == "CMD" {
                c.Cmd = cmd
                st.cmdSet = true
            } else {
                c.Entrypoint = cmd
                // ENTRYPOINT clears a CMD from the base image (not one of this stage).
                if !st.cmdSet { c.Cmd = nil }
            }
            createdBy = "\(ins.keyword) \(ins.json.map { "[\($0.map { "\"\($0)\"" }.joined(separator: " "))]" } ?? ins.args)"
        case "HEALTHCHECK":
            c.Healthcheck = try healthcheck(ins, c.Shell)
            createdBy = "HEALTHCHECK " + ins.args
        case "ONBUILD":
            let inner = try Dockerfile.parse(ins.args, file: "ONBUILD")
            guard let t = inner.instructions.first, !["ONBUILD", "FROM", "MAINTAINER"].contains(t.keyword) else {
                throw BuildError("ONBUILD cannot trigger \(ins.args.split(separator: " ").first ?? "")")
            }
            c.OnBuild = (c.OnBuild ?? []) + [ins.args]
            createdBy = "ONBUILD " + ins.args
        case "RUN":
            var mounts = try RunMounts.parse(ins, builder: self, o: o, tree: tree, stages: stages, done: done, current: current,
                                             workdir: c.WorkingDir ?? "/")
            defer { for h in mounts.holds { h.discard() } }
            try runStep(ins, &st, lookup: lookup, o: o, label: label, mounts: mounts)
            mounts.holds = []
            return
        case "COPY", "ADD":
            try copyStep(ins, &st, stages: stages, done: done, current: current, o: o, tree: tree, lex: lex, lookup: lookup, label: label)
            return
        default:
            throw BuildError("\(ins.keyword) is not supported")
        }
        keyParts.append(createdBy)
        var next = st
        next.config.config = c
        if ins.keyword == "WORKDIR", let w = c.WorkingDir, !st.layers.isEmpty || st.imageID != "scratch" {
            // Created now when missing (as the legacy builder did), so RUN and COPY find it.
            let ws = try Workspace(builder: self, state: st)
            defer { ws.discard() }
            let made = try ws.mkdirIfMissing(w)
            if made {
                if let hit = cached(Self.key(keyParts + ["mkdir"]), st.imageID, o) { use(hit, &st, label: label, ins); return }
                onEvent(.step(step, "\(label) \(ins.original)"))
                try commit(&next, layerFrom: try ws.finish(), createdBy: createdBy, key: Self.key(keyParts + ["mkdir"]))
                st = next
                return
            }
        }
        let key = Self.key(keyParts)
        if let hit = cached(key, st.imageID, o) { use(hit, &st, label: label, ins); return }
        onEvent(.step(step, "\(label) \(ins.original)"))
        try commit(&next, layerFrom: nil, createdBy: createdBy, key: key)
        st = next
    }

    static let comment = "buildkit.dockerfile.v0"

    func healthcheck(_ ins: Dockerfile.Instruction, _ shell: [String]?) throws -> ImageConfig.Healthcheck? {
        let rest = ins.args.trimmingLeadingSpace()
        if rest.uppercased() == "NONE" { return .init(Test: ["NONE"], Interval: nil, Timeout: nil, StartPeriod: nil, StartInterval: nil, Retries: nil) }
        guard rest.uppercased().hasPrefix("CMD") else { throw BuildError("HEALTHCHECK: use HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE") }
        let cmdText = String(rest.dropFirst(3)).trimmingLeadingSpace()
        var h = ImageConfig.Healthcheck(Test: nil, Interval: nil, Timeout: nil, StartPeriod: nil, StartInterval: nil, Retries: nil)
        for (k, v) in ins.flags {
            guard let v else { throw BuildError("HEALTHCHECK --\(k) needs a value") }
            func dur() throws -> Int64 {
                guard let d = GoDuration.parse(v), d >= 0 else { throw BuildError("HEALTHCHECK --\(k)=\(v): not a duration (30s, 1m30s, 500ms)") }
                return d
            }
            switch k {
            case "interval": h.Interval = try dur()
            case "timeout": h.Timeout = try dur()
            case "start-period": h.StartPeriod = try dur()
            case "start-interval": h.StartInterval = try dur()
            case "retries":
                guard let r = Int(v), r >= 0 else { throw BuildError("HEALTHCHECK --retries=\(v): not a number") }
                h.Retries = r
            default: throw BuildError("HEALTHCHECK: unknown flag --\(k)")
            }
        }
        if cmdText.hasPrefix("["), let j = (try? Dockerfile.instruction("CMD " + cmdText, line: ins.line, file: ""))?.json {
            h.Test = ["CMD"] + j
        } else {
            h.Test = ["CMD-SHELL", cmdText]
        }
        return h
    }

    // MARK: cache and commit

    func cached(_ key: String, _ parent: String, _ o: Options) -> ImageStore.Image? {
        guard !o.noCache else { return nil }
        return (try? store.images())?.first { $0.parent == parent && $0.buildKey == key }
    }

    func use(_ img: ImageStore.Image, _ st: inout State, label: String, _ ins: Dockerfile.Instruction) {
        onEvent(.step(step, "\(label) \(ins.original)"))
        onEvent(.cached(step))
        if let config = try? JSON.decode(ImageConfig.self, from: try store.readBlob(img.id), what: "image config") {
            st.config = config
        }
        st.imageID = img.id
        st.layers = img.layers
    }

    /// The step's result into the store: a layer from `layerFrom` (an upper directory,
    /// moved into the store; none if it holds nothing) and the config, as one image whose
    /// parent is the state's image and whose key makes it the cache of this step.
    func commit(_ st: inout State, layerFrom upper: String?, createdBy: String, key: String) throws {
        let now = Time.rfc3339Nano()
        var empty = true
        var newLayer: ImageStore.LayerRef?
        var tarPath: String?
        defer { if let t = tarPath { unlink(t) } }
        if let upper, !(try Files.list(upper)).isEmpty {
            empty = false
            let t = store.root + "/tmp/layer-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            tarPath = t
            let out = try FD.open(t, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            let (diffID, stats) = try Layer.pack(dir: upper, to: out)
            out.close()
            let chain = ImageStore.chainIDs(st.config.rootfs.diff_ids + [diffID]).last!
            newLayer = ImageStore.LayerRef(blob: diffID, diffID: diffID, chainID: chain, size: Int64(stats.bytes))
        }
        var config = st.config
        if let l = newLayer { config.rootfs.diff_ids.append(l.diffID) }
        config.created = now
        config.history = (config.history ?? []) + [ImageConfig.History(created: now, created_by: createdBy, comment: Self.comment,
                                                                       empty_layer: empty ? true : nil)]
        let bytes = try JSON.encode(config)
        let id = ImageStore.digest(bytes)
        let layers = st.layers + (newLayer.map { [$0] } ?? [])
        let adopted: ImageStore.Image? = try store.transaction {
            // Another build finished the same step on the same parent while this one ran it:
            // its result is taken, so both builds (and the cache) go on from one image.
            if !noCache, let other = try store.images().first(where: { $0.parent == st.imageID && $0.buildKey == key }) { return other }
            if let l = newLayer, let t = tarPath {
                try store.ingest(fd: try FD.open(t, O_RDONLY), expected: l.blob, what: "the layer of \(createdBy)")
                let dest = store.layerPath(l.chainID)
                if !Files.exists(dest) {
                    if rename(upper!, dest) != 0 {
                        // Another filesystem: unpacked from the tar instead.
                        guard errno == EXDEV else { throw SysError("rename", dest) }
                        try Layer.unpack(blob: t, into: dest, diffID: l.diffID)
                    }
                    store.track(dest)
                }
            }
            try store.ingest(bytes: bytes, expected: id, what: "image config")
            var img = ImageStore.Image(id: id, names: [], layers: layers, created: now,
                                       size: ImageStore.unpackedSize(layers, blobs: 0))
            img.parent = st.imageID
            img.buildKey = key
            try store.add(img)
            return nil
        }
        if let other = adopted, let c = try? JSON.decode(ImageConfig.self, from: try store.readBlob(other.id), what: "image config") {
            st.config = c
            st.imageID = other.id
            st.layers = other.layers
            return
        }
        st.config = config
        st.imageID = id
        st.layers = layers
    }
}

/// What a build reports, step by step (BuildKit's vertexes, simply): a step begins, was
/// found in the cache, printed a line; other notes; the end.
public enum BuildEvent {
    case step(Int, String)
    case cached(Int)
    case output(Int, String, seconds: Double)
    case note(Int, String)
    case finished

    /// BuildKit's plain progress line.
    public var plain: String {
        switch self {
        case .step(let n, let text), .note(let n, let text): return "#\(n) \(text)"
        case .cached(let n): return "#\(n) CACHED"
        case .output(let n, let line, let secs):
            return "#\(n) \(Int(secs)).\(String(Int((secs - Double(Int(secs))) * 1000)).leftPad(3, "0")) \(line)"
        case .finished: return ""
        }
    }
}
