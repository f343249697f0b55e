import ArgumentParser
import ImageImport
import ImageStore
import OS
#if canImport(Glibc)
import Glibc
#endif

struct Save: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save", abstract: "Write images to a tar that `docker load`, `swiftrun load` and OCI tools read.")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "Write to this file (default: standard output, if it is not a terminal).") var output: String?
    @Argument(help: "Image names or IDs.") var images: [String]

    func run() throws {
        try engine {
            let store = try s.store()
            guard let output else {
                guard isatty(1) == 0 else { throw Failure("cowardly refusing to save to a terminal: use -o FILE or redirect") }
                try Saver.save(images, store: store, to: 1)
                return
            }
            try Files.writeOutput(output) { try Saver.save(images, store: store, to: $0.raw) }
        }
    }
}
