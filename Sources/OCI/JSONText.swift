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
            let c = text[i]
            if c >= 0x20 && c != 0x22 && c != 0x5c && c < 0x80 {
                out.append(c)
                i += 1
                continue
            }
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
}
