import ArgumentParser
import Runtime

struct OCIDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a container and everything the runtime made for it.")
    @OptionGroup var g: GlobalOptions
    @Flag(name: [.short, .long], help: "Kill a running container first.") var force = false
    @Argument var id: String
    func run() throws { try perform(g) { try g.runtime.delete(id, force: force) } }
}
