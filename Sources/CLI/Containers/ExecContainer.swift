import ArgumentParser
import CShim
import Engine
import OCI
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

struct ExecContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running container (its namespaces, cgroup, user, capabilities and seccomp).")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Start it and return.") var detach = false
    @Option(name: [.short, .customLong("env")], help: "KEY=VALUE") var env: [String] = []
    @Option(name: [.short, .long], help: "uid[:gid] (default: the container's user).") var user: String?
    @Option(name: [.short, .customLong("workdir")], help: "Working directory.") var workdir: String?
    @Flag(name: [.short, .long], help: "Keep stdin open.") var interactive = false
    @Argument(help: "Container (name or ID).") var container: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func run() throws {
        var code: Int32 = 0
        try containerCommand {
            let engine = try s.engine()
            let id = try engine.resolve(container)
            let v = try engine.view(id)
            guard v.state.Running else { throw Failure("container \(v.container.Name) is not running") }
            let args = command.first == "--" ? Array(command.dropFirst()) : command
            guard !args.isEmpty else { throw Failure("exec needs a command: swiftrun exec CONTAINER COMMAND [ARG...]") }
            let rt = engine.runtime
            let p = try rt.execProcess(id, args: args, env: env, cwd: workdir, user: user, addCaps: [], noNewPrivileges: false)
            var o = Runtime.ExecOptions(process: p)
            o.detach = detach
            code = try rt.exec(id, o)
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
            let id = try engine.resolve(container)
            let v = try engine.view(id)
            guard let hc = v.container.Config.Healthcheck, let test = hc.Test else {
                throw Failure("container \(v.container.Name) has no health check")
            }
            guard v.state.Running else { throw Failure("container \(v.container.Name) is not running") }
            let rt = engine.runtime
            guard sr_set_subreaper() == 0 else { throw SysError("prctl PR_SET_CHILD_SUBREAPER") }
            var p = try rt.load(id).spec.process ?? Spec.Process()
            p.args = Health.probeArgs(test, shell: v.container.Config.Shell)
            p.terminal = false
            let prepared = try rt.prepareExec(id, p)
            var fds: [Int32] = [-1, -1]
            guard sr_pipe_cloexec(&fds) == 0 else { throw SysError("pipe2") }
            let r = FD(fds[0]), w = FD(fds[1])
            let devnull = try FD.open("/dev/null", O_RDWR)
            let child = try rt.spawnExec(prepared, stdio: [devnull.raw, w.raw, w.raw])
            w.close()
            let timing = Health.Timing(hc)
            var output: [UInt8] = []
            var truncated = false
            var buf = [UInt8](repeating: 0, count: 8192)
            let deadline = Time.monotonicNanos() + timing.timeout
            var timedOut = false
            while true {
                var pf = pollfd(fd: r.raw, events: Int16(POLLIN), revents: 0)
                let left = Int32(clamping: max(0, (deadline - Time.monotonicNanos()) / 1_000_000))
                if poll(&pf, 1, left) == 0 { timedOut = true; break }
                let n = buf.withUnsafeMutableBytes { read(r.raw, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                let room = Health.maxOutputLen - output.count
                if room > 0 { output += buf[0..<min(n, room)] }
                if n > room { truncated = true }
            }
            if timedOut { _ = sr_pidfd_send_signal(child.pidfd.raw, SIGKILL) }
            var code: Int32 = 0, sig: Int32 = 0
            _ = sr_pidfd_wait(child.pidfd.raw, &code, &sig, 0)
            let text = Health.output(output, truncated: truncated)
            if timedOut {
                stdoutWrite("Health check exceeded timeout (\(GoDuration.format(timing.timeout)))\(text.isEmpty ? "" : ": " + text)\n")
            } else {
                stdoutWrite(text.isEmpty || text.hasSuffix("\n") ? text : text + "\n")
                ok = sig == 0 && code == 0
            }
            stdoutWrite(ok ? "healthy\n" : "unhealthy\n")
        }
        if !ok { throw ExitCode(1) }
    }
}
