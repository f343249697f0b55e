import ArgumentParser
import ImageStore
import OCI
import OS
import Engine
import RuncCLI
import Template

struct Images: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images.")
    @OptionGroup var s: StoreOptions
    @Flag(name: [.short, .long], help: "Only image IDs.") var quiet = false
    @Flag(name: [.short, .long], help: "Intermediate images too (the build cache; untagged images are always listed, as <none>).") var all = false
    @Flag(name: .customLong("no-trunc"), help: "Full image IDs.") var noTrunc = false
    @Option(name: [.short, .long], help: "dangling=true|false, reference=PATTERN (a glob on repository[:tag]), label=KEY[=VALUE], before=IMAGE, since=IMAGE.") var filter: [String] = []
    @Option(help: "table (default), json, a Go template, or 'table TEMPLATE'.") var format: String?
    @Argument(help: "REPOSITORY[:TAG]: only these (a glob, as --filter reference=).") var reference: String?

    func run() throws {
        try engine {
            var images = try s.store().images().filter { all || !$0.intermediate }
            for f in filter + (reference.map { ["reference=" + ($0.contains(":") ? ImageStore.normalizeName($0) : $0)] } ?? []) {
                let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
                switch (kv.first, kv.count) {
                case ("dangling", 2):
                    guard kv[1] == "true" || kv[1] == "false" else { throw Failure("invalid filter 'dangling=\(kv[1])': use true or false") }
                    images = images.filter { $0.names.isEmpty == (kv[1] == "true") }
                case ("reference", 2):
                    images = images.compactMap { img in
                        var i = img
                        i.names = img.names.filter { n in Glob.match(kv[1], n) || Glob.match(kv[1], String(n.prefix { $0 != ":" })) }
                        return i.names.isEmpty ? nil : i
                    }
                case ("label", 2):
                    // label=KEY or label=KEY=VALUE, on the image's config.
                    let l = kv[1].split(separator: "=", maxSplits: 1).map(String.init)
                    let store = try s.store()
                    images = images.filter { img in
                        let labels = (try? JSON.decode(ImageConfig.self, from: store.readBlob(img.id), what: "image config"))?.config?.Labels ?? [:]
                        guard let have = labels[l[0]] else { return false }
                        return l.count == 1 || have == l[1]
                    }
                case ("before", 2), ("since", 2):
                    // Images created before (or after) the one named.
                    let pivot = try s.store().find(kv[1])
                    guard let t = pivot.created.flatMap({ JSONLogReader.parseTime($0) }) else { break }
                    images = images.filter { img in
                        guard img.id != pivot.id, let c = img.created.flatMap({ JSONLogReader.parseTime($0) }) else { return false }
                        return kv[0] == "before" ? c < t : c > t
                    }
                default:
                    throw Failure("invalid filter '\(f)': use dangling=true|false, reference=PATTERN, label=KEY[=VALUE], before=IMAGE or since=IMAGE")
                }
            }
            let now = Time.nowNanos()
            var rows: [JSONValue] = []
            for img in images {
                let id = noTrunc ? img.id : String(img.id.dropFirst(7).prefix(12))
                let created = img.created.flatMap { JSONLogReader.parseTime($0) }
                for n in img.names.isEmpty ? ["<none>:<none>"] : img.names {
                    let colon = n.lastIndex(of: ":").flatMap { n[$0...].contains("/") ? nil : $0 }
                    let size = Self.human(img.size)
                    rows.append(.object([
                        ("Containers", .string("N/A")),
                        ("CreatedAt", .string(created.map(Self.dockerTime) ?? "")),
                        ("CreatedSince", .string(created.map { DockerWords.humanDuration(now - $0) + " ago" } ?? "N/A")),
                        ("Digest", .string("<none>")),
                        ("ID", .string(id)),
                        ("Repository", .string(colon.map { String(n[..<$0]) } ?? n)),
                        ("SharedSize", .string("N/A")),
                        ("Size", .string(size)),
                        ("Tag", .string(colon.map { String(n[n.index(after: $0)...]) } ?? "<none>")),
                        ("UniqueSize", .string("N/A")),
                        ("VirtualSize", .string(size)),
                    ]))
                }
            }
            if quiet {
                var seen = Set<String>()
                for r in rows { if let id = r["ID"]?.text, seen.insert(id).inserted { stdoutWrite(id + "\n") } }
                return
            }
            try printRows(rows, format: format,
                          columns: [("REPOSITORY", "Repository"), ("TAG", "Tag"), ("IMAGE ID", "ID"), ("CREATED", "CreatedSince"), ("SIZE", "Size")],
                          type: "*formatter.ImageContext", headers: ["CreatedAt": "CREATED AT"])
        }
    }

    /// Go's time.Time as Docker prints CreatedAt: "2026-01-01 00:00:00 +0000 UTC".
    static func dockerTime(_ ns: Int64) -> String {
        let t = Time.rfc3339Nano(ns)
        return String(t.prefix(10)) + " " + String(t.dropFirst(11).prefix(8)) + " +0000 UTC"
    }

    /// Docker's units.HumanSizeWithPrecision(n, 3): decimal units, three significant digits
    /// ("2.13MB", "16.4MB", "133MB").
    static func human(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var v = Double(n), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        let decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2
        let scale = [1.0, 10.0, 100.0][decimals]
        var r = (v * scale).rounded() / scale
        if r >= 1000 && i < units.count - 1 { r /= 1000; i += 1 }
        var s = String(r)
        if s.contains(".") { while s.hasSuffix("0") { s.removeLast() }; if s.hasSuffix(".") { s.removeLast() } }
        return s + units[i]
    }
}

/// Docker's sizes ("2.15MB"), for the compose plugin too.
package func humanSize(_ n: Int64) -> String { Images.human(n) }
