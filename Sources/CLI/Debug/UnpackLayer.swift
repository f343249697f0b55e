import ArgumentParser
import ImageImport
import ImageStore
import OS
import Runtime

/// Hidden tools for benchmarks and debugging.
struct DebugGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "debug", abstract: "Tools for benchmarks and debugging.",
                                                    shouldDisplay: false, subcommands: [UnpackLayer.self])
}

struct UnpackLayer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpack-layer", abstract: "Unpack a layer blob into a new directory.")
    @Argument(help: "Layer blob (tar, tar+gzip, tar+zstd).") var blob: String
    @Argument(help: "Directory to create.") var dest: String

    func run() throws {
        do {
            let s = try Layer.unpack(blob: blob, into: dest)
            stdoutWrite("\(s.entries) entries, \(s.bytes) bytes\n")
        } catch {
            stderrWrite("swiftrun: unpack \(blob): \(error)\n")
            throw ExitCode(125)
        }
    }
}
