import ArgumentParser
import OCI
import OS
import Runtime

struct OCISpec: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spec", abstract: "Write a default config.json into the bundle.")
    @OptionGroup var g: GlobalOptions
    @Option(name: [.short, .long]) var bundle: String = "."
    @Flag(help: "A spec for rootless use (not supported yet).") var rootless = false
    func run() throws {
        try perform(g) {
            if rootless { throw RuntimeError("--rootless specs are not supported yet") }
            let path = bundle + "/config.json"
            if Files.exists(path) { throw RuntimeError("\(path) already exists: remove it first") }
            try Files.writeAtomic(path, Array((try JSON.string(DefaultSpec.make(), pretty: true) + "\n").utf8))
        }
    }
}
