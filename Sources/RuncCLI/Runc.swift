import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

public let swiftrunVersion = "0.1.0"

/// The OCI runtime command line (runc's), shared by `swiftrun-runc` and `swiftrun oci`.
/// It depends on the runtime core only: no argument-parser reflection, no image store,
/// no libarchive, so that a runtime started several times per container starts fast.
public enum Runc {
    /// runc's global options; accepted before the command word and among its options.
    static let globals: [OptionSpec] = [
        .value("root", nil, "Directory for container state (default \(defaultStateRoot()))."),
        .value("log", nil, "Log file (errors are also written here, for conmon and podman)."),
        .value("log-format", nil, "text or json."),
        .flag("debug", nil, "Log debug messages, with phase timings."),
        .flag("systemd-cgroup", nil, "cgroupsPath in systemd's form (slice:prefix:name), placed where systemd keeps it; needs a host run by systemd."),
        .value("cgroup-manager", nil, "Accepted for crun compatibility (cgroupfs, systemd, disabled)."),
        .value("criu", nil, "Accepted for runc compatibility; checkpointing is not supported."),
        .value("rootless", nil, "Accepted for runc compatibility (auto, true, false)."),
    ]

    struct Command {
        let name: String
        let usage: String
        let abstract: String
        let options: [OptionSpec]
        var passthroughAfter: Int? = nil
        let body: (Context, ParsedArgs) throws -> Int32
    }

    /// What a command body gets: the runtime and the logger, from the global options.
    struct Context {
        let root: String
        let logger: Logger
        let debug: Bool

        var runtime: Runtime {
            let r = Runtime(root: root)
            let l = logger
            r.warn = { l.warn($0) }
            if debug {
                r.debug = { msg in l.debug(msg); stderrWrite("swiftrun: debug: \(msg)\n") }
                r.debug?("command parsed")
            }
            return r
        }
    }

    public static func defaultStateRoot() -> String {
        if let e = getenv("SWIFTRUN_STATE_ROOT") { return String(cString: e) }
        return "/run/swiftrun"
    }

    /// Runs one command line (without the program name) and exits. Usage errors exit with
    /// `usageExit` (runc: 1; `swiftrun oci`: Docker's 125).
    public static func main(_ argv: [String], program: String, usageExit: Int32) -> Never {
        Proc.markStart()
        // Global options before the command word.
        var i = 0, lead: [String] = []
        while i < argv.count, argv[i].hasPrefix("-"), argv[i] != "-" {
            let a = argv[i]
            if ["-v", "--version", "-version"].contains(a) { stdoutWrite(versionText(program)); exit(0) }
            if ["-h", "--help", "-help"].contains(a) { stdoutWrite(help(program)); exit(0) }
            lead.append(a)
            i += 1
            let name = a.drop { $0 == "-" }
            if !name.contains("="), globals.contains(where: { $0.long == name && $0.takesValue }), i < argv.count {
                lead.append(argv[i])
                i += 1
            }
        }
        guard i < argv.count else { stderrWrite(help(program)); exit(usageExit) }
        let word = argv[i]
        if word == "help" {
            if i + 1 < argv.count, let c = commands.first(where: { $0.name == argv[i + 1] }) { stdoutWrite(help(program, c)) }
            else { stdoutWrite(help(program)) }
            exit(0)
        }
        guard let cmd = commands.first(where: { $0.name == word }) else {
            stderrWrite("\(program): unknown command \"\(word)\"; see '\(program) --help'\n")
            exit(usageExit)
        }
        let rest = Array(argv[(i + 1)...])
        if rest.first.map({ ["-h", "--help"].contains($0) }) == true { stdoutWrite(help(program, cmd)); exit(0) }
        let parsed: ParsedArgs
        do {
            parsed = try ParsedArgs.parse(lead + rest, globals + cmd.options, passthroughAfter: cmd.passthroughAfter)
        } catch {
            stderrWrite("\(program) \(cmd.name): \(error)\nUsage: \(program) \(cmd.name) \(cmd.usage)\n")
            exit(usageExit)
        }
        let format = parsed.value("log-format") ?? "text"
        guard format == "text" || format == "json" else {
            stderrWrite("\(program): --log-format must be text or json, not \"\(format)\"\n")
            exit(usageExit)
        }
        let ctx = Context(root: parsed.value("root") ?? defaultStateRoot(),
                          logger: Logger(path: parsed.value("log"), json: format == "json", debug: parsed.has("debug")),
                          debug: parsed.has("debug"))
        // runc refuses the systemd driver on a host without systemd; swiftrun-runc places
        // the cgroup itself (no unit through D-Bus), but only where systemd owns the tree.
        if ["create", "run"].contains(cmd.name), parsed.has("systemd-cgroup") || parsed.value("cgroup-manager") == "systemd",
           !Files.exists("/run/systemd/system") {
            ctx.logger.error("systemd not running on this host (no /run/systemd/system), cannot use the systemd cgroup driver: "
                             + "drop --systemd-cgroup (containerd: SystemdCgroup = false; CRI-O and podman: cgroup_manager = \"cgroupfs\")")
            exit(1)
        }
        do {
            exit(try cmd.body(ctx, parsed))
        } catch let e as UsageError {
            stderrWrite("\(program) \(cmd.name): \(e)\nUsage: \(program) \(cmd.name) \(cmd.usage)\n")
            exit(usageExit)
        } catch let e as RuntimeError {
            ctx.logger.error(e.description)
            exit(e.exitCode)
        } catch {
            ctx.logger.error("\(error)")
            exit(1)
        }
    }

