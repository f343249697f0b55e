import ArgumentParser
import Foundation
import CLI
import Compose
import OCI
import Registry
import Engine
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// `compose`'s own options, which users put before the subcommand (`compose -f x.yaml up`):
/// SwiftrunRoot.entry moves them after it, where each subcommand reads them.
struct ComposeOptions: ParsableArguments {
    @OptionGroup var s: StoreOptions
    // -f and -p only before the subcommand (reorder makes them long): after it, `logs -f` follows.
    @Option(name: .customLong("file"), help: "Compose file, -f before the subcommand (repeatable; later ones override).") var file: [String] = []
    @Option(name: .customLong("project-name"), help: "Project name, -p before the subcommand (default: the directory's name).") var projectName: String?
    @Option(name: .customLong("env-file"), help: "The file interpolation reads (default: .env beside the compose file).") var envFile: String?
    @Option(name: .customLong("profile"), help: "Enable services of this profile (repeatable).") var profile: [String] = []
    @Option(name: .customLong("project-directory"), help: "Where compose files are looked for (default: the current directory).") var projectDirectory: String?

    /// Options that take a value, for SwiftrunRoot.entry's reordering.
    static let valued: Set<String> = ["--file", "--project-name", "--env-file", "--profile", "--project-directory", "--root"]

    func project() throws -> Project {
        var l = Loader()
        l.files = file
        l.projectName = projectName
        l.envFile = envFile
        l.profiles = profile
        return try l.load(cwd: projectDirectory.map(Files.absolute) ?? Files.cwd())
    }

    func orchestrator() throws -> Orchestrator {
        let o = Orchestrator(engine: try s.engine(), project: try project())
        o.say = { stderrWrite($0 + "\n") }
        o.buildProgress = { stderrWrite($0 + "\n") }
        return o
    }
}

public struct ComposeGroup: ParsableCommand {
    public init() {}

    /// `swiftrun-compose ARGS` (what `swiftrun compose ARGS` execs).
    public static func entry() -> Never {
        dispatch(ComposeGroup.self, reorder(Array(CommandLine.arguments.dropFirst())), usageExit: 125)
    }

    public static let configuration = CommandConfiguration(
        commandName: "compose", abstract: "Run multi-container applications from a compose file.",
        subcommands: [ComposeUp.self, ComposeDown.self, ComposePs.self, ComposeLogs.self, ComposeConfig.self, ComposeBuild.self,
                      ComposeStart.self, ComposeStop.self, ComposeRestart.self, ComposeRm.self, ComposeExec.self, ComposeRun.self,
                      ComposeKill.self, ComposeImages.self, ComposePull.self, ComposeTop.self])

    /// `compose [OPTIONS] SUBCOMMAND [ARGS]` → `compose SUBCOMMAND [OPTIONS] [ARGS]`.
    static func reorder(_ args: [String]) -> [String] {
        var global: [String] = []
        var i = 0
        while i < args.count, args[i].hasPrefix("-") {
            var a = args[i]
            if a == "-f" { a = "--file" } else if a == "-p" { a = "--project-name" }
            if a.hasPrefix("-f") && a.count > 2 && !a.hasPrefix("--") { a = "--file=" + a.dropFirst(2) }
            if a.hasPrefix("-p") && a.count > 2 && !a.hasPrefix("--") { a = "--project-name=" + a.dropFirst(2) }
            global.append(a)
            if valued.contains(a) && !a.contains("="), i + 1 < args.count { global.append(args[i + 1]); i += 1 }
            i += 1
        }
        guard i < args.count else { return args }
        return [args[i]] + global + args[(i + 1)...]
    }
    static let valued = ComposeOptions.valued
}

