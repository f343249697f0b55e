import OCI
import OS

/// The part of Go's text/template that `docker ... --format` users write: fields
/// (`{{.State.Status}}`), pipelines (`{{.Names | upper}}`), `range` (with `$k, $v :=`),
/// `if`/`else if`/`else`, `with`, variables, parentheses, `{{-`/`-}}` trimming, Docker's
/// functions (json, join, split, lower, upper, title, truncate, pad, println) and Go's
/// (index, len, print, printf, eq, ne, lt, le, gt, ge, and, or, not), a leading `table`,
/// and `\t` `\n` escapes. A missing map key prints `<no value>`, as Go's does.
public struct Template {
    indirect enum Node {
        case text(String)
        case action(Pipe)
        case range(Pipe, [Node], [Node])
        case cond(Pipe, [Node], [Node])
        case with(Pipe, [Node], [Node])
    }
    struct Pipe { var decl: [String] = []; var cmds: [[Arg]] = [] }
    indirect enum Arg {
        case field(base: String?, path: [String])    // base nil: dot; else a variable name ("$" too)
        case str(String), num(Double), bool(Bool), ident(String)
        case sub(Pipe, path: [String])
    }

    var nodes: [Node]
    public let table: Bool

    public struct TemplateError: Error, CustomStringConvertible { public var description: String }

    public init(_ format: String) throws {
        var f = format
        table = f.hasPrefix("table ")
        if table { f = String(f.dropFirst(6)).trimmed() }
        f = f.replacing("\\t", with: "\t").replacing("\\n", with: "\n")
        var p = Parser(src: f, format: format)
        nodes = try p.parseList(until: [])
    }

    // MARK: rendering

    /// `fieldsOf`: the value is a Go struct of that type (Docker's formatter contexts: ps,
    /// images, stats), whose missing fields are an error, as Go's; without it a map, whose
    /// missing keys print `<no value>` (inspect).
    public func render(_ v: JSONValue, fieldsOf type: String? = nil) throws -> String {
        var out = ""
        var vars: [String: JSONValue?] = ["$": v]
        var t = self
        t.structType = type
        t.root = type == nil ? nil : v
        try t.run(nodes, dot: v, vars: &vars, into: &out)
        return out
    }

    var structType: String?
    var root: JSONValue?

    func run(_ nodes: [Node], dot: JSONValue?, vars: inout [String: JSONValue?], into out: inout String) throws {
        for n in nodes {
            switch n {
            case .text(let t): out += t
            case .action(let p):
                let v = try eval(p, dot: dot, vars: &vars)
                if p.decl.isEmpty { out += Self.show(v) }
            case .cond(let p, let yes, let no):
                try run(Self.truth(try eval(p, dot: dot, vars: &vars)) ? yes : no, dot: dot, vars: &vars, into: &out)
            case .with(let p, let yes, let no):
                let v = try eval(p, dot: dot, vars: &vars)
                if Self.truth(v) { try run(yes, dot: v, vars: &vars, into: &out) } else { try run(no, dot: dot, vars: &vars, into: &out) }
            case .range(let p, let body, let otherwise):
                let v = try eval(Pipe(cmds: p.cmds), dot: dot, vars: &vars)
                var items: [(JSONValue, JSONValue)] = []
                switch v {
                case .array(let a)?: items = a.enumerated().map { (.number(Double($0.offset)), $0.element) }
                case .object(let o, _)?: items = o.keys.sorted().map { (.string($0), o[$0]!) }
                case nil, .null?: break
                default: throw TemplateError(description: "template: range can't iterate over \(Self.show(v))")
                }
                if items.isEmpty { try run(otherwise, dot: dot, vars: &vars, into: &out) }
                for (k, e) in items {
                    if p.decl.count == 2 { vars[p.decl[0]] = k; vars[p.decl[1]] = e } else if p.decl.count == 1 { vars[p.decl[0]] = e }
                    try run(body, dot: e, vars: &vars, into: &out)
                }
            }
        }
    }

