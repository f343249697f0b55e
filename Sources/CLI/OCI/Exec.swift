import ArgumentParser
import OCI
import OS
import Runtime

struct OCIExec: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a process in a running container.")
    @OptionGroup var g: GlobalOptions
    @Option(name: [.short, .long], help: "A process.json (runtime-spec process) to run instead of ARGS.") var process: String?
    @Flag(name: [.short, .long], help: "Return once the process has started.") var detach = false
    @Option(name: .customLong("pid-file")) var pidFile: String?
    @Flag(name: [.short, .long], help: "Allocate a terminal; its master goes to --console-socket.") var tty = false
    @Option(name: .customLong("console-socket")) var consoleSocket: String?
    @Option(name: [.short, .long], help: "KEY=VALUE, repeatable.") var env: [String] = []
    @Option(name: .long, help: "Working directory in the container.") var cwd: String?
    @Option(name: [.short, .long], help: "uid[:gid]") var user: String?
    @Option(name: [.short, .long], help: "Add a capability, repeatable.") var cap: [String] = []
    @Flag(name: .customLong("no-new-privs")) var noNewPrivs = false
    @Option(name: .customLong("preserve-fds")) var preserveFds: Int32 = 0
    @Option(name: .customLong("process-label"), help: .hidden) var processLabel: String?
    @Option(name: .customLong("apparmor"), help: .hidden) var apparmor: String?
    @Argument var id: String
    @Argument(parsing: .captureForPassthrough) var args: [String] = []

    func run() throws {
        var code: Int32 = 0
        try perform(g) {
            let rt = g.runtime
            var proc: Spec.Process
            if let process {
                proc = try JSON.decode(Spec.Process.self, from: try Files.read(process), what: process)
            } else {
                let a = args.first == "--" ? Array(args.dropFirst()) : args
                guard !a.isEmpty else { throw RuntimeError("exec needs a command (or --process FILE)") }
                proc = try rt.execProcess(id, args: a, env: env, cwd: cwd, user: user, addCaps: cap, noNewPrivileges: noNewPrivs, tty: tty)
            }
            var o = Runtime.ExecOptions(process: proc)
            o.detach = detach
            o.pidFile = pidFile
            o.preserveFds = preserveFds
            o.consoleSocket = consoleSocket
            code = try rt.exec(id, o)
        }
        if code != 0 { throw ExitCode(code) }
    }
}
