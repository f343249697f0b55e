/// A JSON document as a tree: what the coder below parses into and encodes from, and what
/// `--format` templates walk. Numbers keep their text, so 64-bit integers stay exact; an
/// object keeps its keys' order for those who build one (it is written with sorted keys).
public indirect enum JSONValue: Equatable, Encodable {
    case null, bool(Bool), number(String), string(String), array([JSONValue])
    case object([String: JSONValue], order: [String])

    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// An object from pairs, in their order.
    public static func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
        .object(Dictionary(pairs, uniquingKeysWith: { _, b in b }), order: pairs.map(\.0))
    }

    /// A number written as Go writes it: whole numbers without a fraction.
    public static func number(_ d: Double) -> JSONValue {
        .number(d == d.rounded() && abs(d) < 9e15 ? String(Int64(d)) : String(d))
    }

    public var double: Double? {
        if case .number(let t) = self { return Double(t) }
        return nil
    }

    /// An object's members in order (its builder's, else sorted).
    public var members: [(String, JSONValue)]? {
        guard case .object(let d, let order) = self else { return nil }
        let keys = order.count == d.count ? order : d.keys.sorted()
        return keys.map { ($0, d[$0]!) }
    }

    public subscript(_ key: String) -> JSONValue? {
        guard case .object(let d, _) = self else { return nil }
        return d[key]
    }

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y || (Double(x) != nil && Double(x) == Double(y))
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x, _), .object(let y, _)): return x == y
        default: return false
        }
    }

    public func encode(to encoder: Encoder) throws {
        if let t = encoder as? JSON.TreeEncoder {
            t.box.content = .value(self)
            return
        }
        switch self {
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .number(let t): var c = encoder.singleValueContainer(); try c.encode(Double(t) ?? 0) // exact only in ours
        case .string(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for v in a { try c.encode(v) }
        case .object:
            var c = encoder.container(keyedBy: JSON.AnyKey.self)
            for (k, v) in members ?? [] { try c.encode(v, forKey: JSON.AnyKey(stringValue: k)) }
        }
    }
}

/// A JSON document that does not decode, with the field path that is wrong.
public struct JSONError: Error, CustomStringConvertible {
    public var description: String
}

/// JSON for Codable types without Foundation. FoundationEssentials' coder cost about 2 ms
/// of every runtime invocation (its generic metadata is instantiated on first use) and
/// 20 MB of binary; this one is a parser into a small tree, a Decoder over the tree, and
/// an Encoder into a tree that is written with sorted keys.
public enum JSON {
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        let tree: JSONValue
        do { tree = try Parser.parse(bytes) } catch let e as JSONError { throw JSONError(description: "\(what): \(e.description)") }
        do {
            return try T(from: TreeDecoder(tree, path: []))
        } catch let e as DecodingError {
            throw JSONError(description: "\(what): \(describe(e))")
        }
    }

    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let box = Box()
        try value.encode(to: TreeEncoder(box, path: []))
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        try write(box.node, into: &out, pretty: pretty, indent: 0)
        return out
    }

    public static func string<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
    }

    /// The tree of a document, for what walks JSON rather than decoding a type (templates).
    public static func parse(_ bytes: [UInt8], what: String) throws -> JSONValue {
        do { return try Parser.parse(bytes) } catch let e as JSONError { throw JSONError(description: "\(what): \(e.description)") }
    }

    /// The tree an Encodable value encodes to.
    public static func tree<T: Encodable>(_ value: T) throws -> JSONValue {
        let box = Box()
        try value.encode(to: TreeEncoder(box, path: []))
        return box.node
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return p.isEmpty ? "(top level)" : String(p.drop { $0 == "." })
        }
        switch e {
        case .typeMismatch(let t, let c): return "\(path(c)): expected \(t)"
        case .valueNotFound(let t, let c): return "\(path(c)): missing \(t) value"
        case .keyNotFound(let k, let c):
            let p = path(c)
            return (p == "(top level)" ? "" : p + ": ") + "missing field \"\(k.stringValue)\""
        case .dataCorrupted(let c):
            return "\(path(c)): malformed JSON (\(c.debugDescription))"
        @unknown default: return "\(e)"
        }
    }

    // MARK: writing

    static func write(_ n: JSONValue, into out: inout [UInt8], pretty: Bool, indent: Int) throws {
        func newline(_ level: Int) {
            guard pretty else { return }
            out.append(0x0a)
            out.append(contentsOf: repeatElement(0x20, count: 2 * level))
        }
        switch n {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let s): out.append(contentsOf: s.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(0x5b)
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(0x2c) }
                newline(indent + 1)
                try write(v, into: &out, pretty: pretty, indent: indent + 1)
            }
            if !a.isEmpty { newline(indent) }
            out.append(0x5d)
        case .object(let o, _):
            out.append(0x7b)
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(0x2c) }
                newline(indent + 1)
                writeString(k, into: &out)
                out.append(0x3a)
                if pretty { out.append(0x20) }
                try write(o[k]!, into: &out, pretty: pretty, indent: indent + 1)
            }
            if !o.isEmpty { newline(indent) }
            out.append(0x7d)
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        var s = s
        s.withUTF8 { JSONText.escape(UnsafeRawBufferPointer($0), into: &out) }
        out.append(0x22)
    }
}

