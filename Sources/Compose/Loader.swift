import Build
import Engine
import OS
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// Reads compose files as `docker compose` does: found by name in the project directory
/// (compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml, with
/// compose.override.yaml merged), parsed by Yams, `${VAR}` interpolated in values from the
/// shell's environment then `.env`, merged (later files win), and checked: an unknown key
/// or a wrong type is an error naming the key, the file and the line.
public struct Loader {
    public var files: [String] = []
    public var projectName: String?
    public var envFile: String?
    public var profiles: [String] = []
    public var environment: [String: String] = Loader.processEnvironment()

    public init() {}

    static let defaultNames = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"]
    static let overrideNames = ["compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml", "docker-compose.override.yml"]

    public static func processEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        for kv in Environment.current() {
            guard let eq = kv.firstIndex(of: "=") else { continue }
            out[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        return out
    }

    public func load(cwd: String = Files.cwd()) throws -> Project {
        var paths = files.map { Files.absolute($0) }
        if paths.isEmpty {
            guard let main = Self.defaultNames.map({ cwd + "/" + $0 }).first(where: Files.exists) else {
                throw ComposeError("no configuration file provided: not found (looked for \(Self.defaultNames.joined(separator: ", ")) in \(cwd))")
            }
            paths = [main] + (Self.overrideNames.map { cwd + "/" + $0 }.first(where: Files.exists).map { [$0] } ?? [])
        }
        let dir = String(paths[0][..<paths[0].lastIndex(of: "/")!])
        // Interpolation: the shell's environment first, then .env of the project directory.
        var env = environment
        let dotenv = envFile.map(Files.absolute) ?? dir + "/.env"
        if Files.exists(dotenv) || envFile != nil {
            for (k, v) in try Self.parseEnvFile(dotenv) where env[k] == nil { env[k] = v }
        }
        var merged: Node?
        var topName: String?
        for p in paths {
            let text: String
            do { text = try Files.readString(p) } catch { throw ComposeError("\(p): \(error)") }
            guard let node = try parseYAML(text, file: p) else { continue }
            let interpolated = try Interpolator(env: env, file: p).apply(node)
            try Decoder(file: p, partial: true, env: env, dir: dir, project: "x").checkTop(interpolated)
            if case .scalar(let s)? = interpolated.mapping?["name"] { topName = s.string }
            merged = merged.map { Self.merge($0, interpolated, path: []) } ?? interpolated
        }
        guard let merged else { throw ComposeError("\(paths[0]): empty compose file") }
        let root = try resolveExtends(merged, file: paths[0], dir: dir, env: env)
        let name = try Self.projectName(projectName ?? env["COMPOSE_PROJECT_NAME"] ?? topName, dir: dir)
        return try Decoder(file: paths.count == 1 ? paths[0] : paths.joined(separator: " + "), partial: false, env: env, dir: dir,
                           project: name).project(root, profiles: profiles)
    }

    func parseYAML(_ text: String, file: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let e as YamlError {
            // FILE:LINE:COLUMN first, as every other error of a compose file names its place.
            switch e {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                 .composer(let context, let problem, let mark, _):
                let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
                throw ComposeError("\(file):\(mark.line):\(mark.column): invalid YAML: \(problem)\(during)")
            default:
                throw ComposeError("\(file): invalid YAML: \(e)")
            }
        }
    }

    /// Compose's rule: `-p`, then COMPOSE_PROJECT_NAME, then `name:`, then the directory's
    /// name, lowercased, keeping [a-z0-9_-] (a name given outright must already be so).
    static func projectName(_ given: String?, dir: String) throws -> String {
        if let g = given, !g.isEmpty {
            guard g.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }),
                  let f = g.first, f.isLetter || f.isNumber else {
                throw ComposeError("invalid project name \"\(g)\": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number")
            }
            return g
        }
        let base = dir.split(separator: "/").last.map(String.init) ?? "default"
        let n = String(base.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }.map(Character.init))
        let trimmed = String(n.drop { $0 == "_" || $0 == "-" })
        guard !trimmed.isEmpty else { throw ComposeError("cannot derive a project name from \(dir): use -p NAME") }
        return trimmed
    }

    /// KEY=VALUE lines; `#` comments, `export `, single quotes literal, double quotes with
    /// \n and \" escapes, an unquoted value ending at ` #`.
    public static func parseEnvFile(_ path: String) throws -> [(String, String)] {
        let text: String
        do { text = try Files.readString(path) } catch { throw ComposeError("env file \(path) not found: \(error)") }
        var out: [(String, String)] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmed()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmed() }
            guard let eq = line.firstIndex(of: "=") else {
                throw ComposeError("\(path):\(i + 1): unexpected line \"\(line)\": use KEY=VALUE")
            }
            let key = line[..<eq].trimmed()
            var value = line[line.index(after: eq)...].trimmed()
            if value.hasPrefix("'"), value.count >= 2, let end = value.dropFirst().firstIndex(of: "'") {
                value = String(value[value.index(after: value.startIndex)..<end])
            } else if value.hasPrefix("\"") {
                var v = ""
                var esc = false
                for c in value.dropFirst() {
                    if esc { v.append(c == "n" ? "\n" : c == "t" ? "\t" : c); esc = false; continue }
                    if c == "\\" { esc = true; continue }
                    if c == "\"" { break }
                    v.append(c)
                }
                value = v
            } else if let hash = value.firstRange(of: " #") {
                value = value[..<hash.lowerBound].trimmed()
            }
            out.append((key, value))
        }
        return out
    }

    /// `extends`: a service starts from another's definition (of this file, or of `file:`,
    /// relative to the project directory, as compose reads it), its own keys merged over it
    /// as an override file's would be. The other's depends_on and volumes_from are never
    /// taken (compose's rule: dependencies stay visible where they are used).
    func resolveExtends(_ root: Node, file: String, dir: String, env: [String: String]) throws -> Node {
        guard var top = root.mapping, case .mapping(var services)? = top["services"] else { return root }
        var files: [String: Node] = [file: root]
        func service(_ name: String, in path: String, chain: [String]) throws -> Node {
            let here = "\(path.split(separator: "/").last ?? ""):\(name)"
            guard !chain.contains(here) else { throw ComposeError("\(path): extends cycle: \((chain + [here]).joined(separator: " -> "))") }
            if files[path] == nil {
                let text: String
                do { text = try Files.readString(path) } catch { throw ComposeError("\(chain.last ?? path): extends file \(path) cannot be read: \(error)") }
                guard let node = try parseYAML(text, file: path) else { throw ComposeError("\(path): empty compose file") }
                files[path] = try Interpolator(env: env, file: path).apply(node)
            }
            guard let def = files[path]?.mapping?["services"]?.mapping?[name] else {
                throw ComposeError("\(chain.last.map { "\($0): " } ?? "")extends: no service \(name) in \(path)")
            }
            guard case .mapping(let m) = def, let ext = m["extends"] else { return def }
            var basePath = path, baseName: String
            if let n = ext.string {
                baseName = n
            } else {
                guard let em = ext.mapping, let n = em["service"]?.string else {
                    throw ComposeError("\(path):\(ext.mark?.line ?? 0): services.\(name).extends needs a service")
                }
                baseName = n
                if let f = em["file"]?.string { basePath = f.hasPrefix("/") ? f : dir + "/" + f }
            }
            var base = try service(baseName, in: basePath, chain: chain + [here])
            if case .mapping(let bm) = base {
                base = .mapping(Node.Mapping(bm.filter { !["depends_on", "volumes_from"].contains($0.key.string ?? "") }))
            }
            let own = Node.mapping(Node.Mapping(m.filter { $0.key.string != "extends" }))
            return Self.merge(base, own, path: ["services", name])
        }
        for (k, _) in services {
            guard let name = k.string else { continue }
            services[k] = try service(name, in: file, chain: [])
        }
        top["services"] = .mapping(services)
        return .mapping(top)
    }

    /// Later files win: mappings merge key by key; most lists add to the earlier ones;
    /// command, entrypoint and a healthcheck's test are replaced whole.
    static func merge(_ a: Node, _ b: Node, path: [String]) -> Node {
        switch (a, b) {
        case (.mapping(let ma), .mapping(let mb)):
            var out = ma
            for (k, v) in mb {
                let key = k.string ?? ""
                if let old = out[k] { out[k] = merge(old, v, path: path + [key]) } else { out[k] = v }
            }
            return .mapping(out)
        case (.sequence(let sa), .sequence(let sb)):
            if ["command", "entrypoint", "test"].contains(path.last ?? "") { return b }
            var out = sa
            for item in sb where !out.contains(item) { out.append(item) }
            return .sequence(out)
        default:
            return b
        }
    }
}

