import ArgumentParser
import Engine
import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

package struct ExecContainer: ParsableCommand {
    package static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running container (its namespaces, cgroup, user, capabilities and seccomp).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Start it and return.") var detach = false
    @Option(name: [.short, .customLong("env")], help: "KEY=VALUE") var env: [String] = []
    @Option(name: [.short, .long], help: "name, uid, name:group or uid:gid, from the container's own files (default: the container's user).") var user: String?
    @Option(name: [.short, .customLong("workdir")], help: "Working directory.") var workdir: String?
    @Flag(name: [.short, .long], help: "Keep stdin open.") var interactive = false
    @Flag(name: [.short, .long], help: "A pseudo-terminal (with -i: raw mode, your window size, ^C reaches the process).") var tty = false
    @Argument(help: "Container (name or ID).") var container: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    package init() {}

    package func run() throws {
        var code: Int32 = 0
        if tty && interactive && !detach && isatty(0) == 0 {
            stderrWrite("swiftrun: the input device is not a TTY (drop -t, or run from a terminal)\n")
            throw ExitCode(1)
        }
        try containerCommand {
            let engine = try s.engine()
            let id = try engine.resolve(container)
            let v = try engine.view(id)
            guard v.state.Running else {
                throw Failure("container \(v.container.Name) is not running: start it with `swiftrun start \(v.container.Name)`")
            }
            let args = command.first == "--" ? Array(command.dropFirst()) : command
            guard !args.isEmpty else { throw Failure("exec needs a command: swiftrun exec CONTAINER COMMAND [ARG...]") }
            let rt = engine.runtime
            // Docker: a terminal means TERM=xterm unless the container or -e says otherwise.
            let termless = !(v.container.Config.Env + env).contains { $0.hasPrefix("TERM=") }
            let env = tty && termless ? env + ["TERM=xterm"] : env
            var p = try rt.execProcess(id, args: args, env: env, cwd: workdir, user: nil, addCaps: [], noNewPrivileges: false,
                                       tty: tty && !detach)
            if let user {
                // Docker's exec exits 126 for a user it cannot find: the command could not run.
                let u: (uid: UInt32, gid: UInt32, groups: [UInt32])
                do { u = try engine.resolveUser(id, user) } catch { throw RuntimeError("\(error)", exitCode: 126) }
                p.user = .init(uid: u.uid, gid: u.gid, additionalGids: u.groups.isEmpty ? nil : u.groups)
            }
            var o = Runtime.ExecOptions(process: p)
            o.detach = detach
            // The process gets pipes or a pty of its own, never our fds (StdioRelay says why).
            var relay: StdioRelay?
            let devnull = try FD.open("/dev/null", O_RDWR)
            if detach || tty {
                // -t: the init puts the pty's slave there; until then, not ours either.
                o.stdio = [devnull.raw, devnull.raw, devnull.raw]
            }
            if tty && !detach {
                if let s = Terminal.size() { p.consoleSize = .init(height: UInt(s.rows), width: UInt(s.cols)); o.process = p }
                let input = interactive
                o.attach = { t in
                    guard let m = t.console else { return }
                    StdioRelay(terminal: m, input: input).run(until: t.pidfd.raw)
                }
                if interactive { Terminal.makeRaw() }
            } else if !detach {
                let r = try StdioRelay(input: interactive)
                relay = r
                o.stdio = r.containerStdio
                o.attach = { t in
                    r.handedOver()
                    r.run(until: t.pidfd.raw)
                }
            }
            defer { Terminal.restore() }
            code = try rt.exec(id, o)
            withExtendedLifetime((relay, devnull)) {}
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct HealthcheckGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "healthcheck", abstract: "Run a container's health check by hand.",
                                                    subcommands: [HealthcheckRun.self])
}

/// Runs the configured check once now, as the supervisor would; exit 0 healthy, 1 not.
/// The result is printed, not recorded: only the supervisor writes the container's state.
struct HealthcheckRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the health check once; exit 0 if it passes, 1 if not.")
    @OptionGroup var s: StoreOptions
    @Argument(help: "Container (name or ID).") var container: String

    func run() throws {
        var ok = false
        try containerCommand {
            let engine = try s.engine()
            let r = try engine.probeOnce(try engine.resolve(container))
            stdoutWrite(r.Output.isEmpty || r.Output.hasSuffix("\n") ? r.Output : r.Output + "\n")
            ok = r.ExitCode == 0
            stdoutWrite(ok ? "healthy\n" : "unhealthy\n")
        }
        if !ok { throw ExitCode(1) }
    }
}
