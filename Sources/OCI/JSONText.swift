/// JSON string escaping without Foundation: the JSON coder, the log writer, the event log
/// and the runtime's --log lines share it.
public enum JSONText {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string literal for `s`, quotes included.
    public static func quote(_ s: String) -> String {
        var out: [UInt8] = [0x22]
        Array(s.utf8).withUnsafeBytes { escape($0, into: &out) }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }

    /// JSON string escaping; invalid UTF-8 becomes U+FFFD as Go's encoder does.
    public static func escape(_ text: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var i = 0
        let n = text.count
        while i < n {
            // A run of bytes that stand for themselves goes in at once.
            let run = i
            while i < n, case let c = text[i], c >= 0x20 && c != 0x22 && c != 0x5c && c < 0x80 { i += 1 }
            if i > run { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[run..<i])) }
            guard i < n else { break }
            let c = text[i]
            if c < 0x80 {
                switch c {
                case 0x22: out.append(contentsOf: [0x5c, 0x22])
                case 0x5c: out.append(contentsOf: [0x5c, 0x5c])
                case 0x0a: out.append(contentsOf: [0x5c, 0x6e])
                case 0x0d: out.append(contentsOf: [0x5c, 0x72])
                case 0x09: out.append(contentsOf: [0x5c, 0x74])
                default: out.append(contentsOf: [0x5c, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
                }
                i += 1
                continue
            }
            let len = utf8Length(text, i)
            if len == 0 {
                out.append(contentsOf: [0xef, 0xbf, 0xbd])
                i += 1
            } else {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[i..<i + len]))
                i += len
            }
        }
    }

    /// The length of a valid UTF-8 sequence at i, or 0.
    static func utf8Length(_ t: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let c = t[i]
        let len: Int
        if c & 0xe0 == 0xc0 && c >= 0xc2 { len = 2 } else if c & 0xf0 == 0xe0 { len = 3 } else if c & 0xf8 == 0xf0 && c <= 0xf4 { len = 4 } else { return 0 }
        guard i + len <= t.count else { return 0 }
        for k in 1..<len where t[i + k] & 0xc0 != 0x80 { return 0 }
        if len == 3 && c == 0xe0 && t[i + 1] < 0xa0 { return 0 }
        if len == 3 && c == 0xed && t[i + 1] >= 0xa0 { return 0 }
        if len == 4 && c == 0xf0 && t[i + 1] < 0x90 { return 0 }
        if len == 4 && c == 0xf4 && t[i + 1] >= 0x90 { return 0 }
        return len
    }

    /// Why a strict unescape failed, and at which byte.
    public struct UnescapeError: Error {
        public let message: String
        public let at: Int
    }

    /// A JSON string's body decoded, from `start` (just past its opening quote) through its
    /// closing quote: the bytes and the index just past the quote. Strict, for documents:
    /// control characters, unknown escapes, bad \u digits and lone surrogates are errors.
    public static func unescape(_ b: ArraySlice<UInt8>, from start: Int) throws(UnescapeError) -> (bytes: [UInt8], end: Int) {
        try decode(b, from: start, lenient: false)
    }

    /// The same for text another program may have written (json-file logs): control
    /// characters pass, an unknown escape stands for its character, a bad \u or a lone
    /// surrogate becomes U+FFFD, and an unterminated string ends at the end of the input.
    public static func unescapeLenient(_ b: ArraySlice<UInt8>, from start: Int) -> (bytes: [UInt8], end: Int) {
        (try? decode(b, from: start, lenient: true)) ?? ([], b.endIndex)
    }

    static func decode(_ b: ArraySlice<UInt8>, from start: Int, lenient: Bool) throws(UnescapeError) -> (bytes: [UInt8], end: Int) {
        var out: [UInt8] = []
        var i = start
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= b.endIndex else { return nil }
            var v: UInt32 = 0
            for k in at..<at + 4 {
                let c = b[k]
                switch c {
                case 0x30...0x39: v = v << 4 | UInt32(c - 0x30)
                case 0x61...0x66: v = v << 4 | UInt32(c - 0x61 + 10)
                case 0x41...0x46: v = v << 4 | UInt32(c - 0x41 + 10)
                default: return nil
                }
            }
            return v
        }
        let replacement: [UInt8] = [0xef, 0xbf, 0xbd]
        while true {
            // A run of plain bytes at once.
            let runStart = i
            while i < b.endIndex, b[i] != 0x22, b[i] != 0x5c, lenient || b[i] >= 0x20 { i += 1 }
            out.append(contentsOf: b[runStart..<i])
            guard i < b.endIndex else {
                if lenient { return (out, i) }
                throw UnescapeError(message: "unterminated string", at: i)
            }
            let c = b[i]
            if c == 0x22 { return (out, i + 1) }
            if c < 0x20 { throw UnescapeError(message: "control character in a string", at: i) }
            i += 1 // the backslash
            guard i < b.endIndex else {
                if lenient { return (out, i) }
                throw UnescapeError(message: "unterminated escape", at: i)
            }
            let e = b[i]
            i += 1
            switch e {
            case 0x22, 0x5c, 0x2f: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0c)
            case 0x6e: out.append(0x0a)
            case 0x72: out.append(0x0d)
            case 0x74: out.append(0x09)
            case 0x75:
                guard var u = hex4(i) else {
                    if lenient { out += replacement; continue }
                    throw UnescapeError(message: i + 4 <= b.endIndex ? "invalid \\u escape" : "short \\u escape", at: i)
                }
                i += 4
                if u >= 0xd800 && u < 0xdc00 {
                    if i + 1 < b.endIndex, b[i] == 0x5c, b[i + 1] == 0x75, let lo = hex4(i + 2), lo >= 0xdc00 && lo < 0xe000 {
                        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00)
                        i += 6
                    } else if lenient {
                        out += replacement
                        continue
                    } else {
                        let pair = i + 1 < b.endIndex && b[i] == 0x5c && b[i + 1] == 0x75
                        throw UnescapeError(message: pair ? "invalid surrogate pair" : "lone surrogate", at: i)
                    }
                } else if u >= 0xdc00 && u < 0xe000 {
                    if lenient { out += replacement; continue }
                    throw UnescapeError(message: "lone surrogate", at: i)
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(u)!)).utf8))
            default:
                if lenient { out.append(e); continue }
                throw UnescapeError(message: "invalid escape", at: i - 1)
            }
        }
    }
}
