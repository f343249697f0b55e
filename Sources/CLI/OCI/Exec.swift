import ArgumentParser
import Runtime

struct OCIExec: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a process in a running container (not yet).")
    @OptionGroup var g: GlobalOptions
    @Argument(parsing: .captureForPassthrough) var rest: [String] = []
    func run() throws {
        try perform(g) { throw RuntimeError("exec is not implemented yet (tracked in the runtime-core issue)") }
    }
}
