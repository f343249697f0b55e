import ArgumentParser
import Runtime

struct OCICreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a container from a bundle; its process waits for `start`.")
    @OptionGroup var g: GlobalOptions
    @OptionGroup var flags: CreateFlags
    @Argument(help: "Container ID.") var id: String

    func run() throws {
        try perform(g) { _ = try g.runtime.create(id: id, options: flags.options) }
    }
}