struct ComposeUp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Create and start the services' containers.")
    @OptionGroup var c: ComposeOptions
    @Flag(name: [.short, .long], help: "Detached: start them and return.") var detach = false
    @Flag(help: "Build images before starting.") var build = false
    @Flag(help: "Wait until services are running and healthy (implies -d).") var wait = false
    @Option(name: .customLong("wait-timeout"), help: "Seconds --wait waits at most.") var waitTimeout: Int?
    @Flag(name: .customLong("force-recreate"), help: "Recreate containers even if nothing changed.") var forceRecreate = false
    @Flag(name: .customLong("no-deps"), help: "Do not start the services they depend on.") var noDeps = false
    @Flag(name: .customLong("remove-orphans"), help: "Remove containers of services no longer in the file.") var removeOrphans = false
    @Flag(name: .customLong("no-color"), help: "No colours in the attached output.") var noColor = false
    @Option(help: "SERVICE=N: that many containers of the service (over the file's scale); repeatable.") var scale: [String] = []
    @Argument(help: "Services (default: all).") var services: [String] = []

    func run() throws {
        try engine {
            let o = try c.orchestrator()
            var u = Orchestrator.UpOptions()
            u.services = services
            u.build = build
            u.wait = wait
            u.waitTimeoutNs = waitTimeout.map { Int64($0) * 1_000_000_000 }
            u.forceRecreate = forceRecreate
            u.noDeps = noDeps
            u.removeOrphans = removeOrphans
            for sc in scale {
                let kv = sc.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let n = Int(kv[1]), n >= 0 else { throw Failure("invalid --scale \(sc): use SERVICE=N") }
                u.scale[kv[0]] = n
            }
            try o.up(u)
            if !detach && !wait {
                // Attached: everyone's output until they all stop; ^C stops them (compose's way).
                stderrWrite("Attaching to \(o.containers().map(\.container.Name).joined(separator: ", "))\n")
                SignalForwarder.blockSignals()
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, SIGINT)
                sigaddset(&set, SIGTERM)
                let names = services
                try ComposeLogs.follow(o, services: names, tail: nil, timestamps: false, prefix: true, color: !noColor && isatty(1) == 1, exits: true) {
                    var ts = timespec(tv_sec: 0, tv_nsec: 0)
                    return sigtimedwait(&set, nil, &ts) > 0
                }
                if o.containers(all: false).contains(where: { _ in true }) {
                    stderrWrite("Gracefully stopping... (press Ctrl+C again to force)\n")
                    // A second ^C (or TERM) kills what is still stopping. The signals stay
                    // blocked in every thread; this one takes them with sigwait.
                    let engine = o.engine, running = o.containers(all: false), waitSet = set
                    let forced = ForcedStop()
                    let killer = Thread {
                        var mask = waitSet, sig: Int32 = 0
                        guard sigwait(&mask, &sig) == 0 else { return }
                        forced.lock.locked { forced.yes = true }
                        for v in running where engine.loadState(v.container.Id).Running {
                            try? engine.kill(v.container.Id, signal: SIGKILL)
                            stderrWrite(" Container \(v.container.Name)  Killed\n")
                        }
                    }
                    killer.start()
                    try o.stop(names, timeout: nil)
                    // Compose's documented codes: 0 after a graceful stop, 2 after a forced kill.
                    if forced.lock.locked({ forced.yes }) { throw ExitCode(2) }
                }
            }
        }
    }
}

/// Whether attached `up`'s second ^C came (set by its signal thread).
final class ForcedStop: @unchecked Sendable {
    let lock = Lock()
    var yes = false
}

