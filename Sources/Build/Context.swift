import ImageImport
import ImageStore
import OS
import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// One file a COPY or ADD takes: where it is in its source tree and where it goes, relative
/// to the destination directory ("" for the destination itself, a single file).
struct SourceEntry {
    var src: String
    var dst: String
    var st: stat
    var link: String?
}

/// A tree files are read from: the build context (filtered by .dockerignore) or another
/// stage's or image's root. Read by fds: every path resolves inside the tree
/// (RESOLVE_IN_ROOT), and a walk never follows a symlink.
final class SourceTree {
    let root: FD
    let path: String
    let ignore: DockerIgnore
    let what: String

    init(path: String, ignore: DockerIgnore = DockerIgnore(""), what: String) throws {
        self.path = path
        root = try FD.open(path, O_RDONLY | O_DIRECTORY)
        self.ignore = ignore
        self.what = what
    }

    func ignored(_ rel: String) -> Bool { !rel.isEmpty && ignore.ignores(rel) }

    /// Sources as written (globs allowed) → the entries they select. A literal source that is
    /// missing (or ignored) is an error; a wildcard matching nothing is not.
    /// `exclude` (COPY --exclude): patterns, .dockerignore's syntax, left out of the copy.
    /// `parents` (COPY --parents): each source keeps its path (from the context, or from a
    /// `/./` in it) under the destination, its parent directories made as they are here.
    func select(_ sources: [String], exclude: DockerIgnore? = nil, parents: Bool = false) throws -> (entries: [SourceEntry], multiple: Bool) {
        var out: [SourceEntry] = []
        var roots = 0
        var madeParents = Set<String>()
        for raw in sources {
            // --parents' pivot: what comes after "/./" is the path kept.
            var pivot = ""
            var s = raw
            if parents, let r = raw.firstRange(of: "/./") {
                pivot = DockerIgnore.clean(String(raw[..<r.lowerBound]))
                if pivot == "." { pivot = "" }
                s = String(raw[..<r.lowerBound]) + "/" + String(raw[r.upperBound...])
            }
            let clean = DockerIgnore.clean(s)
            if clean == ".." || clean.hasPrefix("../") {
                throw BuildError("COPY failed: forbidden path outside the build context: \(s)")
            }
            let matches: [String]
            if s.contains(where: { "*?[".contains($0) }) {
                matches = try glob(clean)
            } else {
                let rel = clean == "." ? "" : clean
                guard !ignored(rel), (try? lstatIn(rel)) != nil else {
                    throw BuildError("\"/\(rel)\": not found (in \(what)\(ignored(rel) ? "; excluded by .dockerignore" : ""))")
                }
                matches = [rel]
            }
            for m in matches {
                if let ex = exclude, ex.ignores(m) { continue }
                roots += 1
                let st = try lstatIn(m)
                // With --parents: the kept path, and its directories first (each once).
                var kept = m.split(separator: "/").last.map(String.init) ?? m
                if parents {
                    kept = pivot.isEmpty ? m : String(m.dropFirst(pivot.count + 1))
                    var prefix = ""
                    for comp in kept.split(separator: "/").dropLast() {
                        prefix += (prefix.isEmpty ? "" : "/") + comp
                        if madeParents.insert(prefix).inserted {
                            let src = pivot.isEmpty ? prefix : pivot + "/" + prefix
                            out.append(SourceEntry(src: src, dst: prefix, st: try lstatIn(src), link: nil))
                        }
                    }
                }
                if (st.st_mode & S_IFMT) == S_IFDIR {
                    // A directory: its contents, not itself (with --parents, under its path).
                    if parents && madeParents.insert(kept).inserted && !kept.isEmpty { out.append(SourceEntry(src: m, dst: kept, st: st, link: nil)) }
                    try walk(m, dstPrefix: parents ? kept : "", into: &out, top: true, exclude: exclude)
                } else {
                    out.append(SourceEntry(src: m, dst: kept, st: st, link: try linkTarget(m, st)))
                }
            }
        }
        return (out, roots > 1)
    }

    func lstatIn(_ rel: String) throws -> stat {
        var st = stat()
        if rel.isEmpty {
            guard fstat(root.raw, &st) == 0 else { throw SysError("fstat", path) }
            return st
        }
        // The parent resolved inside the tree, the leaf itself not followed.
        let (parent, leaf) = Self.split(rel)
        let p = parent.isEmpty ? root : try root.openInRoot(parent, O_RDONLY | O_DIRECTORY)
        guard fstatat(p.raw, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw SysError("stat", "\(what)/\(rel)") }
        return st
    }

