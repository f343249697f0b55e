import ArgumentParser
import OS
import Runtime

struct OCIKill: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to a container's init (or all its processes).")
    @OptionGroup var g: GlobalOptions
    @Flag(name: [.short, .long], help: "Signal every process in the container's cgroup.") var all = false
    @Argument var id: String
    @Argument(help: "Signal name or number (default TERM).") var signal: String = "TERM"
    func run() throws {
        try perform(g) {
            guard let sig = Signals.parse(signal) else { throw RuntimeError("unknown signal \"\(signal)\"") }
            try g.runtime.kill(id, signal: sig, all: all)
        }
    }
}