    func eval(_ p: Pipe, dot: JSONValue?, vars: inout [String: JSONValue?]) throws -> JSONValue? {
        var last: JSONValue??
        for cmd in p.cmds {
            last = .some(try call(cmd, piped: last, dot: dot, vars: &vars))
        }
        let v = last ?? nil
        if let name = p.decl.last, p.decl.count == 1 { vars[name] = v }
        return v
    }

    func value(_ a: Arg, dot: JSONValue?, vars: inout [String: JSONValue?]) throws -> JSONValue? {
        switch a {
        case .str(let s): return .string(s)
        case .num(let n): return .number(n)
        case .bool(let b): return .bool(b)
        case .ident(let f): throw TemplateError(description: "template: \(f) is a function: call it first in a command, or in (parentheses)")
        case .field(let base, let path):
            var cur: JSONValue?
            if base == "$__nil" { return nil }
            if let b = base {
                guard let v = vars[b] else { throw TemplateError(description: "template: undefined variable \(b)") }
                cur = v
            } else {
                cur = dot
            }
            if let type = structType, let k = path.first, let r = root, cur == r, r[k] == nil {
                throw TemplateError(description: "template: executing \"\" at <.\(k)>: can't evaluate field \(k) in type \(type)")
            }
            return try Self.walk(cur, path)
        case .sub(let p, let path):
            return try Self.walk(try eval(p, dot: dot, vars: &vars), path)
        }
    }

    static func walk(_ start: JSONValue?, _ path: [String]) throws -> JSONValue? {
        var cur = start
        for k in path {
            switch cur {
            case .object(let o, _)?: cur = o[k]
            case nil, .null?: return nil
            default: throw TemplateError(description: "template: can't evaluate field \(k) in type \(typeName(cur))")
            }
        }
        return cur
    }

    static func typeName(_ v: JSONValue?) -> String {
        switch v {
        case .string?: return "string"
        case .number?: return "number"
        case .bool?: return "bool"
        case .array?: return "slice"
        default: return "value"
        }
    }

    func call(_ cmd: [Arg], piped: JSONValue??, dot: JSONValue?, vars: inout [String: JSONValue?]) throws -> JSONValue? {
        guard let first = cmd.first else { throw TemplateError(description: "template: empty command") }
        guard case .ident(let name) = first else {
            if cmd.count > 1 || piped != nil {
                throw TemplateError(description: "template: can't give arguments to a non-function value")
            }
            return try value(first, dot: dot, vars: &vars)
        }
        var args: [JSONValue?] = []
        for a in cmd.dropFirst() { args.append(try value(a, dot: dot, vars: &vars)) }
        if let p = piped { args.append(p) }
        return try Self.function(name, args)
    }

