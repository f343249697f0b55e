/// String helpers the standard library lacks without Foundation (replacing and
/// firstRange(of:) come with it).
extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line ends.
    public func trimmed() -> String {
        let ws: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !ws($0) }), let last = lastIndex(where: { !ws($0) }) else { return "" }
        return String(self[first...last])
    }

    /// Zero-padded on the left to n characters (hex IDs).
    public func leftPad(_ n: Int) -> String { String(repeating: "0", count: Swift.max(0, n - count)) + self }
}
