import ArgumentParser
import Build
import Engine
import ImageStore
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Build an image from a Dockerfile (daemonless; RUN steps are containers).")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "Name and optionally a tag (NAME[:TAG]); repeatable.") var tag: [String] = []
    @Option(name: [.short, .long], help: "The Dockerfile (default: CONTEXT/Dockerfile; - reads standard input).") var file: String?
    @Option(help: "The stage to build (default: the last).") var target: String?
    @Option(name: .customLong("build-arg"), help: "KEY=VALUE, or KEY to take it from the environment; repeatable.") var buildArg: [String] = []
    @Flag(name: .customLong("no-cache"), help: "Run every step again.") var noCache = false
    @Option(help: "RUN's network: default (the bridge), none or host.") var network: String = "default"
    @Option(help: "auto (tty on a terminal, else plain), plain (one line per event) or tty (a live view).") var progress: String = "auto"
    @Flag(name: [.short, .long], help: "Print only the image ID.") var quiet = false
    @Option(help: "A label for the image (KEY=VALUE); repeatable.") var label: [String] = []
    @Option(help: "Write the image ID to this file.") var iidfile: String?
    @Option(help: "id=ID,src=FILE or id=ID,env=VAR: a secret RUN --mount=type=secret,id=ID can read (never stored).") var secret: [String] = []
    @Option(help: "Only linux/amd64 is built here.") var platform: String?
    @Flag(help: "Pull every base image again (without it, only one the store lacks is pulled).") var pull = false
    @Argument(help: "The build context: a directory.") var context: String

    func run() throws {
        let interrupts = Interrupts()
        interrupts.start() // before any thread: every thread inherits the blocked mask
        do {
            try engine { try build(interrupts) }
        } catch is ExitCode where interrupts.received != 0 {
            throw ExitCode(128 + interrupts.received)
        }
    }

    func build(_ interrupts: Interrupts) throws {
        do {
            if let p = platform, p != "linux/amd64" { throw Failure("--platform \(p): only linux/amd64 can be built on this machine") }
            guard ["auto", "plain", "tty"].contains(progress) else { throw Failure("invalid --progress \(progress): use auto, plain or tty") }
            guard ["default", "none", "host", "bridge"].contains(network) else { throw Failure("invalid --network \(network): use default, none or host") }
            var o = Builder.Options(context: context)
            if file == "-" {
                o.dockerfileText = String(decoding: try FD(checkedDup: 0).readToEnd(), as: UTF8.self)
            } else {
                o.dockerfile = file
            }
            o.tags = try tag.map { try ImageStore.checkedName($0, what: "tag") }
            o.target = target
            for a in buildArg {
                if let eq = a.firstIndex(of: "=") {
                    o.buildArgs[String(a[..<eq])] = String(a[a.index(after: eq)...])
                } else if let v = getenv(a) {
                    o.buildArgs[a] = String(cString: v)
                }
            }
            for l in label {
                guard let eq = l.firstIndex(of: "=") else { throw Failure("invalid --label \(l): use KEY=VALUE") }
                o.labels[String(l[..<eq])] = String(l[l.index(after: eq)...])
            }
            var spooled: [String] = []
            defer { for p in spooled { unlink(p) } }
            for sec in secret {
                var f: [String: String] = [:]
                for part in sec.split(separator: ",") {
                    let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                    f[kv[0]] = kv.count > 1 ? kv[1] : ""
                }
                guard let id = f["id"] else { throw Failure("invalid --secret \(sec): use id=ID,src=FILE or id=ID,env=VAR") }
                if let src = f["src"] ?? f["source"] {
                    guard Files.exists(src) else { throw Failure("--secret \(id): \(src) not found") }
                    o.secrets[id] = try Files.realpath(src)
                } else {
                    let name = f["env"] ?? id
                    guard let v = getenv(name) else { throw Failure("--secret \(id): the environment has no \(name)") }
                    // A file of ours for the bind, 0600, gone when the build ends.
                    let p = s.root + "/tmp/secret-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                    let fd = try FD.open(p, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
                    spooled.append(p)
                    try fd.writeAll(Array(String(cString: v).utf8))
                    o.secrets[id] = p
                }
            }
            o.noCache = noCache
            o.pull = pull
            o.network = network == "default" || network == "bridge" ? nil : network
            let b = Builder(engine: try s.engine())
            b.interrupts = interrupts
            var view: BuildProgressView?
            defer { view?.stop() }
            if !quiet {
                b.progress = { stderrWrite($0 + "\n") }
                // auto: the live view on a terminal, plain lines elsewhere (CI logs).
                if progress == "tty" || (progress == "auto" && isatty(2) == 1) {
                    let v = BuildProgressView()
                    b.onEvent = { v.handle($0) }
                    v.start()
                    view = v
                }
            }
            let id = try b.build(o)
            if let f = iidfile { try Files.writeAtomic(Files.absolute(f), Array(id.utf8)) }
            if quiet { stdoutWrite(id + "\n") }
        } catch let e as Interrupted {
            throw Failure(e.description)
        }
    }
}

