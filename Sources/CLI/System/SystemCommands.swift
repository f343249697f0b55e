import ArgumentParser
import Engine
import OCI
import OS
import Runtime
import RuncCLI
import Template
#if canImport(Glibc)
import Glibc
#endif

/// `swiftrun version`: what scripts ask `docker version` (`--format '{{.Server.Version}}'`).
/// There is no daemon: the "server" is the engine and runtime these binaries are.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show the version of swiftrun and its runtime.")
    @OptionGroup var s: StoreOptions // accepted, as every command takes it
    @Option(name: [.short, .long], help: "json, or a Go template such as '{{.Server.Version}}'.") var format: String?

    func run() throws {
        try containerCommand {
            let u = Host.uname()
            let v: JSONValue = .object([
                ("Client", .object([("Version", .string(swiftrunVersion)), ("ApiVersion", .string("none (no daemon)")),
                                    ("Os", .string("linux")), ("Arch", .string(Host.goArch(u.machine))), ("Context", .string("default"))])),
                ("Server", .object([("Version", .string(swiftrunVersion)), ("Os", .string("linux")), ("Arch", .string(Host.goArch(u.machine))),
                                    ("KernelVersion", .string(u.release)),
                                    ("Components", .array([.object([("Name", .string("Engine")), ("Version", .string(swiftrunVersion))]),
                                                           .object([("Name", .string("swiftrun-runc")), ("Version", .string(swiftrunVersion)),
                                                                    ("Details", .object([("spec", .string(Spec.version))]))])]))])),
            ])
            try printFormatted(v, format, type: "types.VersionResponse") {
                """
                Client:
                 Version:           \(swiftrunVersion)
                 API version:       none (no daemon)
                 OS/Arch:           linux/\(Host.goArch(u.machine))
                 Context:           default

                Server: swiftrun (no daemon: these binaries)
                 Engine:
                  Version:          \(swiftrunVersion)
                  OS/Arch:          linux/\(Host.goArch(u.machine))
                  Kernel:           \(u.release)
                 swiftrun-runc:
                  Version:          \(swiftrunVersion)
                  spec:             \(Spec.version)

                """
            }
        }
    }
}

/// `swiftrun info`: the store, the host's cgroups as swiftrun uses them, counts.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the store, the host's cgroups and kernel, and counts.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "json, or a Go template such as '{{.CgroupVersion}}'.") var format: String?

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            let views = engine.list()
            let running = views.filter { $0.state.Running && !$0.state.Paused }.count
            let paused = views.filter { $0.state.Paused }.count
            let images = (try? engine.store.images().count) ?? 0
            let u = Host.uname()
            let mount = (try? Cgroup.findMountpoint()) ?? ""
            let hybrid = mount == "/sys/fs/cgroup/unified"
            let controllers = (try? Files.readString(mount + "/cgroup.controllers"))?.split(separator: " ").map { String($0).trimmed() } ?? []
            let os = (try? Files.readString("/etc/os-release")).flatMap { text in
                text.split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }.map { String($0.dropFirst(12)).trimmingQuotes() }
            } ?? "Linux"
            var host = [CChar](repeating: 0, count: 256)
            gethostname(&host, 255)
            let memTotal = Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE)))
            let v: JSONValue = .object([
                ("Containers", .number(Double(views.count))), ("ContainersRunning", .number(Double(running))),
                ("ContainersPaused", .number(Double(paused))), ("ContainersStopped", .number(Double(views.count - running - paused))),
                ("Images", .number(Double(images))), ("ServerVersion", .string(swiftrunVersion)),
                ("Driver", .string("overlayfs")), ("LoggingDriver", .string("json-file")), ("CgroupDriver", .string("cgroupfs")),
                ("CgroupVersion", .string(hybrid ? "1" : "2")), ("CgroupMount", .string(mount)),
                ("CgroupControllers", .array(controllers.map { .string($0) })),
                ("DefaultRuntime", .string("swiftrun-runc")), ("KernelVersion", .string(u.release)),
                ("OperatingSystem", .string(os)), ("OSType", .string("linux")), ("Architecture", .string(u.machine)),
                ("NCPU", .number(Double(sysconf(Int32(_SC_NPROCESSORS_ONLN))))), ("MemTotal", .number(Double(memTotal))),
                ("DockerRootDir", .string(s.root)), ("Name", .string(String(cString: host))),
            ])
            try printFormatted(v, format, type: "system.Info") {
                """
                Server:
                 Containers: \(views.count)
                  Running: \(running)
                  Paused: \(paused)
                  Stopped: \(views.count - running - paused)
                 Images: \(images)
                 Server Version: \(swiftrunVersion) (no daemon)
                 Storage Driver: overlayfs
                 Logging Driver: json-file
                 Cgroup Driver: cgroupfs
                 Cgroup Version: \(hybrid ? "1 (hybrid: swiftrun uses the cgroup2 hierarchy at \(mount))" : "2")
                 Cgroup v2 controllers: \(controllers.isEmpty ? "none" : controllers.joined(separator: " "))
                 Default Runtime: swiftrun-runc
                 Kernel Version: \(u.release)
                 Operating System: \(os)
                 OSType: linux
                 Architecture: \(u.machine)
                 CPUs: \(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
                 Total Memory: \(ByteSize.binary(Double(memTotal)))
                 Name: \(String(cString: host))
                 Docker Root Dir: \(s.root)

                """
            }
        }
    }
}