    static func versionText(_ program: String) -> String {
        "\(program) version \(swiftrunVersion)\nspec: \(Spec.version)\n+CAP +SECCOMP +EBPF\n"
    }

    static func help(_ program: String) -> String {
        var s = "\(program): an OCI runtime (runc's command line).\n\nUsage: \(program) [GLOBAL OPTIONS] COMMAND [OPTIONS] ...\n\nCommands:\n"
        for c in commands { s += "  " + c.name.padding(10) + c.abstract + "\n" }
        s += "\nGlobal options:\n" + optionLines(globals) + "  -v, --version               Print the version.\n  -h, --help                  Print this help.\n"
        return s
    }

    static func help(_ program: String, _ c: Command) -> String {
        "\(c.abstract)\n\nUsage: \(program) \(c.name) \(c.usage)\n" + (c.options.isEmpty ? "" : "\nOptions:\n" + optionLines(c.options))
    }

    static func optionLines(_ specs: [OptionSpec]) -> String {
        specs.map { o in
            let names = (o.short.map { "-\($0), " } ?? "    ") + "--" + o.long + (o.takesValue ? " VALUE" : "")
            return "  " + names.padding(26) + o.help + "\n"
        }.joined()
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}

/// runc-style log lines to --log (text or json), errors to stderr too.
public struct Logger {
    var path: String?
    var json: Bool
    var debugOn: Bool

    init(path: String?, json: Bool, debug: Bool) {
        self.path = path
        self.json = json
        self.debugOn = debug
    }

    func emit(_ level: String, _ msg: String) {
        guard let path else { return }
        let line = json
            ? "{\"level\":\"\(level)\",\"msg\":\(JSONText.quote(msg)),\"time\":\"\(Time.rfc3339Nano())\"}\n"
            : "time=\"\(Time.rfc3339Nano())\" level=\(level) msg=\(JSONText.quote(msg))\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd >= 0 {
            _ = line.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
    }

    public func error(_ msg: String) {
        emit("error", msg)
        stderrWrite("swiftrun: \(msg)\n")
    }

    public func warn(_ msg: String) {
        emit("warning", msg)
        stderrWrite("swiftrun: warning: \(msg)\n")
    }

    public func debug(_ msg: String) {
        if debugOn { emit("debug", msg) }
    }
}
