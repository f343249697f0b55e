import ArgumentParser
import Runtime

struct OCIDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a container and everything the runtime made for it.")
    @OptionGroup var g: GlobalOptions
    @Flag(name: [.short, .long], help: "Kill a running container first.") var force = false
    @Option(help: "Delete every container whose ID matches this regular expression (crun).") var regex: String?
    @Argument var id: String?
    func run() throws {
        try perform(g) {
            let rt = g.runtime
            if let regex {
                guard id == nil else { throw RuntimeError("give an ID or --regex, not both") }
                let re: Regex<AnyRegexOutput>
                do { re = try Regex(regex) } catch { throw RuntimeError("--regex \(regex): \(error)") }
                for (rec, _) in rt.list() where (try? re.wholeMatch(in: rec.id)) != nil {
                    try rt.delete(rec.id, force: force)
                }
                return
            }
            guard let id else { throw RuntimeError("delete needs a container ID (or --regex)") }
            try rt.delete(id, force: force)
        }
    }
}