// MARK: parsing

extension JSON {
    struct Parser {
        let b: [UInt8]
        var i = 0
        var depth = 0

        static func parse(_ bytes: [UInt8]) throws -> JSONValue {
            var p = Parser(b: bytes)
            p.skipSpace()
            let n = try p.value()
            p.skipSpace()
            guard p.i == p.b.count else { throw p.fail("unexpected data after the document") }
            return n
        }

        func fail(_ what: String) -> JSONError {
            JSONError(description: "malformed JSON at byte \(i): \(what)")
        }

        mutating func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0a || b[i] == 0x0d || b[i] == 0x09 { i += 1 }
        }

        mutating func literal(_ word: String, _ n: JSONValue) throws -> JSONValue {
            let w = Array(word.utf8)
            guard i + w.count <= b.count, Array(b[i..<i + w.count]) == w else { throw fail("invalid literal") }
            i += w.count
            return n
        }

        mutating func value() throws -> JSONValue {
            guard i < b.count else { throw fail("unexpected end of data") }
            switch b[i] {
            case 0x7b: return try object()
            case 0x5b: return try array()
            case 0x22: return .string(try string())
            case 0x74: return try literal("true", .bool(true))
            case 0x66: return try literal("false", .bool(false))
            case 0x6e: return try literal("null", .null)
            case 0x2d, 0x30...0x39: return try number()
            default: throw fail("unexpected character '\(Character(Unicode.Scalar(b[i])))'")
            }
        }

        mutating func nest() throws {
            depth += 1
            if depth > 512 { throw fail("nested too deeply") }
        }

        mutating func object() throws -> JSONValue {
            try nest()
            i += 1
            var dict: [String: JSONValue] = [:], order: [String] = []
            skipSpace()
            if i < b.count, b[i] == 0x7d { i += 1; depth -= 1; return .object(dict, order: order) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == 0x22 else { throw fail("expected a key") }
                let k = try string()
                skipSpace()
                guard i < b.count, b[i] == 0x3a else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                let v = try value()
                if dict.updateValue(v, forKey: k) == nil { order.append(k) }
                skipSpace()
                guard i < b.count else { throw fail("unterminated object") }
                if b[i] == 0x2c { i += 1; continue }
                guard b[i] == 0x7d else { throw fail("expected ',' or '}'") }
                i += 1
                depth -= 1
                return .object(dict, order: order)
            }
        }

