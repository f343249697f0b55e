import OS

/// `.dockerignore` with moby's patternmatcher semantics: `*` and `?` never cross `/`, `**`
/// is any number of directories, `!` re-includes and the last matching pattern wins, a
/// leading `/` is dropped, comments only in column 1, and a pattern that matches a
/// directory matches everything under it.
public struct DockerIgnore: Equatable {
    struct Pattern: Equatable {
        var exclusion: Bool
        var parts: [String]
        var text: String
    }

    var patterns: [Pattern] = []

    public init(_ text: String) {
        var first = true
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(raw)
            if first, line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            first = false
            if line.hasPrefix("#") { continue }
            line = line.trimmingLeadingSpace().trimmingTrailingSpace().replacing("\r", with: "")
            if line.isEmpty { continue }
            var exclusion = false
            if line.hasPrefix("!") {
                exclusion = true
                line = String(line.dropFirst()).trimmingLeadingSpace()
            }
            let clean = Self.clean(line)
            patterns.append(Pattern(exclusion: exclusion, parts: clean.split(separator: "/").map(String.init), text: clean))
        }
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// Whether some `!` pattern could re-include something under `dir` (then a walk must
    /// descend into an ignored directory).
    public func mayReinclude(under dir: String) -> Bool {
        patterns.contains { $0.exclusion }
    }

    /// Whether the context-relative path (no leading `/`) is ignored.
    public func ignores(_ path: String) -> Bool {
        let comps = path.split(separator: "/").map(String.init)
        var matched = false
        for p in patterns where p.exclusion == matched {
            var m = Self.match(p.parts[...], comps[...])
            if !m && comps.count > 1 {
                for i in 1..<comps.count where Self.match(p.parts[...], comps[..<i]) { m = true; break }
            }
            if m { matched = !p.exclusion }
        }
        return matched
    }

    static func match(_ p: ArraySlice<String>, _ s: ArraySlice<String>) -> Bool {
        guard let first = p.first else { return s.isEmpty }
        if first == "**" {
            let rest = p.dropFirst()
            if rest.isEmpty { return true }
            var k = s.startIndex
            while true {
                if match(rest, s[k...]) { return true }
                if k == s.endIndex { return false }
                k += 1
            }
        }
        guard let name = s.first, Glob.match(first, name) else { return false }
        return match(p.dropFirst(), s.dropFirst())
    }

    /// Go's filepath.Clean, with a leading `/` dropped.
    static func clean(_ p: String) -> String {
        var out: [Substring] = []
        for c in p.split(separator: "/") {
            if c == "." { continue }
            if c == "..", let last = out.last, last != ".." { out.removeLast(); continue }
            if c == ".." && p.hasPrefix("/") { continue }
            out.append(c)
        }
        let s = out.joined(separator: "/")
        return s.isEmpty ? "." : s
    }
}
