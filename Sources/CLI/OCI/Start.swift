import ArgumentParser
import Runtime

struct OCIStart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Run the process of a created container.")
    @OptionGroup var g: GlobalOptions
    @Argument var id: String
    func run() throws { try perform(g) { try g.runtime.start(id) } }
}