struct ComposeDown: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop and remove containers and networks (and with -v, volumes).")
    @OptionGroup var c: ComposeOptions
    @Flag(name: [.short, .long], help: "Remove the named volumes the file declares, and anonymous ones.") var volumes = false
    @Flag(name: .customLong("remove-orphans"), help: "Also containers of services no longer in the file.") var removeOrphans = false
    @Option(name: [.short, .long], help: "Seconds to wait for a stop before SIGKILL.") var timeout: Int?
    @Option(help: "Remove images: local (those compose built) or all (every image the services use).") var rmi: String?

    func run() throws {
        try engine {
            let images = try rmi.map { v -> Orchestrator.RemoveImages in
                guard let r = Orchestrator.RemoveImages(rawValue: v) else { throw Failure("invalid --rmi \(v): use local or all") }
                return r
            }
            try c.orchestrator().down(volumes: volumes, removeOrphans: removeOrphans, timeout: timeout, rmi: images)
        }
    }
}

struct ComposePs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the project's containers.")
    @OptionGroup var c: ComposeOptions
    @Flag(name: [.short, .long], help: "Stopped ones too.") var all = false
    @Flag(name: [.short, .long], help: "Only IDs.") var quiet = false
    @Option(help: "table (default), json (one object per line), a Go template, or 'table TEMPLATE'.") var format: String?
    @Argument(help: "Services (default: all).") var services: [String] = []

    func run() throws {
        try engine {
            let o = try c.orchestrator()
            let now = Time.nowNanos()
            var rows: [JSONValue] = []
            for v in o.containers(all: all) {
                let c = v.container
                let svc = c.Config.Labels["com.docker.compose.service"] ?? ""
                if !services.isEmpty && !services.contains(svc) { continue }
                if quiet { stdoutWrite(c.Id + "\n"); continue }
                let ports = v.state.Running ? v.state.NetworkSettings?.Ports ?? [:] : [:]
                let publishers: [JSONValue] = ports.sorted { $0.key < $1.key }.flatMap { key, hosts in
                    hosts.map { h -> JSONValue in
                        let parts = key.split(separator: "/")
                        return .object([("URL", .string(h.HostIp.isEmpty ? "0.0.0.0" : h.HostIp)), ("TargetPort", .number(String(parts.first ?? "0"))),
                                        ("PublishedPort", .number(h.HostPort.isEmpty ? "0" : h.HostPort)), ("Protocol", .string(String(parts.last ?? "tcp")))])
                    }
                }
                let labels = c.Config.Labels.keys.sorted().map { "\($0)=\(c.Config.Labels[$0]!)" }.joined(separator: ",")
                rows.append(.object([
                    ("Command", .string(DockerWords.command(c.Path, c.Args, truncate: false))),
                    ("CreatedAt", .string(c.Created)),
                    ("ExitCode", .number(String(v.state.ExitCode))),
                    ("Health", .string(v.state.Running ? v.state.Health?.Status.rawValue ?? "" : "")),
                    ("ID", .string(c.Id)),
                    ("Image", .string(c.Config.Image)),
                    ("Labels", .string(labels)),
                    ("Name", .string(c.Name)),
                    ("Names", .string(c.Name)),
                    ("Networks", .string(c.networkMode)),
                    ("Ports", .string(v.state.Running ? v.state.NetworkSettings?.portsColumn ?? "" : "")),
                    ("Project", .string(o.project.name)),
                    ("Publishers", .array(publishers)),
                    ("RunningFor", .string(DockerWords.humanDuration(now - c.CreatedNs) + " ago")),
                    ("Service", .string(svc)),
                    ("State", .string(v.state.Status.rawValue)),
                    ("Status", .string(DockerWords.status(v.state, nowNs: now))),
                ]))
            }
            if quiet { return }
            try printRows(rows, format: format,
                          columns: [("NAME", "Name"), ("IMAGE", "Image"), ("COMMAND", "Command"), ("SERVICE", "Service"), ("CREATED", "RunningFor"),
                                    ("STATUS", "Status"), ("PORTS", "Ports")],
                          type: "api.ContainerSummary")
        }
    }
}