        mutating func array() throws -> JSONValue {
            try nest()
            i += 1
            var out: [JSONValue] = []
            skipSpace()
            if i < b.count, b[i] == 0x5d { i += 1; depth -= 1; return .array(out) }
            while true {
                skipSpace()
                out.append(try value())
                skipSpace()
                guard i < b.count else { throw fail("unterminated array") }
                if b[i] == 0x2c { i += 1; continue }
                guard b[i] == 0x5d else { throw fail("expected ',' or ']'") }
                i += 1
                depth -= 1
                return .array(out)
            }
        }

        mutating func number() throws -> JSONValue {
            let start = i
            if b[i] == 0x2d { i += 1 }
            func digits() -> Int {
                let s = i
                while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
                return i - s
            }
            let intDigits = digits()
            guard intDigits > 0 else { throw fail("invalid number") }
            if intDigits > 1 && b[i - intDigits] == 0x30 { throw fail("leading zero in a number") }
            if i < b.count, b[i] == 0x2e {
                i += 1
                guard digits() > 0 else { throw fail("invalid number") }
            }
            if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
                i += 1
                if i < b.count, b[i] == 0x2b || b[i] == 0x2d { i += 1 }
                guard digits() > 0 else { throw fail("invalid number") }
            }
            return .number(String(decoding: b[start..<i], as: UTF8.self))
        }

        mutating func string() throws -> String {
            i += 1
            let start = i
            // Fast path: no escapes.
            while i < b.count, b[i] != 0x22, b[i] != 0x5c, b[i] >= 0x20 { i += 1 }
            guard i < b.count else { throw fail("unterminated string") }
            if b[i] == 0x22 {
                defer { i += 1 }
                return try validUTF8(b[start..<i])
            }
            let out: [UInt8]
            do throws(JSONText.UnescapeError) {
                (out, i) = try JSONText.unescape(b[...], from: start)
            } catch {
                i = error.at
                throw fail(error.message)
            }
            return try validUTF8(out[...])
        }

        func validUTF8(_ s: ArraySlice<UInt8>) throws -> String {
            guard let str = String(validating: s, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
            return str
        }
    }
}

// MARK: decoding

