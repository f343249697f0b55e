import OCI

/// A Dockerfile's syntax error: file, line and what is wrong (BuildKit's words where it has them).
public struct DockerfileError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
    public init(_ file: String, _ line: Int, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
}

/// A Dockerfile read into instructions, as BuildKit's parser does: parser directives first,
/// the escape token, line continuations (comment and empty lines inside one dropped),
/// heredocs, JSON (exec) form against shell form. Nothing is expanded here: the builder
/// substitutes variables per instruction with the values of its moment.
public struct Dockerfile: Equatable {
    public struct Heredoc: Equatable {
        public var name: String
        public var content: String
        /// A quoted delimiter (`<<"EOF"`, `<<'EOF'`): no expansion.
        public var expand: Bool
        /// `<<-EOF`: leading tabs stripped (done here).
        public var chomp: Bool
    }

    public struct Instruction: Equatable {
        /// Upper case: RUN, COPY...
        public var keyword: String
        /// `--name=value` flags before the arguments, in order.
        public var flags: [(String, String?)]
        /// The arguments as written (continuations joined), without the flags.
        public var args: String
        /// The exec form's strings, when `args` is a JSON array of strings.
        public var json: [String]?
        public var heredocs: [Heredoc]
        public var line: Int
        /// The text as written on its first line (history's `created_by`, error messages).
        public var original: String

        public static func == (a: Self, b: Self) -> Bool {
            a.keyword == b.keyword && a.args == b.args && a.json == b.json && a.heredocs == b.heredocs && a.line == b.line
                && a.flags.map { "\($0.0)=\($0.1 ?? "")" } == b.flags.map { "\($0.0)=\($0.1 ?? "")" }
        }

        public func flag(_ name: String) -> String? {
            flags.last { $0.0 == name }.map { $0.1 ?? "" }
        }
    }

    public var file: String
    public var escape: Character = "\\"
    public var directives: [String: String] = [:]
    public var instructions: [Instruction] = []

    static let known: Set<String> = ["FROM", "RUN", "CMD", "ENTRYPOINT", "ENV", "ARG", "LABEL", "EXPOSE", "WORKDIR", "USER",
                                     "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD", "COPY", "ADD", "MAINTAINER"]
    /// Where BuildKit reads heredocs.
    static let heredocKeywords: Set<String> = ["RUN", "COPY", "ADD"]
    /// Where the JSON form means something.
    static let jsonKeywords: Set<String> = ["RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME", "HEALTHCHECK"]