struct ComposeLogs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "The services' output, each line with its container's name.")
    @OptionGroup var c: ComposeOptions
    @Flag(name: [.short, .long], help: "Follow until the containers stop.") var follow = false
    @Option(name: [.customShort("n"), .customLong("tail")], help: "Lines from the end of each (a number, or all).") var tail = "all"
    @Flag(name: [.short, .long], help: "Prefix each line with its time.") var timestamps = false
    @Flag(name: .customLong("no-log-prefix"), help: "No container name before each line.") var noLogPrefix = false
    @Flag(name: .customLong("no-color"), help: "No colours in the prefixes.") var noColor = false
    @Argument(help: "Services (default: all).") var services: [String] = []

    func run() throws {
        try engine {
            let o = try c.orchestrator()
            let color = !noColor && isatty(1) == 1
            var n: Int?
            if tail != "all" {
                guard let v = Int(tail), v >= 0 else { throw Failure("invalid --tail \(tail): give a number or all") }
                n = v
            }
            if follow {
                try Self.follow(o, services: services, tail: n, timestamps: timestamps, prefix: !noLogPrefix, color: color) { false }
            } else {
                Self.print(o, services: services, tail: n, timestamps: timestamps, prefix: !noLogPrefix, color: color)
            }
        }
    }

    struct Line { var t: Int64; var text: String; var stderr: Bool }

    static func selected(_ o: Orchestrator, _ services: [String]) -> [ContainerView] {
        o.containers().filter { services.isEmpty || services.contains($0.container.Config.Labels["com.docker.compose.service"] ?? "") }
    }

    /// "name  | " padded to the longest name; on a terminal each service in a colour of its
    /// own (compose's palette: cyan, yellow, green, magenta, blue, then their bright forms).
    static func prefixes(_ views: [ContainerView], color: Bool = false) -> [String: String] {
        let width = views.map(\.container.Name.count).max() ?? 0
        let palette = ["36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1"]
        let services = Array(Set(views.map { $0.container.Config.Labels["com.docker.compose.service"] ?? $0.container.Name })).sorted()
        return Dictionary(uniqueKeysWithValues: views.map { v in
            let text = v.container.Name + String(repeating: " ", count: width - v.container.Name.count) + "  | "
            guard color, let i = services.firstIndex(of: v.container.Config.Labels["com.docker.compose.service"] ?? v.container.Name) else { return (v.container.Id, text) }
            return (v.container.Id, "\u{1b}[\(palette[i % palette.count])m" + text + "\u{1b}[0m")
        })
    }

    /// Every container's entries, merged by time.
    static func print(_ o: Orchestrator, services: [String], tail: Int?, timestamps: Bool, prefix: Bool, color: Bool = false) {
        let views = selected(o, services)
        let pre = prefixes(views, color: color)
        var all: [(Int64, String, Bool)] = []
        for v in views {
            var lines: [Line] = []
            for fd in JSONLogFollower.openAll(o.engine.logPath(v.container.Id)) {
                guard let bytes = try? fd.readToEnd() else { continue }
                for raw in bytes.split(separator: 0x0a) {
                    guard let e = JSONLogReader.parse(raw) else { continue }
                    lines.append(Line(t: JSONLogReader.parseTime(e.time) ?? 0, text: line(e, timestamps: timestamps), stderr: e.stderr))
                }
            }
            if let n = tail { lines = Array(lines.suffix(n)) }
            all += lines.map { ($0.t, (prefix ? pre[v.container.Id]! : "") + $0.text, $0.stderr) }
        }
        for (_, text, _) in all.sorted(by: { $0.0 < $1.0 }) { stdoutWrite(text) }
    }

    static func line(_ e: JSONLogReader.Entry, timestamps: Bool) -> String {
        var s = String(decoding: e.log, as: UTF8.self)
        if !s.hasSuffix("\n") { s += "\n" }
        return timestamps ? e.time + " " + s : s
    }

    /// New lines of each container as they come, until all have stopped or `stop()` says so.
    /// `exits`: say when a container stops ("NAME exited with code N"), as attached `up` does.
    static func follow(_ o: Orchestrator, services: [String], tail: Int?, timestamps: Bool, prefix: Bool, color: Bool = false,
                       exits: Bool = false, stop: () -> Bool) throws {
        if tail != 0 { print(o, services: services, tail: tail, timestamps: timestamps, prefix: prefix, color: color) }
        let views = selected(o, services)
        let pre = prefixes(views, color: color)
        var followers: [(String, JSONLogFollower)] = []
        for v in views {
            let base = o.engine.logPath(v.container.Id)
            guard let fd = try? FD.open(base, O_RDONLY | O_CLOEXEC) else { continue }
            followers.append((v.container.Id, JSONLogFollower(base: base, fd: fd, offset: Files.size(fd: fd.raw))))
        }
        var gone = Set<String>()
        while !stop() {
            var moved = false
            for (id, f) in followers {
                let p = prefix ? pre[id]! : ""
                if f.poll({ fd, from in Self.copy(fd, from: from, prefix: p, timestamps: timestamps) }) { moved = true }
            }
            var running = false
            for v in views {
                let st = o.engine.loadState(v.container.Id)
                if Engine.supervisorAlive(st) { running = true; continue }
                // Its last lines are out (this pass read to the end): then the exit.
                if exits && !moved && gone.insert(v.container.Id).inserted {
                    stdoutWrite("\(v.container.Name) exited with code \(st.ExitCode)\n")
                }
            }
            if !running && !moved { break }
            if !moved { usleep(50_000) }
        }
    }

    /// Whole lines from `from`; the offset after the last one.
    static func copy(_ fd: Int32, from: Int, prefix: String, timestamps: Bool) -> Int {
        let size = Files.size(fd: fd)
        guard size > from else { return from }
        var buf = [UInt8](repeating: 0, count: size - from)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(from)) }
        guard n > 0, let last = buf[0..<n].lastIndex(of: 0x0a) else { return from }
        for raw in buf[0..<last].split(separator: 0x0a) {
            if let e = JSONLogReader.parse(raw) { stdoutWrite(prefix + line(e, timestamps: timestamps)) }
        }
        return from + last + 1
    }
}

