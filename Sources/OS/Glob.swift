/// Go's path.Match (and filepath.Match on Linux), which Docker's filters and Dockerfiles'
/// COPY use: `*` is any run of characters but `/`, `?` one character but `/`, `[a-z]`,
/// `[^...]` (or `[!...]`) a class, `\\` escapes. A malformed pattern matches nothing.
public enum Glob {
    public static func match(_ pattern: String, _ name: String) -> Bool {
        matchFrom(Array(pattern.unicodeScalars), 0, Array(name.unicodeScalars), 0) ?? false
    }

    private static func matchFrom(_ p: [Unicode.Scalar], _ pi: Int, _ s: [Unicode.Scalar], _ si: Int) -> Bool? {
        var pi = pi, si = si
        while pi < p.count {
            switch p[pi] {
            case "*":
                while pi < p.count && p[pi] == "*" { pi += 1 }
                if pi == p.count { return !s[si...].contains("/") }
                var k = si
                while true {
                    guard let m = matchFrom(p, pi, s, k) else { return nil }
                    if m { return true }
                    if k == s.count || s[k] == "/" { return false }
                    k += 1
                }
            case "?":
                guard si < s.count, s[si] != "/" else { return false }
                pi += 1
                si += 1
            case "[":
                guard si < s.count else { return false }
                guard let (ok, next) = matchClass(p, pi + 1, s[si]) else { return nil }
                guard ok else { return false }
                pi = next
                si += 1
            case "\\":
                pi += 1
                guard pi < p.count else { return nil }
                guard si < s.count, s[si] == p[pi] else { return false }
                pi += 1
                si += 1
            default:
                guard si < s.count, s[si] == p[pi] else { return false }
                pi += 1
                si += 1
            }
        }
        return si == s.count
    }

    /// A class starting after `[`: whether `c` is in it, and where the pattern goes on.
    private static func matchClass(_ p: [Unicode.Scalar], _ start: Int, _ c: Unicode.Scalar) -> (Bool, Int)? {
        var i = start
        var negated = false
        if i < p.count && (p[i] == "^" || p[i] == "!") { negated = true; i += 1 }
        var matched = false
        var first = true
        while true {
            guard i < p.count else { return nil }
            if p[i] == "]" && !first { i += 1; break }
            first = false
            var lo = p[i]
            if lo == "\\" { i += 1; guard i < p.count else { return nil }; lo = p[i] }
            i += 1
            var hi = lo
            if i + 1 < p.count && p[i] == "-" && p[i + 1] != "]" {
                hi = p[i + 1]
                i += 2
                if hi == "\\" { guard i < p.count else { return nil }; hi = p[i]; i += 1 }
            }
            if lo.value <= c.value && c.value <= hi.value { matched = true }
        }
        return (matched != negated && c != "/", i)
    }
}