    func linkTarget(_ rel: String, _ st: stat) throws -> String? {
        guard (st.st_mode & S_IFMT) == S_IFLNK else { return nil }
        let (parent, leaf) = Self.split(rel)
        let p = parent.isEmpty ? root : try root.openInRoot(parent, O_RDONLY | O_DIRECTORY)
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(p.raw, leaf, &buf, Int(PATH_MAX))
        guard n >= 0 else { throw SysError("readlink", "\(what)/\(rel)") }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `cp -L`: `rel` with its own symlinks followed, inside the tree: an absolute target or
    /// a `..` past the top stays in the root, as the container itself would see it.
    func followed(_ rel: String) throws -> String {
        var cur = rel
        for _ in 0..<40 {
            guard let target = try linkTarget(cur, try lstatIn(cur)) else { return cur }
            let base = target.hasPrefix("/") ? "" : Self.split(cur).0
            var parts: [Substring] = []
            for c in (base + "/" + target).split(separator: "/") where c != "." {
                if c == ".." { _ = parts.popLast() } else { parts.append(c) }
            }
            cur = parts.joined(separator: "/")
        }
        throw SysError("stat", "\(what)/\(rel)", errno: ELOOP)
    }

    /// Opens a regular file of the tree for reading.
    func open(_ rel: String) throws -> FD {
        try root.openInRoot(rel, O_RDONLY | O_NOFOLLOW)
    }

    static func split(_ rel: String) -> (String, String) {
        guard let slash = rel.lastIndex(of: "/") else { return ("", rel) }
        return (String(rel[..<slash]), String(rel[rel.index(after: slash)...]))
    }

    /// Every entry under `rel` (sorted), skipping what .dockerignore excludes.
    /// `exclude` (COPY --exclude) leaves out like .dockerignore does, without descending into
    /// what it excludes.
    func walk(_ rel: String, dstPrefix: String, into out: inout [SourceEntry], top: Bool = false, exclude: DockerIgnore? = nil) throws {
        let dir = rel.isEmpty ? try FD.open(path, O_RDONLY | O_DIRECTORY) : try root.openInRoot(rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        for name in try Files.listDirectory(fd: dir) {
            let childRel = rel.isEmpty ? name : rel + "/" + name
            let childDst = dstPrefix.isEmpty ? name : dstPrefix + "/" + name
            var st = stat()
            guard fstatat(dir.raw, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw SysError("stat", "\(what)/\(childRel)") }
            let isDir = (st.st_mode & S_IFMT) == S_IFDIR
            let byIgnore = ignored(childRel), byExclude = exclude?.ignores(childRel) ?? false
            if byIgnore || byExclude {
                // A `!` pattern may bring back something below an ignored directory.
                let mayReturn = (!byIgnore || ignore.mayReinclude(under: childRel)) && (!byExclude || exclude!.mayReinclude(under: childRel))
                if isDir && mayReturn {
                    var below: [SourceEntry] = []
                    try walk(childRel, dstPrefix: childDst, into: &below, exclude: exclude)
                    if !below.isEmpty {
                        out.append(SourceEntry(src: childRel, dst: childDst, st: st, link: nil))
                        out += below
                    }
                }
                continue
            }
            out.append(SourceEntry(src: childRel, dst: childDst, st: st, link: try linkTarget(childRel, st)))
            if isDir { try walk(childRel, dstPrefix: childDst, into: &out, exclude: exclude) }
        }
    }

    /// Go's filepath.Match per component, over the tree (not into ignored paths).
    func glob(_ pattern: String) throws -> [String] {
        var current = [""]
        for comp in pattern.split(separator: "/").map(String.init) {
            var next: [String] = []
            for base in current {
                let wild = comp.contains(where: { "*?[".contains($0) })
                if !wild {
                    let rel = base.isEmpty ? comp : base + "/" + comp
                    if (try? lstatIn(rel)) != nil && !ignored(rel) { next.append(rel) }
                    continue
                }
                guard let st = try? lstatIn(base), (st.st_mode & S_IFMT) == S_IFDIR else { continue }
                let dir = base.isEmpty ? try FD.open(path, O_RDONLY | O_DIRECTORY) : try root.openInRoot(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
                for name in try Files.listDirectory(fd: dir) where Glob.match(comp, name) {
                    let rel = base.isEmpty ? name : base + "/" + name
                    if !ignored(rel) { next.append(rel) }
                }
            }
            current = next
        }
        return current
    }

    /// The cache key of a selection: each entry's path, type, mode, owner, size, link target
    /// and content (never its mtime).
    func digest(_ entries: [SourceEntry]) throws -> String {
        var h = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        for e in entries {
            let meta = "\(e.src)\u{0}\(e.dst)\u{0}\(e.st.st_mode)\u{0}\(e.st.st_uid):\(e.st.st_gid)\u{0}\(e.st.st_size)\u{0}\(e.link ?? "")\u{0}"
            h.update(data: Array(meta.utf8))
            if (e.st.st_mode & S_IFMT) == S_IFREG {
                let fd = try open(e.src)
                while true {
                    let n = buf.withUnsafeMutableBytes { Glibc.read(fd.raw, $0.baseAddress, $0.count) }
                    if n < 0 { if errno == EINTR { continue }; throw SysError("read", "\(what)/\(e.src)") }
                    if n == 0 { break }
                    h.update(data: buf[0..<n])
                }
            }
        }
        return h.finalize().map { ImageStore.hexByte($0) }.joined()
    }
}