struct ComposeConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Check the file and print the project as resolved.")
    @OptionGroup var c: ComposeOptions
    @Flag(name: [.short, .long], help: "Only check; print nothing.") var quiet = false
    @Flag(help: "Print the service names, one per line.") var services = false

    func run() throws {
        try engine {
            let p = try c.project()
            if quiet { return }
            if services { for s in p.services { stdoutWrite(s.name + "\n") }; return }
            stdoutWrite(ConfigPrinter.yaml(p))
        }
    }
}

struct ComposeBuild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "build", abstract: "Build the services' images.")
    @OptionGroup var c: ComposeOptions
    @Argument(help: "Services (default: all with a build section).") var services: [String] = []

    func run() throws {
        try engine {
            let o = try c.orchestrator()
            for s in try o.ordered(services, noDeps: true) { if let b = s.build { try o.build(s, b) } }
        }
    }
}

struct ComposeStart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start the services' existing containers.")
    @OptionGroup var c: ComposeOptions
    @Argument(help: "Services (default: all).") var services: [String] = []
    func run() throws { try engine { try c.orchestrator().start(services) } }
}

struct ComposeStop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the services' containers.")
    @OptionGroup var c: ComposeOptions
    @Option(name: [.short, .long], help: "Seconds to wait before SIGKILL.") var timeout: Int?
    @Argument(help: "Services (default: all).") var services: [String] = []
    func run() throws { try engine { try c.orchestrator().stop(services, timeout: timeout) } }
}

struct ComposeRestart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart the services' containers.")
    @OptionGroup var c: ComposeOptions
    @Option(name: [.short, .long], help: "Seconds to wait before SIGKILL.") var timeout: Int?
    @Argument(help: "Services (default: all).") var services: [String] = []
    func run() throws {
        try engine {
            let o = try c.orchestrator()
            try o.stop(services, timeout: timeout)
            try o.start(services)
        }
    }
}