/// `${VAR}`, `$VAR`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`, `${VAR:+r}`, `${VAR+r}`
/// and `$$` in every scalar value (not in keys), as compose does.
struct Interpolator {
    let env: [String: String]
    let file: String

    func apply(_ n: Node) throws -> Node {
        switch n {
        case .scalar(var s):
            guard s.string.contains("$") else { return n }
            s.string = try expand(s.string, line: n.mark?.line ?? 0)
            // A value, even empty, not YAML's null.
            if s.style == .plain && (s.string.isEmpty || s.string == "~" || s.string.lowercased() == "null") { s.style = .singleQuoted }
            return .scalar(s)
        case .mapping(var m):
            for (k, v) in m { m[k] = try apply(v) }
            return .mapping(m)
        case .sequence(var seq):
            for i in seq.indices { seq[i] = try apply(seq[i]) }
            return .sequence(seq)
        case .alias:
            return n
        }
    }

    func expand(_ s: String, line: Int) throws -> String {
        var out = ""
        let c = Array(s)
        var i = 0
        func isName(_ ch: Character) -> Bool { ch.isASCII && (ch.isLetter || ch.isNumber || ch == "_") }
        while i < c.count {
            guard c[i] == "$", i + 1 < c.count else { out.append(c[i]); i += 1; continue }
            if c[i + 1] == "$" { out.append("$"); i += 2; continue }
            if c[i + 1] != "{" {
                var j = i + 1
                var name = ""
                while j < c.count, isName(c[j]) { name.append(c[j]); j += 1 }
                if name.isEmpty { out.append("$"); i += 1; continue }
                out += env[name] ?? ""
                i = j
                continue
            }
            var j = i + 2
            var depth = 0
            var body = ""
            while j < c.count {
                if c[j] == "{" { depth += 1 }
                if c[j] == "}" { if depth == 0 { break }; depth -= 1 }
                body.append(c[j])
                j += 1
            }
            guard j < c.count else { throw ComposeError("\(file):\(line): invalid interpolation format for \"\(s)\": a ${ without its }") }
            i = j + 1
            var name = ""
            var k = body.startIndex
            while k < body.endIndex, isName(body[k]) { name.append(body[k]); k = body.index(after: k) }
            guard !name.isEmpty else { throw ComposeError("\(file):\(line): invalid interpolation format for \"\(s)\"") }
            let rest = String(body[k...])
            let value = env[name]
            if rest.isEmpty { out += value ?? ""; continue }
            let colon = rest.hasPrefix(":")
            let opRest = colon ? rest.dropFirst() : Substring(rest)
            guard let op = opRest.first, "-+?".contains(op) else {
                throw ComposeError("\(file):\(line): invalid interpolation format for \"\(s)\": use ${\(name):-default}, ${\(name)-default}, ${\(name):?error}, ${\(name):+replacement}")
            }
            let word = try expand(String(opRest.dropFirst()), line: line)
            let set = colon ? !(value ?? "").isEmpty : value != nil
            switch op {
            case "-": out += set ? value! : word
            case "+": out += set ? word : ""
            default:
                guard set else {
                    throw ComposeError("\(file):\(line): required variable \(name) is missing a value\(word.isEmpty ? "" : ": \(word)")")
                }
                out += value!
            }
        }
        return out
    }
}

extension StringProtocol {
    func trimmed() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