    public static func parse(_ text: String, file: String = "Dockerfile") throws -> Dockerfile {
        var df = Dockerfile(file: file)
        let lines = text.replacing("\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        // Directives: `# key=value` lines at the very top; anything else ends them.
        var seen = Set<String>()
        while i < lines.count {
            guard let (k, v) = directive(lines[i]) else { break }
            guard seen.insert(k).inserted else { throw DockerfileError(file, i + 1, "only one \(k) parser directive can be used") }
            if k == "escape" {
                guard v == "\\" || v == "`" else { throw DockerfileError(file, i + 1, "invalid escape token '\(v)': only \\ and ` are allowed") }
                df.escape = Character(v)
            }
            df.directives[k] = v
            i += 1
        }
        while i < lines.count {
            let first = i
            let trimmed = lines[i].trimmingLeadingSpace()
            i += 1
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            // Join continuations: the escape token last on a line (trailing blanks allowed).
            var logical = ""
            var line = trimmed
            while true {
                if let body = continued(line, escape: df.escape) {
                    logical += body
                    // Comment lines and empty lines inside a continuation are dropped.
                    while i < lines.count {
                        let t = lines[i].trimmingLeadingSpace()
                        if t.hasPrefix("#") || t.allSatisfy({ $0 == " " || $0 == "\t" }) { i += 1 } else { break }
                    }
                    guard i < lines.count else { break }
                    line = lines[i]
                    i += 1
                } else {
                    logical += line
                    break
                }
            }
            var ins = try instruction(logical, line: first + 1, file: file)
            // Heredocs: the lines after the instruction, up to each delimiter in turn.
            if heredocKeywords.contains(ins.keyword) || (ins.keyword == "ONBUILD") {
                for (name, expand, chomp) in heredocStarts(ins.args) {
                    var body: [String] = []
                    var closed = false
                    while i < lines.count {
                        let l = lines[i]
                        i += 1
                        let cmp = chomp ? String(l.drop { $0 == "\t" }) : l
                        if cmp == name { closed = true; break }
                        body.append(cmp)
                    }
                    guard closed else { throw DockerfileError(file, first + 1, "unterminated heredoc: no line \(name) after \(ins.keyword)") }
                    ins.heredocs.append(Heredoc(name: name, content: body.map { $0 + "\n" }.joined(), expand: expand, chomp: chomp))
                }
            }
            df.instructions.append(ins)
        }
        return df
    }

    /// `# key=value` at the top: a directive (syntax, escape, check); nil otherwise.
    static func directive(_ line: String) -> (String, String)? {
        let t = line.trimmingLeadingSpace()
        guard t.hasPrefix("#") else { return nil }
        let body = t.dropFirst().trimmingLeadingSpace()
        guard let eq = body.firstIndex(of: "=") else { return nil }
        let key = body[..<eq].trimmingTrailingSpace().lowercased()
        guard ["syntax", "escape", "check"].contains(key) else { return nil }
        return (key, String(body[body.index(after: eq)...]).trimmingLeadingSpace().trimmingTrailingSpace())
    }

    /// The line without its continuation token, or nil if it does not continue.
    static func continued(_ line: String, escape: Character) -> String? {
        let t = line.trimmingTrailingSpace()
        guard t.last == escape else { return nil }
        return String(t.dropLast())
    }

    static func instruction(_ text: String, line: Int, file: String) throws -> Instruction {
        let t = text.trimmingLeadingSpace()
        let kwEnd = t.firstIndex { $0 == " " || $0 == "\t" } ?? t.endIndex
        let keyword = t[..<kwEnd].uppercased()
        guard known.contains(keyword) else { throw DockerfileError(file, line, "unknown instruction: \(t[..<kwEnd])") }
        var rest = String(t[kwEnd...]).trimmingLeadingSpace().trimmingTrailingSpace()
        var flags: [(String, String?)] = []
        // Flags: `--name[=value]` words first (not for RUN's shell text after them, nor ONBUILD's).
        if keyword != "ONBUILD" {
            while rest.hasPrefix("--") {
                let end = rest.firstIndex { $0 == " " || $0 == "\t" } ?? rest.endIndex
                let word = rest[rest.index(rest.startIndex, offsetBy: 2)..<end]
                if word.isEmpty { break } // `--` alone
                if let eq = word.firstIndex(of: "=") {
                    flags.append((String(word[..<eq]), String(word[word.index(after: eq)...])))
                } else {
                    flags.append((String(word), nil))
                }
                rest = String(rest[end...]).trimmingLeadingSpace()
            }
        }
        var json: [String]?
        if jsonKeywords.contains(keyword), rest.hasPrefix("[") {
            // Invalid JSON is shell form; a JSON array with a non-string is an error.
            if let v = try? JSON.parse(Array(rest.utf8), what: "instruction"), case .array(let items) = v {
                var out: [String] = []
                for item in items {
                    guard case .string(let s) = item else {
                        throw DockerfileError(file, line, "\(keyword): the JSON form takes strings only: \(rest)")
                    }
                    out.append(s)
                }
                json = out
            }
        }
        return Instruction(keyword: keyword, flags: flags, args: rest, json: json, heredocs: [], line: line, original: t)
    }

    /// The heredocs an instruction opens: `<<NAME`, `<<-NAME`, `<<"NAME"`, `<<'NAME'`.
    static func heredocStarts(_ args: String) -> [(String, Bool, Bool)] {
        var out: [(String, Bool, Bool)] = []
        let c = Array(args)
        var i = 0
        var quote: Character?
        while i < c.count {
            let ch = c[i]
            if let q = quote {
                if ch == q { quote = nil }
                i += 1
                continue
            }
            if ch == "'" || ch == "\"" { quote = ch; i += 1; continue }
            if ch == "<" && i + 1 < c.count && c[i + 1] == "<" && (i + 2 >= c.count || c[i + 2] != "<") {
                var j = i + 2
                var chomp = false
                if j < c.count && c[j] == "-" { chomp = true; j += 1 }
                var expand = true
                var name = ""
                if j < c.count && (c[j] == "\"" || c[j] == "'") {
                    let q = c[j]
                    expand = false
                    j += 1
                    while j < c.count && c[j] != q { name.append(c[j]); j += 1 }
                    j += 1
                } else {
                    while j < c.count && (c[j].isLetter || c[j].isNumber || c[j] == "_") { name.append(c[j]); j += 1 }
                }
                if !name.isEmpty { out.append((name, expand, chomp)) }
                i = j
                continue
            }
            i += 1
        }
        return out
    }
}

extension StringProtocol {
    func trimmingLeadingSpace() -> String { String(drop { $0 == " " || $0 == "\t" }) }
    func trimmingTrailingSpace() -> String {
        var s = Substring(self)
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
