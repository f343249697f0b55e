import ArgumentParser
import Engine
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// runc's global options. runc takes them before the command (`runc --root X create ...`);
/// `ArgvNormalizer` moves them after it so each command can declare them.
public struct GlobalOptions: ParsableArguments {
    @Option(help: "Directory for container state.")
    public var root: String = defaultStateRoot()
    @Option(help: "Log file (errors are also written here, for conmon and podman).")
    public var log: String?
    @Option(name: .customLong("log-format"), help: "text or json")
    public var logFormat: LogFormat = .text
    @Flag(help: "Log debug messages.")
    public var debug = false
    @Flag(name: .customLong("systemd-cgroup"), help: "Accept a systemd-style cgroupsPath (slice:prefix:name); no systemd is used.")
    public var systemdCgroup = false
    @Option(name: .customLong("cgroup-manager"), help: "Accepted for crun compatibility (cgroupfs, systemd, disabled).")
    public var cgroupManager: String?
    @Option(help: .hidden) public var criu: String?

    public init() {}

    public enum LogFormat: String, ExpressibleByArgument { case text, json }

    public var logger: Logger { Logger(path: log, json: logFormat == .json, debug: debug) }
    public var runtime: Runtime {
        let r = Runtime(root: root)
        let l = logger
        r.warn = { l.warn($0) }
        if debug {
            r.debug = { msg in l.debug(msg); stderrWrite("swiftrun: debug: \(msg)\n") }
            r.debug?("command parsed")
        }
        return r
    }

    public static func defaultStateRoot() -> String {
        if let e = getenv("SWIFTRUN_STATE_ROOT") { return String(cString: e) }
        return "/run/swiftrun"
    }
}

/// Writes runc-style log lines to --log (text or json) and errors to stderr.
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
        let line: String
        if json {
            line = "{\"level\":\"\(level)\",\"msg\":\(Self.quote(msg)),\"time\":\"\(Time.rfc3339Nano())\"}\n"
        } else {
            line = "time=\"\(Time.rfc3339Nano())\" level=\(level) msg=\(Self.quote(msg))\n"
        }
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

    static func quote(_ s: String) -> String { JSONLogWriter.quote(s) }
}

public func stderrWrite(_ s: String) {
    _ = s.withCString { write(2, $0, strlen($0)) }
}

public func stdoutWrite(_ s: String) {
    _ = s.withCString { write(1, $0, strlen($0)) }
}

/// Moves runc's leading global options after the command word, and accepts Go-style
/// single-dash long options (`-root`), which urfave/cli allows and some callers use.
public enum ArgvNormalizer {
    static let valued: Set<String> = ["root", "log", "log-format", "criu", "cgroup-manager"]
    static let flags: Set<String> = ["debug", "systemd-cgroup"]

    public static func normalize(_ args: [String], commandDepth: Int = 1) -> [String] {
        var globals: [String] = []
        var i = 0
        func long(_ a: String) -> String? {
            if a.hasPrefix("--") { return String(a.dropFirst(2)) }
            if a.hasPrefix("-") && a.count > 2 { return String(a.dropFirst(1)) }
            return nil
        }
        while i < args.count, let name = long(args[i]) {
            let key = String(name.split(separator: "=", maxSplits: 1)[0])
            if valued.contains(key) {
                if name.contains("=") { globals.append("--" + name); i += 1 }
                else { globals += ["--" + key] + (i + 1 < args.count ? [args[i + 1]] : []); i += 2 }
            } else if flags.contains(key) {
                globals.append("--" + key)
                i += 1
            } else {
                break
            }
        }
        guard i < args.count else { return args }
        var rest = Array(args[i...])
        // Insert after the command word(s): "create", or "oci create".
        let at = min(commandDepth, rest.count)
        rest.insert(contentsOf: globals, at: at)
        return rest
    }
}