/// `--format`: json, a template over `v` (a Go struct of `type`), or the plain text.
func printFormatted(_ v: JSONValue, _ format: String?, type: String, plain: () -> String) throws {
    switch format {
    case "json": stdoutWrite(v.json + "\n")
    case let f?: stdoutWrite(try Template(f).render(v, fieldsOf: type) + "\n")
    case nil: stdoutWrite(plain())
    }
}

enum Host {
    static func uname() -> (release: String, machine: String) {
        var u = utsname()
        _ = Glibc.uname(&u)
        func str<T>(_ t: T) -> String { withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        return (str(u.release), str(u.machine))
    }

    /// Go's names for architectures, as Docker prints them.
    static func goArch(_ machine: String) -> String {
        ["x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"][machine] ?? machine
    }
}

extension String {
    func trimmingQuotes() -> String {
        var s = Substring(self)
        if s.hasPrefix("\"") && s.hasSuffix("\"") && s.count >= 2 { s = s.dropFirst().dropLast() }
        return String(s)
    }
}

/// `image prune`: dangling images (no name) that no container uses; with -a every image no
/// container uses. swiftrun never asks (-f is accepted).
struct ImagePrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove dangling images no container uses (-a: every image no container uses).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Every image no container uses, named or not.") var all = false
    @Flag(name: [.short, .long], help: "Do not ask (swiftrun never asks).") var force = false

    func run() throws {
        try containerCommand {
            let e = try s.engine()
            let used = Set(e.list().map(\.container.ImageID))
            var out: [String] = []
            for img in try e.store.images() where !used.contains(img.id) && (all || img.names.isEmpty) {
                out += try e.store.remove(img.id, force: false)
            }
            stdoutWrite(out.isEmpty ? "Total reclaimed space: 0B\n" : "Deleted Images:\n" + out.map { $0 + "\n" }.joined())
        }
    }
}

/// `system prune`: stopped containers, dangling images (-a: unused ones), and with --volumes
/// the anonymous volumes no container uses; each part as its own prune command does it.
struct SystemPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove stopped containers, dangling images (-a: unused ones) and, with --volumes, unused anonymous volumes.")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Every image no container uses, not only dangling ones.") var all = false
    @Flag(help: "Unused anonymous volumes too.") var volumes = false
    @Flag(name: [.short, .long], help: "Do not ask (swiftrun never asks).") var force = false

    func run() throws {
        try PruneContainers.parse(["--root", s.root]).run()
        try ImagePrune.parse(["--root", s.root] + (all ? ["--all"] : [])).run()
        if volumes { try VolumePrune.parse(["--root", s.root]).run() }
    }
}

struct SystemGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "system", abstract: "Manage swiftrun as a whole.",
                                                    subcommands: [SystemPrune.self, InfoCommand.self, DiskUsageCommand.self])
}
