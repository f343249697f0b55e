import ArgumentParser
import OCI
import Runtime

struct OCIState: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print the runtime-spec state of a container as JSON.")
    @OptionGroup var g: GlobalOptions
    @Argument var id: String
    func run() throws {
        try perform(g) { stdoutWrite(try JSON.string(try g.runtime.state(id), pretty: true) + "\n") }
    }
}
