import ArgumentParser
import Engine
import OS
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// `swiftrun run`: create + start; in the foreground it streams the output and exits with
/// the container's code; `-d` prints the ID and leaves the supervisor running.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command in a new container from an image.")
    @OptionGroup var s: StoreOptions
    @OptionGroup var flags: ContainerFlags
    @Flag(name: [.short, .long], help: "Run in the background and print the container ID.") var detach = false
    @Flag(name: .customLong("wait-healthy"), help: "With -d: return once the health check passes (--wait-healthy=TIMEOUT to give up); exit 1 with the last check's output if the container turns unhealthy or stops.") var waitHealthy = false
    @Option(name: .customLong("wait-timeout"), help: ArgumentHelp("Give up --wait-healthy after this long (e.g. 60s).", visibility: .hidden)) var waitTimeout: String?
    @Argument(help: "Image name or ID.") var image: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments (replace the image's CMD).") var command: [String] = []

    func run() throws {
        var code: Int32 = 0
        if flags.tty && flags.interactive && !detach && isatty(0) == 0 {
            stderrWrite("swiftrun: the input device is not a TTY (drop -t, or run from a terminal)\n")
            throw ExitCode(1)
        }
        try containerCommand(failure: 125) {
            let engine = try s.engine()
            try flags.pullIfNeeded(engine, image)
            let c = try engine.create(try flags.options(image: image, command: command))
            if detach {
                do { try engine.start(c.Id) } catch {
                    if flags.rm { try? engine.remove(c.Id, force: true, volumes: true) }
                    throw error
                }
                stdoutWrite(c.Id + "\n")
                if waitHealthy {
                    var limit: Int64?
                    if let t = waitTimeout {
                        guard let d = GoDuration.parse(t) else { throw Failure("invalid --wait-healthy timeout \"\(t)\" (use e.g. 30s, 2m)") }
                        limit = d
                    }
                    let r = try engine.waitHealth(c.Id, .healthy, timeoutNs: limit)
                    if !r.ok {
                        stderrWrite("swiftrun: \(r.message)\n")
                        code = 1
                    }
                }
                return
            }
            code = try startAttached(engine, c.Id, input: flags.interactive, tty: flags.tty, raw: flags.tty && flags.interactive)
        }
        if code != 0 { throw ExitCode(code) }
    }
}

extension RunCommand {
    /// `--wait-healthy=TIMEOUT` → `--wait-healthy --wait-timeout TIMEOUT` (an option whose
    /// value is optional, which the parser has no form for), up to a `--`.
    static func splitWaitHealthy(_ args: [String]) -> [String] {
        var out: [String] = []
        var done = false
        for a in args {
            if a == "--" { done = true }
            if !done && a.hasPrefix("--wait-healthy=") {
                out += ["--wait-healthy", "--wait-timeout", String(a.dropFirst("--wait-healthy=".count))]
            } else {
                out.append(a)
            }
        }
        return out
    }
}

struct CreateContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a container from an image (start it with `start`).")
    @OptionGroup var s: StoreOptions
    @OptionGroup var flags: ContainerFlags
    @Argument(help: "Image name or ID.") var image: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func run() throws {
        try containerCommand(failure: 125) {
            let engine = try s.engine()
            try flags.pullIfNeeded(engine, image)
            let c = try engine.create(try flags.options(image: image, command: command))
            stdoutWrite(c.Id + "\n")
        }
    }
}

struct StartContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start stopped or created containers.")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Attach: stream the output and exit with the container's code.") var attach = false
    @Flag(name: [.short, .long], help: "With -a: the container's stdin from ours.") var interactive = false
    @Argument(help: "Containers (name or ID).") var containers: [String]

    func run() throws {
        var code: Int32 = 0
        try containerCommand {
            try s.eachContainer(containers) { engine, id, ref in
                if attach {
                    let tty = (try? engine.load(id))?.Config.Tty ?? false
                    code = try startAttached(engine, id, input: interactive, tty: tty, raw: tty && interactive)
                } else {
                    let v = try engine.view(id)
                    if Engine.supervisorAlive(v.state) { stdoutWrite(ref + "\n"); return } // Docker: no-op
                    try engine.start(id)
                    stdoutWrite(ref + "\n")
                }
            }
        }
        if code != 0 { throw ExitCode(code) }
    }
}

/// Starts with the output copied to ours and waits for the exit code. Signals the user
/// sends us go to the container (Docker's --sig-proxy).
/// The supervisor gets pipes that we relay (StdioRelay), not our fds. With -t the output is
/// the container's pty, which the supervisor copies into them; with -it our terminal is raw
/// while attached and its size follows into the pty.
package func startAttached(_ engine: Engine, _ id: String, input: Bool, tty: Bool = false, raw: Bool = false) throws -> Int32 {
    let relay = try StdioRelay(input: input)
    let ends = relay.containerStdio
    var a = Engine.Attach(stdin: input ? ends[0] : nil, stdout: ends[1], stderr: ends[2])
    if tty { a.ttySize = Terminal.size() }
    SignalForwarder.blockSignals()
    if raw { Terminal.makeRaw() }
    defer { Terminal.restore() }
    let started = try engine.start(id, attach: a)
    relay.handedOver()
    if let pidfd = FD.pidfd(started.containerPid) {
        let f = SignalForwarder(pidfd: pidfd.release())
        f.resize = started.console?.raw ?? -1
        f.start()
    }
    // The supervisor reports the exit after the last of the output: then we are done.
    if started.lineWaiting { relay.drain() } else { relay.run(until: started.report.raw) }
    return started.waitExit() ?? ((try? engine.view(id).state.ExitCode) ?? 125)
}
