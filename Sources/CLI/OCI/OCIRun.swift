import ArgumentParser
import Runtime

struct OCIRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Create and start a container; wait for it unless --detach.")
    @OptionGroup var g: GlobalOptions
    @OptionGroup var flags: CreateFlags
    @Flag(name: [.short, .long], help: "Return once started.") var detach = false
    @Flag(help: "Keep the container's state after it exits.") var keep = false
    @Argument var id: String

    func run() throws {
        var code: Int32 = 0
        try perform(g) { code = try g.runtime.run(id: id, options: flags.options, detach: detach, keep: keep) }
        if code != 0 { throw ExitCode(code) }
    }
}
