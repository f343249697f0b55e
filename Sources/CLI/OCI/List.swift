import ArgumentParser
import OCI
import Runtime

struct OCIList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List containers.")
    @OptionGroup var g: GlobalOptions
    @Option(name: [.short, .long], help: "table or json") var format: String = "table"
    @Flag(name: [.short, .long], help: "IDs only.") var quiet = false

    struct Entry: Encodable {
        var ociVersion: String, id: String, pid: Int32, status: String, bundle: String, rootfs: String, created: String
    }

    func run() throws {
        try perform(g) {
            let items = g.runtime.list()
            if quiet { items.forEach { stdoutWrite($0.0.id + "\n") }; return }
            if format == "json" {
                let e = items.map { Entry(ociVersion: Spec.version, id: $0.0.id, pid: $0.1 == .stopped ? 0 : $0.0.pid,
                                          status: $0.1.rawValue, bundle: $0.0.bundle, rootfs: $0.0.rootfs, created: $0.0.created) }
                stdoutWrite(try JSON.string(e) + "\n")
                return
            }
            var rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED"]]
            for (r, st) in items { rows.append([r.id, st == .stopped ? "0" : String(r.pid), st.rawValue, r.bundle, r.created]) }
            stdoutWrite(Table.render(rows))
        }
    }
}

enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = first.map { $0.count }
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 3) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
