/// runc's command-line rules (urfave/cli), parsed by hand: swift-argument-parser's
/// reflection cost about 2 ms per invocation, and a runtime is started several times
/// per container. Accepted: `--name value`, `--name=value`, Go's single-dash `-name`,
/// `-n value`, grouped boolean shorts (`-dt`), options after positionals, and `--`.
struct OptionSpec {
    let long: String
    let short: Character?
    let takesValue: Bool
    let help: String

    static func flag(_ long: String, _ short: Character? = nil, _ help: String) -> OptionSpec {
        OptionSpec(long: long, short: short, takesValue: false, help: help)
    }
    static func value(_ long: String, _ short: Character? = nil, _ help: String) -> OptionSpec {
        OptionSpec(long: long, short: short, takesValue: true, help: help)
    }
}

struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct ParsedArgs {
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []
    /// Everything after the positionals of a command that passes a command line through.
    var rest: [String] = []

    func value(_ long: String) -> String? { values[long]?.last }
    func all(_ long: String) -> [String] { values[long] ?? [] }
    func has(_ long: String) -> Bool { flags.contains(long) }

    /// Parses `args` against `specs`. With `passthroughAfter: n`, once n positionals are
    /// seen the remaining words are the process's own (exec's command, ps's options).
    static func parse(_ args: [String], _ specs: [OptionSpec], passthroughAfter: Int? = nil) throws -> ParsedArgs {
        var p = ParsedArgs()
        var i = 0
        func find(long: String) -> OptionSpec? { specs.first { $0.long == long } }
        func find(short: Character) -> OptionSpec? { specs.first { $0.short == short } }
        func take(_ spec: OptionSpec, inline: String?, shown: String) throws {
            guard spec.takesValue else {
                if let inline, inline != "true" {
                    if inline == "false" { p.flags.remove(spec.long); return }
                    throw UsageError("invalid boolean value \"\(inline)\" for flag \(shown)")
                }
                p.flags.insert(spec.long)
                return
            }
            if let inline { p.values[spec.long, default: []].append(inline); return }
            guard i < args.count else { throw UsageError("flag needs an argument: \(shown)") }
            p.values[spec.long, default: []].append(args[i])
            i += 1
        }
        while i < args.count {
            let a = args[i]
            i += 1
            if let n = passthroughAfter, p.positionals.count >= n {
                p.rest = Array(args[(i - 1)...])
                if p.rest.first == "--" { p.rest.removeFirst() }
                return p
            }
            if a == "--" {
                p.positionals += args[i...]
                break
            }
            guard a.hasPrefix("-"), a.count > 1 else { p.positionals.append(a); continue }
            let body = a.hasPrefix("--") ? String(a.dropFirst(2)) : String(a.dropFirst())
            let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let name = parts[0], inline = parts.count > 1 ? parts[1] : nil
            if let spec = find(long: name), a.hasPrefix("--") || name.count > 1 {
                try take(spec, inline: inline, shown: a.hasPrefix("--") ? "--" + name : "-" + name)
            } else if !a.hasPrefix("--"), name.count == 1, let spec = find(short: name.first!) {
                try take(spec, inline: inline, shown: "-" + name)
            } else if !a.hasPrefix("--"), inline == nil, name.allSatisfy({ c in find(short: c).map { !$0.takesValue } ?? false }) {
                for c in name { p.flags.insert(find(short: c)!.long) }
            } else {
                throw UsageError("flag provided but not defined: \(a.split(separator: "=")[0])")
            }
        }
        if let n = passthroughAfter, p.positionals.count > n {
            p.rest = Array(p.positionals[n...])
            p.positionals.removeLast(p.positionals.count - n)
        }
        return p
    }
}
