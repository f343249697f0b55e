import ArgumentParser
import ImageStore
import OCI
import OS
import RuncCLI

struct Images: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images.")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Only image IDs.") var quiet = false
    @Flag(name: [.short, .long], help: "Also images without a name.") var all = false
    @Option(help: "table or json") var format: String = "table"

    struct Row: Encodable {
        var Repository: String, Tag: String, ID: String, CreatedAt: String, Size: String
    }

    func run() throws {
        try engine {
            let images = try s.store().images()
            var rows: [Row] = []
            for img in images {
                let short = String(img.id.dropFirst(7).prefix(12))
                let names = img.names.isEmpty ? (all ? ["<none>:<none>"] : []) : img.names
                for n in names {
                    let colon = n.lastIndex(of: ":").flatMap { n[$0...].contains("/") ? nil : $0 }
                    let repo = colon.map { String(n[..<$0]) } ?? n
                    let tag = colon.map { String(n[n.index(after: $0)...]) } ?? "<none>"
                    rows.append(Row(Repository: repo, Tag: tag, ID: short, CreatedAt: img.created ?? "", Size: Self.human(img.size)))
                }
            }
            if quiet { Set(rows.map(\.ID)).sorted().forEach { stdoutWrite($0 + "\n") }; return }
            if format == "json" { rows.forEach { stdoutWrite((try? JSON.string($0)).map { $0 + "\n" } ?? "") }; return }
            var table = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]]
            table += rows.map { [$0.Repository, $0.Tag, $0.ID, $0.CreatedAt, $0.Size] }
            stdoutWrite(Table.render(table))
        }
    }

    static func human(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(n), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        if i == 0 { return "\(n)B" }
        let r = (v * 10).rounded() / 10
        return (r == r.rounded() ? String(Int(r)) : String(r)) + units[i]
    }
}
