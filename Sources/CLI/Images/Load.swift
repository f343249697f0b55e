import ArgumentParser
import ImageImport
import ImageStore
import OS
#if canImport(Glibc)
import Glibc
#endif

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Load images from a docker save archive or an OCI layout (tarball or directory).")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .customLong("input")], help: "Archive or OCI layout directory (default: standard input).")
    var input: String?
    @Flag(name: [.short, .long], help: "Print only the image names.") var quiet = false

    func run() throws {
        try engine {
            let store = try s.store()
            var path = input ?? ""
            var spooled: String?
            if input == nil {
                guard isatty(0) == 0 else { throw Failure("no input: give -i FILE or pipe an archive into standard input") }
                let p = s.root + "/tmp/stdin-\(getpid())"
                try store.ingestStdin(to: p)
                spooled = p
                path = p
            }
            defer { if let p = spooled { unlink(p) } }
            for img in try Loader.load(path, into: store) {
                if img.names.isEmpty { stdoutWrite("Loaded image ID: \(img.id)\n") }
                for n in img.names { stdoutWrite(quiet ? n + "\n" : "Loaded image: \(n)\n") }
            }
        }
    }
}