    static func function(_ name: String, _ a: [JSONValue?]) throws -> JSONValue? {
        func need(_ n: Int) throws {
            guard a.count == n else { throw TemplateError(description: "template: wrong number of args for \(name): want \(n) got \(a.count)") }
        }
        func str(_ v: JSONValue?) -> String { show(v) }
        func num(_ v: JSONValue?) throws -> Double {
            if let n = v?.double { return n }
            if case .string(let s)? = v, let n = Double(s) { return n }
            throw TemplateError(description: "template: \(name): \(show(v)) is not a number")
        }
        switch name {
        case "json": try need(1); return .string(a[0].map(Self.json) ?? "null")
        case "len":
            try need(1)
            switch a[0] {
            case .array(let x)?: return .number(Double(x.count))
            case .object(let x, _)?: return .number(Double(x.count))
            case .string(let s)?: return .number(Double(s.utf8.count))
            default: throw TemplateError(description: "template: len of \(show(a[0]))")
            }
        case "index":
            guard !a.isEmpty else { try need(2); return nil }
            var cur = a[0]
            for k in a.dropFirst() {
                switch (cur, k) {
                case (.object(let o, _)?, .string(let s)?): cur = o[s]
                case (.array(let x)?, .number?):
                    let i = Int(k?.double ?? -1)
                    guard i >= 0 && i < x.count else { throw TemplateError(description: "template: index out of range: \(i)") }
                    cur = x[i]
                case (nil, _), (.null?, _): return nil
                default: throw TemplateError(description: "template: can't index \(show(cur)) with \(show(k))")
                }
            }
            return cur
        case "join":
            try need(2)
            guard case .array(let x)? = a[0] else { return .string(str(a[0])) }
            return .string(x.map { show($0) }.joined(separator: str(a[1])))
        case "split": try need(2); return .array(str(a[0]).split(separator: str(a[1]), omittingEmptySubsequences: false).map { .string(String($0)) })
        case "lower": try need(1); return .string(str(a[0]).lowercased())
        case "upper": try need(1); return .string(str(a[0]).uppercased())
        case "title": try need(1); return .string(str(a[0]).split(separator: " ", omittingEmptySubsequences: false).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " "))
        case "truncate": try need(2); return .string(String(str(a[0]).prefix(Int(try num(a[1])))))
        case "pad": try need(3); let p = String(repeating: " ", count: Int(try num(a[1]))); let q = String(repeating: " ", count: Int(try num(a[2]))); return .string(p + str(a[0]) + q)
        case "print": return .string(a.map { str($0) }.joined())
        case "println": return .string(a.map { str($0) }.joined(separator: " ") + "\n")
        case "printf":
            guard let f = a.first else { try need(1); return nil }
            return .string(try printf(str(f), Array(a.dropFirst())))
        case "eq":
            guard a.count >= 2 else { try need(2); return nil }
            return .bool(a.dropFirst().contains { $0 == a[0] })
        case "ne": try need(2); return .bool(a[0] != a[1])
        case "lt", "le", "gt", "ge":
            try need(2)
            let (x, y) = (try num(a[0]), try num(a[1]))
            return .bool(name == "lt" ? x < y : name == "le" ? x <= y : name == "gt" ? x > y : x >= y)
        case "not": try need(1); return .bool(!truth(a[0]))
        case "and": return a.first { !truth($0) } ?? a.last ?? nil
        case "or": return a.first { truth($0) } ?? a.last ?? nil
        default: throw TemplateError(description: "template: function \"\(name)\" not defined")
        }
    }

    static func printf(_ f: String, _ args: [JSONValue?]) throws -> String {
        var out = "", i = 0
        var it = f.makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            guard let v = it.next() else { out.append("%"); break }
            if v == "%" { out.append("%"); continue }
            guard i < args.count else { out += "%!\(v)(MISSING)"; continue }
            let a = args[i]
            i += 1
            switch v {
            case "q": out += a.map(Self.json) ?? "\"\""
            default: out += show(a)
            }
        }
        return out
    }

    static func truth(_ v: JSONValue?) -> Bool {
        switch v {
        case nil, .null?: return false
        case .bool(let b)?: return b
        case .number?: return v?.double != 0
        case .string(let s)?: return !s.isEmpty
        case .array(let a)?: return !a.isEmpty
        case .object(let o, _)?: return !o.isEmpty
        }
    }

    static func show(_ v: JSONValue?) -> String { v?.text ?? "<no value>" }
    static func json(_ v: JSONValue) -> String { v.json }

    /// The header row of a `table` template: each action's last field name (Docker's
    /// column names where it has them), the text between as it is.
    public func header(_ names: [String: String]) -> String {
        nodes.map { n -> String in
            switch n {
            case .text(let t): return t
            case .action(let p):
                var last = ""
                for cmd in p.cmds {
                    for a in cmd {
                        if case .field(_, let path) = a, let l = path.last { last = l }
                        if case .sub(_, let path) = a, let l = path.last { last = l }
                    }
                }
                return names[last] ?? last.uppercased()
            default: return ""
            }
        }.joined()
    }

    // MARK: parsing

    struct Parser {
        let src: String
        let format: String
        var pos: String.Index

        init(src: String, format: String) {
            self.src = src
            self.format = format
            pos = src.startIndex
        }

        func error(_ s: String) -> TemplateError { TemplateError(description: "template: \(s) in \"\(format)\"") }

        /// Nodes up to one of the keywords in `until` ("end", "else"); returns on it.
        mutating func parseList(until: Set<String>) throws -> [Node] {
            var out: [Node] = []
            while pos < src.endIndex {
                guard let open = src[pos...].firstRange(of: "{{") else {
                    out.append(.text(String(src[pos...])))
                    pos = src.endIndex
                    break
                }
                var text = String(src[pos..<open.lowerBound])
                var start = open.upperBound
                if src[start...].hasPrefix("- ") || src[start...].hasPrefix("-\t") || src[start...].hasPrefix("-\n") {
                    while let l = text.last, l == " " || l == "\t" || l == "\n" || l == "\r" { text.removeLast() }
                    start = src.index(after: start)
                }
                if !text.isEmpty { out.append(.text(text)) }
                guard let close = src[start...].firstRange(of: "}}") else { throw error("unclosed action") }
                var body = String(src[start..<close.lowerBound])
                pos = close.upperBound
                if body.hasSuffix(" -") || body.hasSuffix("\t-") || body.hasSuffix("\n-") {
                    body.removeLast()
                    while pos < src.endIndex, " \t\n\r".contains(src[pos]) { pos = src.index(after: pos) }
                }
                var lex = Lexer(body.trimmed(), format: format)
                let word = lex.peekWord()
                switch word {
                case "end", "else":
                    guard until.contains(word) || (word == "else" && until.contains("end")) else { throw error("unexpected {{\(word)}}") }
                    _ = lex.word()
                    pending = (word, lex)
                    return out
                case "if", "range", "with":
                    _ = lex.word()
                    let pipe = try lex.pipeline(allowDecl: word != "if")
                    let yes = try parseList(until: ["end", "else"])
                    var no: [Node] = []
                    guard let (kw, rest) = pending else { throw error("missing {{end}} for {{\(word)}}") }
                    pending = nil
                    if kw == "else" {
                        var r = rest
                        if word == "if" && r.peekWord() == "if" {
                            _ = r.word()
                            let p2 = try r.pipeline(allowDecl: false)
                            let yes2 = try parseList(until: ["end", "else"])
                            var no2: [Node] = []
                            no = try finishElse(&no2, yes2, p2)
                        } else {
                            no = try parseList(until: ["end"])
                            guard pending?.0 == "end" else { throw error("missing {{end}} for {{\(word)}}") }
                            pending = nil
                        }
                    }
                    switch word {
                    case "if": out.append(.cond(pipe, yes, no))
                    case "range": out.append(.range(pipe, yes, no))
                    default: out.append(.with(pipe, yes, no))
                    }
                default:
                    out.append(.action(try lex.pipeline(allowDecl: true)))
                }
            }
            if !until.isEmpty { throw error("missing {{end}}") }
            return out
        }

        /// `{{else if P}}...`: the rest of an if chain, as a nested cond.
        mutating func finishElse(_ no2: inout [Node], _ yes2: [Node], _ p2: Pipe) throws -> [Node] {
            guard let (kw, rest) = pending else { throw error("missing {{end}} for {{else if}}") }
            pending = nil
            if kw == "else" {
                var r = rest
                if r.peekWord() == "if" {
                    _ = r.word()
                    let p3 = try r.pipeline(allowDecl: false)
                    let yes3 = try parseList(until: ["end", "else"])
                    var n3: [Node] = []
                    no2 = try finishElse(&n3, yes3, p3)
                } else {
                    no2 = try parseList(until: ["end"])
                    guard pending?.0 == "end" else { throw error("missing {{end}}") }
                    pending = nil
                }
            }
            return [.cond(p2, yes2, no2)]
        }

        var pending: (String, Lexer)?
    }

    struct Lexer {
        let s: [Character]
        var i = 0
        let format: String

        init(_ s: String, format: String) {
            self.s = Array(s)
            self.format = format
        }

        func error(_ m: String) -> TemplateError { TemplateError(description: "template: \(m) in \"\(format)\"") }

        mutating func skipSpace() { while i < s.count, s[i] == " " || s[i] == "\t" || s[i] == "\n" { i += 1 } }

        func peekWord() -> String {
            var j = i
            while j < s.count, s[j] == " " { j += 1 }
            var w = ""
            while j < s.count, s[j].isLetter { w.append(s[j]); j += 1 }
            return w
        }

        mutating func word() -> String {
            skipSpace()
            var w = ""
            while i < s.count, s[i].isLetter || s[i].isNumber || s[i] == "_" { w.append(s[i]); i += 1 }
            return w
        }

        /// `[$a[, $b] :=] cmd [| cmd]...`
        mutating func pipeline(allowDecl: Bool, closing: Character? = nil) throws -> Pipe {
            var p = Pipe()
            skipSpace()
            if allowDecl && i < s.count && s[i] == "$" {
                let save = i
                var names: [String] = []
                while i < s.count && s[i] == "$" {
                    names.append(variable())
                    skipSpace()
                    if i < s.count && s[i] == "," { i += 1; skipSpace() } else { break }
                }
                if i + 1 < s.count && s[i] == ":" && s[i + 1] == "=" {
                    i += 2
                    p.decl = names
                } else {
                    i = save
                }
            }
            var cmd: [Arg] = []
            while true {
                skipSpace()
                if i >= s.count || (closing != nil && s[i] == closing!) { break }
                if s[i] == "|" {
                    guard !cmd.isEmpty else { throw error("missing command before |") }
                    p.cmds.append(cmd)
                    cmd = []
                    i += 1
                    continue
                }
                cmd.append(try operand())
            }
            if !cmd.isEmpty { p.cmds.append(cmd) }
            guard !p.cmds.isEmpty else { throw error("missing value") }
            return p
        }

        mutating func variable() -> String {
            var v = "$"
            i += 1
            while i < s.count, s[i].isLetter || s[i].isNumber || s[i] == "_" { v.append(s[i]); i += 1 }
            return v
        }

        mutating func fieldPath() -> [String] {
            var path: [String] = []
            while i < s.count && s[i] == "." {
                i += 1
                var k = ""
                while i < s.count, s[i].isLetter || s[i].isNumber || s[i] == "_" || s[i] == "-" { k.append(s[i]); i += 1 }
                if !k.isEmpty { path.append(k) }
            }
            return path
        }

        mutating func operand() throws -> Arg {
            let c = s[i]
            if c == "." { return .field(base: nil, path: fieldPath()) }
            if c == "$" {
                let v = variable()
                return .field(base: v, path: fieldPath())
            }
            if c == "(" {
                i += 1
                let p = try pipeline(allowDecl: false, closing: ")")
                guard i < s.count && s[i] == ")" else { throw error("unclosed (") }
                i += 1
                return .sub(p, path: fieldPath())
            }
            if c == "\"" || c == "`" {
                i += 1
                var out = ""
                while i < s.count && s[i] != c {
                    if c == "\"" && s[i] == "\\" && i + 1 < s.count {
                        i += 1
                        switch s[i] {
                        case "n": out.append("\n")
                        case "t": out.append("\t")
                        default: out.append(s[i])
                        }
                    } else {
                        out.append(s[i])
                    }
                    i += 1
                }
                guard i < s.count else { throw error("unterminated string") }
                i += 1
                return .str(out)
            }
            if c.isNumber || c == "-" {
                var n = ""
                while i < s.count, s[i].isNumber || s[i] == "." || s[i] == "-" { n.append(s[i]); i += 1 }
                guard let d = Double(n) else { throw error("bad number \(n)") }
                return .num(d)
            }
            if c.isLetter {
                let w = word()
                switch w {
                case "true": return .bool(true)
                case "false": return .bool(false)
                case "nil": return .field(base: "$__nil", path: [])
                default: return .ident(w)
                }
            }
            throw error("unexpected \"\(c)\"")
        }
    }
}

extension JSONValue {
    /// Go template's default printing: strings bare, numbers as written, maps as map[...].
    public var text: String {
        switch self {
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .number(let t): return t
        case .string(let s): return s
        case .array(let a): return "[" + a.map(\.text).joined(separator: " ") + "]"
        case .object: return "map[" + (members ?? []).sorted { $0.0 < $1.0 }.map { "\($0.0):\($0.1.text)" }.joined(separator: " ") + "]"
        }
    }

    /// One line of JSON, keys sorted (Docker's --format json).
    public var json: String { (try? JSON.string(self)) ?? "null" }
}
