import ArgumentParser
import ImageStore
import OS
import Registry

struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "push", abstract: "Push an image to a registry.")
    @OptionGroup var s: StoreOptions
    @Option(name: .customLong("tls-verify"), help: "Check the registry's TLS certificate (false also allows plain HTTP).") var tlsVerify = true
    @Flag(name: [.short, .long], help: "No progress output.") var quiet = false
    @Argument(help: "NAME[:TAG]") var name: String

    func run() throws {
        try engine {
            try Push.push(name, store: try s.store(), tlsVerify: tlsVerify) { line in
                if !quiet || line.contains(": digest: ") { stdoutWrite(line + "\n") }
            }
        }
    }
}
