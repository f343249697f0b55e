import OS
#if canImport(Glibc)
import Glibc
#endif

/// COPY's and ADD's writes into a stage's root, by fds: each parent directory is opened
/// inside the root (RESOLVE_IN_ROOT: the image's own symlinks resolve inside it, never to
/// the host's files: CVE-2018-15664, CVE-2019-14271), and each leaf is created relative to it
/// without following a symlink (one there is replaced, as Docker does).
struct Copier {
    let root: FD
    /// --chown; nil: root:root from the context, the source's own owner from a stage.
    var owner: (uid: UInt32, gid: UInt32)?
    var keepOwner = false
    /// --chmod
    var chmod: Chmod?

    /// `dest`: absolute, inside the root. Returns nothing: throws naming the path that failed.
    func copy(_ entries: [SourceEntry], from tree: SourceTree, to dest: String, intoDirectory: Bool) throws {
        let destDir = intoDirectory ? dest : String(dest[..<(dest.lastIndex(of: "/") ?? dest.startIndex)])
        try mkdirAll(destDir.isEmpty ? "/" : destDir)
        for e in entries {
            let target: String
            if intoDirectory {
                target = (dest.hasSuffix("/") ? dest : dest + "/") + e.dst
            } else {
                target = dest
            }
            try put(e, from: tree, at: target)
        }
    }

    func ownerFor(_ st: stat) -> (UInt32, UInt32) {
        if let o = owner { return o }
        return keepOwner ? (st.st_uid, st.st_gid) : (0, 0)
    }

    /// Creates the directories of `path` that are missing (0755, the copy's owner when given).
    func mkdirAll(_ path: String) throws {
        var cur = ""
        for comp in path.split(separator: "/") {
            let parent = cur.isEmpty ? "/" : cur
            cur += "/" + comp
            let p = try root.openInRoot(parent, O_RDONLY | O_DIRECTORY)
            if mkdirat(p.raw, String(comp), 0o755) == 0 {
                if let o = owner { fchownat(p.raw, String(comp), o.uid, o.gid, AT_SYMLINK_NOFOLLOW) }
            } else if errno != EEXIST {
                throw SysError("mkdir", cur)
            }
        }
    }

