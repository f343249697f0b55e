import OCI
import OS

/// Any JSON value: what `inspect` and `ps` build, and what `--format` templates walk.
public indirect enum JSONValue: Codable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: return false
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        if let o = try? decoder.container(keyedBy: Key.self) {
            self = .object(try o.allKeys.map { ($0.stringValue, try o.decode(JSONValue.self, forKey: $0)) }
                .sorted { $0.0 < $1.0 })
            return
        }
        if var a = try? decoder.unkeyedContainer() {
            var out: [JSONValue] = []
            while !a.isAtEnd { out.append(try a.decode(JSONValue.self)) }
            self = .array(out)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .number(let n):
            var c = encoder.singleValueContainer()
            if n == n.rounded(), abs(n) < 9e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for v in a { try c.encode(v) }
        case .object(let o):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in o { try c.encode(v, forKey: Key(stringValue: k)) }
        }
    }

    /// Any Encodable as a JSONValue (through its JSON).
    public static func from<T: Encodable>(_ v: T) throws -> JSONValue {
        try JSON.decode(JSONValue.self, from: try JSON.encode(v), what: "value")
    }

    public subscript(_ key: String) -> JSONValue? {
        guard case .object(let o) = self else { return nil }
        return o.first { $0.0 == key }?.1
    }

    /// Go template's default printing: strings bare, numbers without ".0", maps as map[...].
    public var text: String {
        switch self {
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n == n.rounded() && abs(n) < 9e15 ? String(Int64(n)) : String(n)
        case .string(let s): return s
        case .array(let a): return "[" + a.map(\.text).joined(separator: " ") + "]"
        case .object(let o): return "map[" + o.map { "\($0.0):\($0.1.text)" }.joined(separator: " ") + "]"
        }
    }

    public var json: String { (try? JSON.string(self)) ?? "null" }
}

/// The part of Go's text/template that `docker ps/inspect --format` users write:
/// `{{.Field.Sub}}`, `{{json .Field}}`, `{{.}}`, a leading `table`, and `\t` `\n` escapes.
public struct Template {
    enum Piece { case text(String), field([String], json: Bool) }
    let pieces: [Piece]
    public let table: Bool

    public struct TemplateError: Error, CustomStringConvertible { public var description: String }

    public init(_ format: String) throws {
        var f = format
        table = f.hasPrefix("table ")
        if table { f = String(f.dropFirst(6)).trimmed() }
        f = f.replacing("\\t", with: "\t").replacing("\\n", with: "\n")
        var pieces: [Piece] = []
        var rest = Substring(f)
        while let open = rest.firstRange(of: "{{") {
            pieces.append(.text(String(rest[..<open.lowerBound])))
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw TemplateError(description: "template: unclosed action in \"\(format)\"")
            }
            var action = String(rest[open.upperBound..<close.lowerBound]).trimmed()
            var json = false
            if action.hasPrefix("json ") { json = true; action = String(action.dropFirst(5)).trimmed() }
            guard action.hasPrefix(".") else {
                throw TemplateError(description: "template: unsupported action {{\(action)}}: use {{.Field}} or {{json .Field}}")
            }
            pieces.append(.field(action.split(separator: ".").map(String.init), json: json))
            rest = rest[close.upperBound...]
        }
        pieces.append(.text(String(rest)))
        self.pieces = pieces
    }

    public func render(_ v: JSONValue) throws -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .text(let t): out += t
            case .field(let path, let json):
                var cur: JSONValue? = v
                for k in path { cur = cur?[k] }
                guard let val = cur else {
                    throw TemplateError(description: "template: can't evaluate field \(path.joined(separator: "."))")
                }
                out += json ? val.json : val.text
            }
        }
        return out
    }

    /// The header row of a `table` template: the field names, upper-cased.
    public func header(_ names: [String: String]) -> String {
        pieces.map { p -> String in
            switch p {
            case .text(let t): return t
            case .field(let path, _): return names[path.last ?? ""] ?? (path.last ?? "").uppercased()
            }
        }.joined()
    }
}