struct ComposeRm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove the services' stopped containers.")
    @OptionGroup var c: ComposeOptions
    @Flag(name: [.short, .long], help: "Do not ask (never asked here).") var force = false
    @Flag(name: [.short, .long], help: "Stop them first.") var stop = false
    @Flag(name: .customShort("v"), help: "And their anonymous volumes.") var volumes = false
    @Argument(help: "Services (default: all).") var services: [String] = []
    func run() throws {
        try engine {
            let o = try c.orchestrator()
            if stop { try o.stop(services, timeout: nil) }
            for v in ComposeLogs.selected(o, services) where !v.state.Running {
                try o.engine.remove(v.container.Id, force: false, volumes: volumes)
                stderrWrite(" Container \(v.container.Name)  Removed\n")
            }
        }
    }
}

struct ComposeExec: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a service's running container.")
    @OptionGroup var c: ComposeOptions
    @Flag(name: .customShort("T"), help: "No pseudo-terminal (the default without a terminal).") var noTTY = false
    @Flag(name: [.short, .long], help: "Start it and return.") var detach = false
    @Option(name: [.short, .long], help: "User.") var user: String?
    @Option(name: [.short, .customLong("workdir")], help: "Working directory.") var workdir: String?
    @Option(name: [.short, .customLong("env")], help: "KEY=VALUE") var env: [String] = []
    @Option(help: "Which of the service's containers (1...scale).") var index = 1
    @Argument(help: "Service.") var service: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func run() throws {
        let o = try c.orchestrator()
        guard let s = o.project.service(service) else { throw ValidationError("no such service: \(service)") }
        let chosen = ComposeLogs.selected(o, [s.name]).first { ($0.container.Config.Labels["com.docker.compose.container-number"] ?? "1") == String(index) }
        guard let v = chosen, v.state.Running else {
            stderrWrite("swiftrun: service \"\(service)\" is not running\n")
            throw ExitCode(1)
        }
        var args = ["--root", c.s.root]
        if detach { args.append("-d") } else { args.append("-i") }
        if !noTTY && !detach && isatty(0) == 1 && isatty(1) == 1 { args.append("-t") }
        if let u = user { args += ["-u", u] }
        if let w = workdir { args += ["-w", w] }
        for e in env { args += ["-e", e] }
        let exec = try ExecContainer.parse(args + [v.container.Id] + command)
        try exec.run()
    }
}

struct ComposeRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a one-off command in a new container of a service.")
    @OptionGroup var c: ComposeOptions
    @Flag(help: "Remove the container when it exits.") var rm = false
    @Flag(name: [.short, .long], help: "Detached: print its ID and return.") var detach = false
    @Flag(name: .customLong("no-deps"), help: "Do not start the services it depends on.") var noDeps = false
    @Flag(name: .customLong("service-ports"), help: "Publish the service's ports.") var servicePorts = false
    @Flag(name: .customShort("T"), help: "No pseudo-terminal (the default without a terminal).") var noTTY = false
    @Option(name: [.short, .customLong("env")], help: "KEY=VALUE") var env: [String] = []
    @Option(help: "Override the entrypoint.") var entrypoint: String?
    @Option(name: [.short, .long], help: "User.") var user: String?
    @Option(name: [.short, .customLong("workdir")], help: "Working directory.") var workdir: String?
    @Option(help: "The container's name.") var name: String?
    @Argument(help: "Service.") var service: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func run() throws {
        try containerCommand(failure: 1) {
            let o = try c.orchestrator()
            guard let s = o.project.service(service) else { throw Failure("no such service: \(service)") }
            var r = Orchestrator.OneOff()
            r.command = command.isEmpty ? nil : command
            r.entrypoint = entrypoint
            r.env = env
            r.user = user
            r.workdir = workdir
            r.name = name
            r.servicePorts = servicePorts
            let tty = !noTTY && !detach && isatty(0) == 1 && isatty(1) == 1
            r.tty = tty
            r.interactive = !detach
            r.autoRemove = rm && !detach
            let id = try o.createOneOff(s, r, noDeps: noDeps)
            if detach {
                try o.engine.start(id)
                stdoutWrite(id + "\n")
                return
            }
            let code = try startAttached(o.engine, id, input: isatty(0) == 1 || !noTTY, tty: tty, raw: tty)
            if rm { _ = try? o.engine.remove(id, force: true, volumes: true) }
            if code != 0 { throw ExitCode(code) }
        }
    }
}