struct BuilderGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "builder", abstract: "Manage the build cache.",
                                                    subcommands: [BuilderPrune.self])
}

struct BuilderPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove the build cache (the steps no image name keeps).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "All of it (the same here: named images are never cache).") var all = false
    @Flag(name: [.short, .long], help: "Do not ask (never asked here).") var force = false

    func run() throws {
        try engine {
            let e = try s.engine()
            let used = Set(e.list().map { $0.container.ImageID })
            var freed: Int64 = 0
            var n = 0
            for img in try e.store.images() where img.intermediate && !used.contains(img.id) {
                _ = try e.store.remove(img.id)
                freed += img.size
                n += 1
            }
            // RUN --mount=type=cache directories go with the rest of the cache.
            let mounts = e.store.buildCacheMounts
            for d in (try? Files.list(mounts)) ?? [] {
                freed += Files.treeSize(mounts + "/" + d)
                try Files.removeTree(mounts + "/" + d)
            }
            stdoutWrite("Total reclaimed space: \(Images.human(freed))\n")
            _ = n
        }
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show the history of an image.")
    @OptionGroup var s: StoreOptions
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate.") var noTrunc = false
    @Flag(name: [.short, .long], help: "Only image IDs.") var quiet = false
    @Argument(help: "The image.") var image: String

    func run() throws {
        try engine {
            let e = try s.engine()
            let img = try e.findImage(image)
            let config = try JSON.decode(ImageConfig.self, from: try e.store.readBlob(img.id), what: "image config \(img.id)")
            let now = Time.nowNanos()
            var layerIndex = img.layers.count
            var rows: [[String]] = []
            for (i, h) in (config.history ?? []).enumerated().reversed() {
                var size = "0B"
                if h.empty_layer != true {
                    layerIndex -= 1
                    if layerIndex >= 0, let s = img.layers[layerIndex].size { size = Images.human(s) }
                }
                let id = i == (config.history?.count ?? 0) - 1 ? String(img.id.dropFirst(7).prefix(12)) : "<missing>"
                if quiet { if id != "<missing>" { stdoutWrite(id + "\n") }; continue }
                let created = h.created.flatMap { JSONLogReader.parseTime($0) }.map { DockerWords.humanDuration(now - $0) + " ago" } ?? "N/A"
                var by = h.created_by ?? ""
                if !noTrunc && by.count > 45 { by = String(by.prefix(44)) + "…" }
                rows.append([id, created, by, size, h.comment ?? ""])
            }
            if quiet { return }
            let head = ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
            var widths = head.map(\.count)
            for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
            for r in [head] + rows {
                stdoutWrite(r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 3) }.joined() + "\n")
            }
        }
    }
}
