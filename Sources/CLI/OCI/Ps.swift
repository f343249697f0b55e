import ArgumentParser
import OCI
import Runtime

struct OCIPs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the pids in a container's cgroup.")
    @OptionGroup var g: GlobalOptions
    @Option(name: [.short, .long]) var format: String = "table"
    @Argument var id: String
    @Argument(parsing: .captureForPassthrough) var psArgs: [String] = []
    func run() throws {
        try perform(g) {
            let pids = try g.runtime.processes(id)
            if format == "json" { stdoutWrite(try JSON.string(pids) + "\n"); return }
            stdoutWrite("PID\n" + pids.map { "\($0)\n" }.joined())
        }
    }
}