struct ComposeKill: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to the services' containers.")
    @OptionGroup var c: ComposeOptions
    @Option(name: [.short, .long], help: "Signal (default SIGKILL).") var signal = "SIGKILL"
    @Argument(help: "Services (default: all).") var services: [String] = []
    func run() throws {
        try engine {
            let o = try c.orchestrator()
            guard let sig = Signals.parse(signal) else { throw Failure("invalid signal: \(signal)") }
            for v in ComposeLogs.selected(o, services) where v.state.Running {
                try o.engine.kill(v.container.Id, signal: sig)
                stderrWrite(" Container \(v.container.Name)  Killed\n")
            }
        }
    }
}

/// `compose top`: each running container's name, then its processes as `top` shows them.
struct ComposeTop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "Show the processes of the services' running containers.")
    @OptionGroup var c: ComposeOptions
    @Argument(help: "Services (default: all).") var services: [String] = []
    func run() throws {
        try engine {
            let o = try c.orchestrator()
            let running = ComposeLogs.selected(o, services).filter(\.state.Running).sorted { $0.container.Name < $1.container.Name }
            stdoutWrite(try running.map { $0.container.Name + "\n" + (try ContainerTop.table(o.engine, id: $0.container.Id)) }.joined(separator: "\n"))
        }
    }
}

struct ComposeImages: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "The images the project's containers use.")
    @OptionGroup var c: ComposeOptions
    func run() throws {
        try engine {
            let o = try c.orchestrator()
            var rows = [["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"]]
            for v in o.containers() {
                let img = try? o.engine.findImage(v.container.ImageID)
                let n = v.container.Config.Image
                let colon = n.lastIndex(of: ":").flatMap { n[$0...].contains("/") ? nil : $0 }
                rows.append([v.container.Name, colon.map { String(n[..<$0]) } ?? n, colon.map { String(n[n.index(after: $0)...]) } ?? "latest",
                             String(v.container.ImageID.dropFirst(7).prefix(12)), img.map { humanSize($0.size) } ?? ""])
            }
            var w = rows[0].map(\.count)
            for r in rows { for (i, x) in r.enumerated() { w[i] = max(w[i], x.count) } }
            for r in rows { stdoutWrite(r.enumerated().map { i, x in i == r.count - 1 ? x : x + String(repeating: " ", count: w[i] - x.count + 3) }.joined() + "\n") }
        }
    }
}

struct ComposePull: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull the services' images (those without a build section).")
    @OptionGroup var c: ComposeOptions
    @Flag(name: [.short, .long], help: "No progress output.") var quiet = false
    @Argument(help: "Services (default: all).") var services: [String] = []
    func run() throws {
        try engine {
            let o = try c.orchestrator()
            for s in try o.ordered(services, noDeps: true) where s.build == nil {
                guard let image = s.image else { continue }
                stderrWrite(" \(s.name) Pulling\n")
                let ui = PullProgress(tty: isatty(2) == 1, quiet: quiet, fd: 2)
                _ = try Puller.pull(image, store: o.engine.store) { ui.show($0) }
                stderrWrite(" \(s.name) Pulled\n")
            }
        }
    }
}