extension JSON {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
    }

    struct TreeDecoder: Decoder {
        let node: JSONValue
        let codingPath: [CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        init(_ node: JSONValue, path: [CodingKey]) {
            self.node = node
            codingPath = path
        }

        func mismatch(_ t: Any.Type) -> DecodingError {
            .typeMismatch(t, .init(codingPath: codingPath, debugDescription: "found \(node.kind)"))
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard case .object(let o, let order) = node else {
                if case .null = node { throw DecodingError.valueNotFound([String: Any].self, .init(codingPath: codingPath, debugDescription: "null")) }
                throw mismatch([String: Any].self)
            }
            return KeyedDecodingContainer(Keyed<Key>(dict: o, order: order, codingPath: codingPath))
        }

        func unkeyedContainer() throws -> UnkeyedDecodingContainer {
            guard case .array(let a) = node else {
                if case .null = node { throw DecodingError.valueNotFound([Any].self, .init(codingPath: codingPath, debugDescription: "null")) }
                throw mismatch([Any].self)
            }
            return Unkeyed(items: a, codingPath: codingPath)
        }

        func singleValueContainer() throws -> SingleValueDecodingContainer { Single(decoder: self) }
    }

    /// Scalars, shared by the three container kinds.
    static func scalar<T: Decodable>(_ node: JSONValue, _ type: T.Type, path: [CodingKey]) throws -> T {
        func mismatch() -> DecodingError {
            if case .null = node { return .valueNotFound(T.self, .init(codingPath: path, debugDescription: "null")) }
            return .typeMismatch(T.self, .init(codingPath: path, debugDescription: "found \(node.kind)"))
        }
        func integer<I: FixedWidthInteger>(_: I.Type) throws -> I {
            guard case .number(let s) = node else { throw mismatch() }
            if let v = I(s) { return v }
            if let d = Double(s), d == d.rounded(), let v = I(exactly: d) { return v }
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "number \(s) does not fit in \(I.self)"))
        }
        switch type {
        case is String.Type:
            guard case .string(let s) = node else { throw mismatch() }
            return s as! T
        case is Bool.Type:
            guard case .bool(let b) = node else { throw mismatch() }
            return b as! T
        case is Int.Type: return try integer(Int.self) as! T
        case is Int64.Type: return try integer(Int64.self) as! T
        case is Int32.Type: return try integer(Int32.self) as! T
        case is Int16.Type: return try integer(Int16.self) as! T
        case is Int8.Type: return try integer(Int8.self) as! T
        case is UInt.Type: return try integer(UInt.self) as! T
        case is UInt64.Type: return try integer(UInt64.self) as! T
        case is UInt32.Type: return try integer(UInt32.self) as! T
        case is UInt16.Type: return try integer(UInt16.self) as! T
        case is UInt8.Type: return try integer(UInt8.self) as! T
        case is Double.Type, is Float.Type:
            guard case .number(let s) = node, let d = Double(s) else { throw mismatch() }
            return (type == Float.self ? Float(d) as Any : d as Any) as! T
        default:
            return try T(from: TreeDecoder(node, path: path))
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let dict: [String: JSONValue]
        let order: [String]
        let codingPath: [CodingKey]

        var allKeys: [Key] { order.compactMap { Key(stringValue: $0) } }
        func contains(_ key: Key) -> Bool { dict[key.stringValue] != nil }

        func node(_ key: Key) throws -> JSONValue {
            guard let n = dict[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
            }
            return n
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            if case .null = try node(key) { return true }
            return false
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try JSON.scalar(try node(key), type, path: codingPath + [key])
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try TreeDecoder(try node(key), path: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
            try TreeDecoder(try node(key), path: codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> Decoder {
            TreeDecoder(dict["super"] ?? .null, path: codingPath + [AnyKey(stringValue: "super")])
        }

        func superDecoder(forKey key: Key) throws -> Decoder {
            TreeDecoder(dict[key.stringValue] ?? .null, path: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [CodingKey]
        var currentIndex = 0

        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        mutating func next(_ t: Any.Type) throws -> (JSONValue, [CodingKey]) {
            let path = codingPath + [AnyKey(intValue: currentIndex)]
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(t, .init(codingPath: path, debugDescription: "the array has no more elements"))
            }
            defer { currentIndex += 1 }
            return (items[currentIndex], path)
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd else { return false }
            if case .null = items[currentIndex] { currentIndex += 1; return true }
            return false
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (n, path) = try next(type)
            return try JSON.scalar(n, type, path: path)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let (n, path) = try next([String: Any].self)
            return try TreeDecoder(n, path: path).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
            let (n, path) = try next([Any].self)
            return try TreeDecoder(n, path: path).unkeyedContainer()
        }

        mutating func superDecoder() throws -> Decoder {
            let (n, path) = try next(Any.self)
            return TreeDecoder(n, path: path)
        }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: TreeDecoder
        var codingPath: [CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool {
            if case .null = decoder.node { return true }
            return false
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSON.scalar(decoder.node, type, path: codingPath)
        }
    }
}

// MARK: encoding

extension JSON {
    /// A node under construction: containers hand out boxes that are filled later.
    final class Box {
        enum Content { case empty, value(JSONValue), object([String: Box]), array([Box]) }
        var content: Content = .empty

        var node: JSONValue {
            switch content {
            case .empty: return .object([:], order: [])
            case .value(let n): return n
            case .object(let o): return .object(o.mapValues { $0.node }, order: [])
            case .array(let a): return .array(a.map { $0.node })
            }
        }

        func child(_ key: String) -> Box {
            var o: [String: Box] = [:]
            if case .object(let existing) = content { o = existing }
            let b = Box()
            o[key] = b
            content = .object(o)
            return b
        }

        func append() -> Box {
            var a: [Box] = []
            if case .array(let existing) = content { a = existing }
            let b = Box()
            a.append(b)
            content = .array(a)
            return b
        }
    }

    static func scalarNode<T: Encodable>(_ v: T, path: [CodingKey]) throws -> JSONValue? {
        func float(_ d: Double) throws -> JSONValue {
            guard d.isFinite else {
                throw EncodingError.invalidValue(d, .init(codingPath: path, debugDescription: "\(d) is not a JSON number"))
            }
            if d == d.rounded(), abs(d) < 9e15 { return .number(String(Int64(d))) }
            return .number("\(d)")
        }
        switch v {
        case let s as String: return .string(s)
        case let b as Bool: return .bool(b)
        case let n as Int: return .number(String(n))
        case let n as Int64: return .number(String(n))
        case let n as Int32: return .number(String(n))
        case let n as Int16: return .number(String(n))
        case let n as Int8: return .number(String(n))
        case let n as UInt: return .number(String(n))
        case let n as UInt64: return .number(String(n))
        case let n as UInt32: return .number(String(n))
        case let n as UInt16: return .number(String(n))
        case let n as UInt8: return .number(String(n))
        case let d as Double: return try float(d)
        case let f as Float: return try float(Double(f))
        default: return nil
        }
    }

    static func encodeValue<T: Encodable>(_ v: T, into box: Box, path: [CodingKey]) throws {
        if let n = try scalarNode(v, path: path) { box.content = .value(n); return }
        try v.encode(to: TreeEncoder(box, path: path))
    }

    struct TreeEncoder: Encoder {
        let box: Box
        let codingPath: [CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        init(_ box: Box, path: [CodingKey]) {
            self.box = box
            codingPath = path
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if case .object = box.content {} else { box.content = .object([:]) }
            return KeyedEncodingContainer(KeyedEnc<Key>(box: box, codingPath: codingPath))
        }

        func unkeyedContainer() -> UnkeyedEncodingContainer {
            if case .array = box.content {} else { box.content = .array([]) }
            return UnkeyedEnc(box: box, codingPath: codingPath)
        }

        func singleValueContainer() -> SingleValueEncodingContainer { SingleEnc(box: box, codingPath: codingPath) }
    }

    struct KeyedEnc<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: Box
        let codingPath: [CodingKey]

        mutating func encodeNil(forKey key: Key) throws { box.child(key.stringValue).content = .value(.null) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try JSON.encodeValue(value, into: box.child(key.stringValue), path: codingPath + [key])
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            TreeEncoder(box.child(key.stringValue), path: codingPath + [key]).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            TreeEncoder(box.child(key.stringValue), path: codingPath + [key]).unkeyedContainer()
        }

        mutating func superEncoder() -> Encoder { TreeEncoder(box.child("super"), path: codingPath + [AnyKey(stringValue: "super")]) }
        mutating func superEncoder(forKey key: Key) -> Encoder { TreeEncoder(box.child(key.stringValue), path: codingPath + [key]) }
    }

    struct UnkeyedEnc: UnkeyedEncodingContainer {
        let box: Box
        let codingPath: [CodingKey]
        var count: Int {
            if case .array(let a) = box.content { return a.count }
            return 0
        }

        mutating func encodeNil() throws { box.append().content = .value(.null) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            let path = codingPath + [AnyKey(intValue: count)]
            try JSON.encodeValue(value, into: box.append(), path: path)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let path = codingPath + [AnyKey(intValue: count)]
            return TreeEncoder(box.append(), path: path).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            let path = codingPath + [AnyKey(intValue: count)]
            return TreeEncoder(box.append(), path: path).unkeyedContainer()
        }

        mutating func superEncoder() -> Encoder {
            let path = codingPath + [AnyKey(intValue: count)]
            return TreeEncoder(box.append(), path: path)
        }
    }

    struct SingleEnc: SingleValueEncodingContainer {
        let box: Box
        let codingPath: [CodingKey]

        mutating func encodeNil() throws { box.content = .value(.null) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            try JSON.encodeValue(value, into: box, path: codingPath)
        }
    }
}
