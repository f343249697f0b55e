import ArgumentParser
import Engine
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Container events (create, start, die, health_status, destroy...), as they happen.")
    @OptionGroup var s: StoreOptions
    @Option(help: "Show events since a time (RFC 3339, Unix seconds, or a duration ago).") var since: String?
    @Option(help: "Stop at this time (same forms).") var until: String?
    @Option(name: [.short, .long], help: "container=NAME|ID, event=ACTION (prefix match: health_status)") var filter: [String] = []
    @Option(help: "json for one JSON object per line.") var format: String?

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            let sinceNs = try since.map { try LogsCommand.time($0, "since") } ?? Time.nowNanos()
            let untilNs = try until.map { try LogsCommand.time($0, "until") }
            var containers: [String] = [], actions: [String] = []
            for f in filter {
                let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { throw Failure("invalid filter '\(f)': use container=NAME or event=ACTION") }
                switch kv[0] {
                case "container": containers.append(kv[1])
                case "event": actions.append(kv[1])
                default: throw Failure("invalid filter '\(kv[0])': use container or event")
                }
            }
            let path = Events.path(engine)
            var offset = 0
            var pending: [UInt8] = []
            while true {
                if let fd = try? FD.open(path, O_RDONLY) {
                    if Files.size(path) < offset { offset = 0 } // rotated
                    var buf = [UInt8](repeating: 0, count: 65536)
                    while true {
                        let n = buf.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, $0.count, off_t(offset)) }
                        if n <= 0 { break }
                        offset += n
                        pending += buf[0..<n]
                    }
                }
                while let nl = pending.firstIndex(of: 0x0a) {
                    let line = String(decoding: pending[..<nl], as: UTF8.self)
                    pending.removeFirst(nl + 1)
                    guard let e = try? JSON.decode(Events.Event.self, from: Array(line.utf8), what: "event") else { continue }
                    if e.timeNano < sinceNs { continue }
                    if let u = untilNs, e.timeNano >= u { return }
                    let name = e.Actor.Attributes["name"] ?? ""
                    if !containers.isEmpty && !containers.contains(where: { $0 == name || e.id.hasPrefix($0) }) { continue }
                    if !actions.isEmpty && !actions.contains(where: { e.Action.hasPrefix($0) }) { continue }
                    if format == "json" { stdoutWrite(line + "\n"); continue }
                    let attrs = e.Actor.Attributes.keys.sorted().map { "\($0)=\(e.Actor.Attributes[$0]!)" }.joined(separator: ", ")
                    stdoutWrite("\(Time.rfc3339Nano(e.timeNano)) container \(e.Action) \(e.id) (\(attrs))\n")
                }
                if let u = untilNs, Time.nowNanos() >= u { return }
                usleep(50_000)
            }
        }
    }
}
