import Foundation
import XCTest
import Engine
@testable import OCI

/// The Foundation-free JSON coder, checked against Foundation's own.
final class JSONCodecTests: XCTestCase {
    struct Sample: Codable, Equatable {
        enum Kind: String, Codable { case a, b }
        var name: String
        var big: UInt64
        var negative: Int64
        var ratio: Double
        var flag: Bool
        var kind: Kind
        var list: [Int32]
        var map: [String: [String]]
        var nested: [Sample]?
        var missing: String?
    }

    let sample = Sample(name: "tab\t \"quote\" \\ é 😀 \u{1}", big: UInt64.max, negative: Int64.min, ratio: 0.1,
                        flag: true, kind: .b, list: [1, -2, 3], map: ["z": ["1"], "a": []],
                        nested: [Sample(name: "", big: 0, negative: 0, ratio: 1e-7, flag: false, kind: .a, list: [],
                                        map: [:], nested: nil, missing: nil)], missing: nil)

    func testRoundTripAndFoundationAgrees() throws {
        for pretty in [false, true] {
            let bytes = try JSON.encode(sample, pretty: pretty)
            XCTAssertEqual(try JSON.decode(Sample.self, from: bytes, what: "x"), sample)
            XCTAssertEqual(try JSONDecoder().decode(Sample.self, from: Data(bytes)), sample, "Foundation reads what we write")
        }
        let foundation = try JSONEncoder().encode(sample)
        XCTAssertEqual(try JSON.decode(Sample.self, from: Array(foundation), what: "x"), sample, "we read what Foundation writes")
    }

    func testOutputShape() throws {
        struct S: Encodable { var b = 1; var a: String? = "x/y"; var c: String? = nil; var d: [Int] = []; var e = 2.5; var f = 3.0 }
        XCTAssertEqual(try JSON.string(S()), #"{"a":"x/y","b":1,"d":[],"e":2.5,"f":3}"#, "sorted keys, nil left out, slashes bare")
        XCTAssertEqual(try JSON.string(["k": [1, 2]], pretty: true), "{\n  \"k\": [\n    1,\n    2\n  ]\n}")
        XCTAssertThrowsError(try JSON.encode(Double.nan))
    }

    func testParserAcceptsJSONAndRejectsTheRest() throws {
        XCTAssertEqual(try JSON.decode([String].self, from: Array(#" ["\u00e9\ud83d\ude00\/\n"] "#.utf8), what: "x"), ["é😀/\n"])
        XCTAssertEqual(try JSON.decode([Double].self, from: Array("[1.5e3, -0, 2E-2]".utf8), what: "x"), [1500, 0, 0.02])
        XCTAssertEqual(try JSON.decode(Int.self, from: Array("4.0".utf8), what: "x"), 4)
        XCTAssertEqual(try JSON.decode([String: Int].self, from: Array(#"{"a":1,"a":2}"#.utf8), what: "x"), ["a": 2], "last duplicate wins")
        for bad in ["", "[1,]", "{\"a\" 1}", "[01]", "\"\u{1}\"", "[\"\\ud800\"]", "tru", "[1] x", "{\"a\":1", "[\"\\x\"]", "-"] {
            XCTAssertThrowsError(try JSON.decode([String: Int].self, from: Array(bad.utf8), what: "doc"), bad) { e in
                XCTAssertTrue("\(e)".hasPrefix("doc: malformed JSON"), "\(bad): \(e)")
            }
        }
        XCTAssertThrowsError(try JSON.decode(String.self, from: [0x22, 0xff, 0x22], what: "x"), "invalid UTF-8")
        let deep = String(repeating: "[", count: 10_000)
        XCTAssertThrowsError(try JSON.decode([Int].self, from: Array(deep.utf8), what: "x"), "depth limit, not a stack overflow")
    }

    /// One decoder of escapes: strict for documents (with the reason), lenient for json-file
    /// logs other programs may have written.
    func testStringEscapesStrictAndLenient() throws {
        func strict(_ s: String) -> String {
            do { return String(decoding: try JSONText.unescape(ArraySlice(Array(s.utf8)), from: 0).bytes, as: UTF8.self) } catch { return "error: \(error.message)" }
        }
        func lenient(_ s: String) -> (String, Int) {
            let (b, end) = JSONText.unescapeLenient(ArraySlice(Array(s.utf8)), from: 0)
            return (String(decoding: b, as: UTF8.self), end)
        }
        XCTAssertEqual(strict(#"a\u00e9\ud83d\ude00\/\n\t""#), "aé😀/\n\t")
        XCTAssertEqual(strict(#"\ud800x""#), "error: lone surrogate")
        XCTAssertEqual(strict(#"\ud800\u0041""#), "error: invalid surrogate pair")
        XCTAssertEqual(strict(#"\udc00""#), "error: lone surrogate")
        XCTAssertEqual(strict(#"\uzzzz""#), "error: invalid \\u escape")
        XCTAssertEqual(strict(#"\u12"#), "error: short \\u escape")
        XCTAssertEqual(strict(#"\q""#), "error: invalid escape")
        XCTAssertEqual(strict("tab\there\""), "error: control character in a string")
        XCTAssertEqual(strict("open"), "error: unterminated string")

        XCTAssertEqual(lenient(#"a\u00e9b" rest"#).0, "aéb")
        XCTAssertEqual(lenient(#"a\u00e9b" rest"#).1, 9, "just past the closing quote")
        XCTAssertEqual(lenient(#"\ud83d\ude00""#).0, "😀")
        XCTAssertEqual(lenient(#"\ud800x""#).0, "\u{fffd}x")
        XCTAssertEqual(lenient(#"\uzzzz""#).0, "\u{fffd}zzzz")
        XCTAssertEqual(lenient(#"\q""#).0, "q")
        XCTAssertEqual(lenient("tab\there\"").0, "tab\there")
        XCTAssertEqual(lenient("cut short").0, "cut short")
        XCTAssertEqual(lenient("cut short").1, 9)
        // A log entry with a bad escape is still read.
        let entry = JSONLogReader.parse(ArraySlice(Array(#"{"log":"x\uZZ\n","stream":"stderr","time":"2026-11-23T10:00:00Z"}"#.utf8)))
        XCTAssertEqual(entry.map { String(decoding: $0.log, as: UTF8.self) }, "x\u{fffd}ZZ\n")
        XCTAssertEqual(entry?.stderr, true)
        XCTAssertEqual(entry?.time, "2026-11-23T10:00:00Z")
    }

    func testErrorsNameTheField() {
        struct Inner: Decodable { var n: UInt8 }
        struct Outer: Decodable { var items: [Inner] }
        func message(_ doc: String) -> String {
            if case .failure(let e) = Result(catching: { try JSON.decode(Outer.self, from: Array(doc.utf8), what: "f.json") }) { return "\(e)" }
            return ""
        }
        XCTAssertEqual(message(#"{"items":[{"n":1},{"n":"x"}]}"#), "f.json: items[1].n: expected UInt8")
        XCTAssertEqual(message(#"{"items":[{}]}"#), "f.json: items[0]: missing field \"n\"")
        XCTAssertTrue(message(#"{"items":[{"n":300}]}"#).contains("items[0].n: malformed JSON (number 300 does not fit in UInt8)"))
        XCTAssertEqual(message(#"{"items":null}"#), "f.json: items: missing Array<Any> value")
    }
}
