import ArgumentParser
import ImageImport
import ImageStore
import OS
import Runtime
import Engine
import OCI

/// Hidden tools for benchmarks and debugging.
struct DebugGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "debug", abstract: "Tools for benchmarks and debugging.",
                                                    shouldDisplay: false, subcommands: [UnpackLayer.self, ParseLog.self])
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

/// The json-file reader against the general JSON parser, on the same file: the measurement
/// that keeps JSONLogReader's fixed-shape parser (docs/benchmarks.md).
struct ParseLog: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "parse-log", abstract: "Parse a json-file log; print entries, bytes and milliseconds.")
    @Argument(help: "A json-file log.") var file: String
    @Flag(help: "Use the general JSON parser.") var tree = false

    func run() throws {
        let bytes = try Files.read(file)
        let t0 = Time.monotonicNanos()
        var entries = 0, size = 0
        for line in bytes.split(separator: 0x0A) {
            if tree {
                guard case .object(let o, _) = try JSON.parse(Array(line), what: file), case .string(let s)? = o["log"] else { continue }
                size += s.utf8.count
            } else {
                guard let e = JSONLogReader.parse(line) else { continue }
                size += e.log.count
            }
            entries += 1
        }
        stdoutWrite("\(entries) entries, \(size) bytes, \((Time.monotonicNanos() - t0) / 1_000_000) ms\n")
    }
}
