/// Variable substitution in Dockerfile words, as BuildKit's shell lexer does it: `$V`,
/// `${V}`, `${V:-d}` `${V-d}` `${V:+x}` `${V+x}` `${V:?e}` `${V?e}`; single quotes are literal,
/// double quotes expand; the escape token escapes outside quotes and, inside double quotes,
/// only `"`, `$` and itself. Quotes are removed. Used for every instruction but RUN, CMD
/// and ENTRYPOINT, whose text the shell expands.
public struct ShellLex {
    public var escape: Character

    public init(escape: Character = "\\") { self.escape = escape }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// One word: expanded, quotes removed.
    public func process(_ word: String, _ lookup: (String) -> String?) throws -> String {
        var out = ""
        let c = Array(word)
        var i = 0
        while i < c.count {
            let ch = c[i]
            if ch == escape {
                i += 1
                if i < c.count { out.append(c[i]) }
                i += 1
            } else if ch == "'" {
                i += 1
                while i < c.count && c[i] != "'" { out.append(c[i]); i += 1 }
                guard i < c.count else { throw Failure(description: "unexpected end of statement while looking for matching single-quote") }
                i += 1
            } else if ch == "\"" {
                i += 1
                var closed = false
                while i < c.count {
                    if c[i] == "\"" { closed = true; i += 1; break }
                    if c[i] == "$" {
                        out += try dollar(c, &i, lookup)
                        continue
                    }
                    if c[i] == escape, i + 1 < c.count, ["\"", "$", escape].contains(c[i + 1]) {
                        out.append(c[i + 1])
                        i += 2
                        continue
                    }
                    out.append(c[i])
                    i += 1
                }
                guard closed else { throw Failure(description: "unexpected end of statement while looking for matching double-quote") }
            } else if ch == "$" {
                out += try dollar(c, &i, lookup)
            } else {
                out.append(ch)
                i += 1
            }
        }
        return out
    }

    /// `$...` at c[i]; i moves past it.
    func dollar(_ c: [Character], _ i: inout Int, _ lookup: (String) -> String?) throws -> String {
        i += 1
        guard i < c.count else { return "$" }
        if c[i] != "{" {
            var name = ""
            while i < c.count, c[i].isASCII && (c[i].isLetter || c[i].isNumber || c[i] == "_") { name.append(c[i]); i += 1 }
            return name.isEmpty ? "$" : lookup(name) ?? ""
        }
        i += 1
        var name = ""
        while i < c.count, c[i].isASCII && (c[i].isLetter || c[i].isNumber || c[i] == "_") { name.append(c[i]); i += 1 }
        guard !name.isEmpty, i < c.count else { throw Failure(description: "bad substitution: missing variable name in ${}") }
        if c[i] == "}" {
            i += 1
            return lookup(name) ?? ""
        }
        var colon = false
        if c[i] == ":" { colon = true; i += 1 }
        guard i < c.count, ["-", "+", "?"].contains(c[i]) else {
            throw Failure(description: "unsupported modifier in ${\(name)...}: use :-, -, :+, +, :? or ?")
        }
        let op = c[i]
        i += 1
        // The word up to the matching brace, itself expanded.
        var depth = 0
        var raw: [Character] = []
        while i < c.count {
            if c[i] == escape, i + 1 < c.count { raw.append(c[i]); raw.append(c[i + 1]); i += 2; continue }
            if c[i] == "{" { depth += 1 }
            if c[i] == "}" {
                if depth == 0 { break }
                depth -= 1
            }
            raw.append(c[i])
            i += 1
        }
        guard i < c.count else { throw Failure(description: "bad substitution: missing '}' in ${\(name)") }
        i += 1
        let value = lookup(name)
        let set = colon ? !(value ?? "").isEmpty : value != nil
        switch op {
        case "-": return set ? value! : try process(String(raw), lookup)
        case "+": return set ? try process(String(raw), lookup) : ""
        default:
            if set { return value! }
            let msg = try process(String(raw), lookup)
            throw Failure(description: "\(name): \(msg.isEmpty ? "is not allowed to be unset" : msg)")
        }
    }

    /// Splits on blanks outside quotes; quotes and escapes stay for `process`.
    public func words(_ s: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var inWord = false
        var quote: Character?
        let c = Array(s)
        var i = 0
        while i < c.count {
            let ch = c[i]
            if quote == nil && (ch == " " || ch == "\t" || ch == "\n") {
                if inWord { out.append(cur); cur = ""; inWord = false }
                i += 1
                continue
            }
            inWord = true
            if ch == escape && quote != "'" && i + 1 < c.count {
                cur.append(ch)
                cur.append(c[i + 1])
                i += 2
                continue
            }
            if ch == "'" || ch == "\"" {
                if quote == nil { quote = ch } else if quote == ch { quote = nil }
            }
            cur.append(ch)
            i += 1
        }
        if inWord { out.append(cur) }
        return out
    }

    /// `KEY=VALUE ...` (ENV, LABEL, ARG): each pair with its value processed. The legacy form
    /// `KEY VALUE...` (one pair, the rest of the line its value) when `legacy` allows it.
    public func pairs(_ args: String, legacy: Bool, _ lookup: (String) -> String?) throws -> [(String, String?)] {
        let ws = words(args)
        guard let first = ws.first else { return [] }
        if !first.contains("=") && legacy {
            guard ws.count > 1 else { return [(try process(first, lookup), nil)] }
            // ENV key value with spaces: the value as written after the key, expanded once.
            let rest = String(args.trimmingLeadingSpace().dropFirst(first.count)).trimmingLeadingSpace()
            return [(try process(first, lookup), try process(rest, lookup))]
        }
        var out: [(String, String?)] = []
        for w in ws {
            if let eq = w.firstIndex(of: "=") {
                out.append((try process(String(w[..<eq]), lookup), try process(String(w[w.index(after: eq)...]), lookup)))
            } else {
                out.append((try process(w, lookup), nil))
            }
        }
        return out
    }
}