    func put(_ e: SourceEntry, from tree: SourceTree, at target: String) throws {
        let slash = target.lastIndex(of: "/")!
        let parentPath = target[..<slash].isEmpty ? "/" : String(target[..<slash])
        let leaf = String(target[target.index(after: slash)...])
        let parent = try root.openInRoot(parentPath, O_RDONLY | O_DIRECTORY)
        let (uid, gid) = ownerFor(e.st)
        let mode = chmod.map { $0.apply(to: e.st.st_mode) } ?? (e.st.st_mode & 0o7777)
        var times = [e.st.st_atim, e.st.st_mtim]
        switch e.st.st_mode & S_IFMT {
        case S_IFDIR:
            var st = stat()
            if fstatat(parent.raw, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) != S_IFDIR {
                _ = unlinkat(parent.raw, leaf, 0)
            }
            if mkdirat(parent.raw, leaf, 0o700) != 0 && errno != EEXIST { throw SysError("mkdir", target) }
            let d = try FD(checked: openat(parent.raw, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open", target)
            guard fchown(d.raw, uid, gid) == 0, fchmod(d.raw, mode) == 0 else { throw SysError("chown/chmod", target) }
        case S_IFREG:
            let src = try tree.open(e.src)
            var fd = openat(parent.raw, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 && (errno == ELOOP || errno == EISDIR || errno == ETXTBSY) {
                // A symlink, a directory or a busy file where the file goes: replaced.
                if errno == EISDIR { try? Files.removeTree(root, parentPath, leaf) } else { _ = unlinkat(parent.raw, leaf, 0) }
                fd = openat(parent.raw, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            let dst = try FD(checked: fd, "create", target)
            try Self.copyData(from: src, to: dst, what: target)
            guard fchown(dst.raw, uid, gid) == 0, fchmod(dst.raw, mode) == 0 else { throw SysError("chown/chmod", target) }
            _ = futimens(dst.raw, &times)
        case S_IFLNK:
            var st = stat()
            if fstatat(parent.raw, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                if (st.st_mode & S_IFMT) == S_IFDIR { try? Files.removeTree(root, parentPath, leaf) } else { _ = unlinkat(parent.raw, leaf, 0) }
            }
            guard symlinkat(e.link ?? "", parent.raw, leaf) == 0 else { throw SysError("symlink", target) }
            _ = fchownat(parent.raw, leaf, uid, gid, AT_SYMLINK_NOFOLLOW)
            _ = utimensat(parent.raw, leaf, &times, AT_SYMLINK_NOFOLLOW)
        default:
            break // sockets, fifos and devices are not copied from a context
        }
    }

    static func copyData(from src: FD, to dst: FD, what: String) throws {
        var buf = [UInt8](repeating: 0, count: 1 << 17)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(src.raw, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw SysError("read", what) }
            if n == 0 { return }
            try dst.writeAll(Array(buf[0..<n]))
        }
    }
}

/// --chmod: octal (`755`) or symbolic (`u+x,go-w`, `a=rX`).
struct Chmod: Equatable {
    var octal: mode_t?
    var clauses: [(who: mode_t, op: Character, perm: mode_t, x: Bool)] = []

    static func == (a: Chmod, b: Chmod) -> Bool { a.octal == b.octal && a.clauses.count == b.clauses.count }

    init(_ s: String) throws {
        if let v = UInt32(s, radix: 8), !s.isEmpty, s.count <= 4 {
            octal = mode_t(v)
            return
        }
        for clause in s.split(separator: ",") {
            var who: mode_t = 0
            var rest = Substring(clause)
            while let c = rest.first, "ugoa".contains(c) {
                who |= c == "u" ? 0o4700 : c == "g" ? 0o2070 : c == "o" ? 0o1007 : 0o7777
                rest = rest.dropFirst()
            }
            if who == 0 { who = 0o7777 }
            guard let op = rest.first, "+-=".contains(op) else { throw BuildError("invalid --chmod=\(s): use octal (755) or symbolic (u+x,go-w)") }
            rest = rest.dropFirst()
            var perm: mode_t = 0
            var x = false
            for c in rest {
                switch c {
                case "r": perm |= 0o444
                case "w": perm |= 0o222
                case "x": perm |= 0o111
                case "X": x = true
                case "s": perm |= 0o6000
                case "t": perm |= 0o1000
                default: throw BuildError("invalid --chmod=\(s): use octal (755) or symbolic (u+x,go-w)")
                }
            }
            clauses.append((who, op, perm, x))
        }
    }

    func apply(to mode: mode_t) -> mode_t {
        if let o = octal { return o }
        var m = mode & 0o7777
        let isDir = (mode & S_IFMT) == S_IFDIR
        for c in clauses {
            var p = c.perm
            if c.x && (isDir || m & 0o111 != 0) { p |= 0o111 }
            p &= c.who
            switch c.op {
            case "+": m |= p
            case "-": m &= ~p
            default: m = (m & ~(c.who & 0o7777)) | p
            }
        }
        return m
    }
}

extension FD {
    convenience init(checked fd: Int32, _ call: String, _ path: String) throws {
        guard fd >= 0 else { throw SysError(call, path) }
        self.init(fd)
    }
}

extension Files {
    /// Removes `leaf` of the directory `parent` (inside `root`) and what is under it.
    static func removeTree(_ root: FD, _ parent: String, _ leaf: String) throws {
        let p = try root.openInRoot(parent, O_RDONLY | O_DIRECTORY)
        try Files.removeTree("/proc/self/fd/\(p.raw)/\(leaf)")
    }
}
