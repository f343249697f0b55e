#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON document that does not decode, with the field path that is wrong.
public struct JSONError: Error, CustomStringConvertible {
    public var description: String
}

/// JSON through FoundationEssentials (not all of Foundation: +11 MB RSS measured).
public enum JSON {
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let e as DecodingError {
            throw JSONError(description: "\(what): \(describe(e))")
        }
    }

    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return Array(try enc.encode(value))
    }

    public static func string<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
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
}
