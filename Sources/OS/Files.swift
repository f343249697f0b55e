#if canImport(Glibc)
import Glibc
#endif
import CShim

/// File helpers with errors that name the path. Writes are atomic (temp + rename).
public enum Files {
    public static func read(_ path: String) throws -> [UInt8] {
        try FD.open(path, O_RDONLY).readToEnd()
    }

    public static func readString(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func size(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    public static func size(fd: Int32) -> Int {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes a file atomically: a crash leaves the old content or the new, never half.
    public static func writeAtomic(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, sync: Bool = false) throws {
        let tmp = "\(path).tmp.\(getpid())"
        let fd = try FD.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try fd.writeAll(bytes)
            if sync && fsync(fd.raw) < 0 { throw SysError("fsync", tmp) }
            fd.close()
            if rename(tmp, path) < 0 { throw SysError("rename", path) }
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// `save -o`, `export -o`: the output written beside `path` and renamed over it, so a
    /// failure leaves no half archive; but a path that is a device, pipe or socket (`-o
    /// /dev/null`, a fifo) is written in place, never replaced by a file.
    public static func writeOutput(_ path: String, mode: mode_t = 0o644, _ body: (FD) throws -> Void) throws {
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            guard (st.st_mode & S_IFMT) != S_IFDIR else { throw Failure("\(path) is a directory: give a file name") }
            try body(try FD.open(path, O_WRONLY | O_CLOEXEC))
            return
        }
        let part = "\(path).part-\(getpid())"
        do {
            let fd = try FD.open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: mode)
            try body(fd)
            if fsync(fd.raw) < 0 { throw SysError("fsync", part) }
            if rename(part, path) < 0 { throw SysError("rename", path) }
        } catch {
            unlink(part)
            throw error
        }
    }

    public static func write(_ path: String, _ string: String) throws {
        let fd = try FD.open(path, O_WRONLY | O_CREAT | O_TRUNC)
        try fd.writeAll(Array(string.utf8))
    }

    /// mkdir -p; returns the directories it created, deepest last.
    @discardableResult
    public static func mkdirAll(_ path: String, mode: mode_t = 0o755) throws -> [String] {
        var created: [String] = []
        var prefix = path.hasPrefix("/") ? "" : "."
        for comp in path.split(separator: "/") {
            prefix += "/" + comp
            if mkdir(prefix, mode) == 0 {
                created.append(prefix)
            } else if Glibc.errno != EEXIST {
                throw SysError("mkdir", prefix)
            } else if !isDirectory(prefix) {
                throw SysError("mkdir", prefix, errno: ENOTDIR)
            }
        }
        return created
    }

    /// rm -rf that never follows symlinks and stays on the directory's filesystem. It works
    /// on names as bytes, through fds: a layer's names need not be UTF-8 (a String would
    /// not name them again), and its tree may be deeper than PATH_MAX. It holds two fds at a
    /// time, whatever the depth: it goes back up by "..", remembering only names.
    public static func removeTree(_ path: String) throws {
        var st = stat()
        if lstat(path, &st) < 0 {
            if Glibc.errno == ENOENT { return }
            throw SysError("lstat", path)
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            if unlink(path) < 0 && Glibc.errno != ENOENT { throw SysError("unlink", path) }
            return
        }
        var cur = sr_open_cloexec(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0)
        guard cur >= 0 else { throw SysError("open", path) }
        var below: [[CChar]] = [] // the names from `path` down to `cur`
        defer { if cur >= 0 { Glibc.close(cur) } }
        func here() -> String {
            path + below.map { "/" + String(decoding: $0.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self) }.joined()
        }
        while true {
            // Everything but directories goes; the first directory found is entered.
            var sub: [CChar]?
            let dupfd = fcntl(cur, F_DUPFD_CLOEXEC, 0)
            guard dupfd >= 0, let d = fdopendir(dupfd) else {
                if dupfd >= 0 { Glibc.close(dupfd) }
                throw SysError("fdopendir", here())
            }
            while sub == nil, let ent = readdir(d) {
                let name: [CChar] = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                    Array(raw.bindMemory(to: CChar.self).prefix { $0 != 0 }) + [0]
                }
                if name == [46, 0] || name == [46, 46, 0] { continue }
                var est = stat()
                guard fstatat(cur, name, &est, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                if (est.st_mode & S_IFMT) == S_IFDIR {
                    if est.st_dev != st.st_dev {
                        closedir(d)
                        throw SysError("remove (a mount is still inside)", here(), errno: EBUSY)
                    }
                    sub = name
                } else if unlinkat(cur, name, 0) < 0 && Glibc.errno != ENOENT {
                    closedir(d)
                    throw SysError("unlink", here() + "/" + String(cString: name))
                }
            }
            closedir(d)
            if let name = sub {
                let next = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard next >= 0 else { throw SysError("open", here() + "/" + String(cString: name)) }
                Glibc.close(cur)
                cur = next
                below.append(name)
                continue
            }
            // Empty: up one level, and remove it there.
            guard let name = below.popLast() else { break }
            let parent = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard parent >= 0 else { throw SysError("open", here() + "/..") }
            Glibc.close(cur)
            cur = parent
            if unlinkat(cur, name, AT_REMOVEDIR) < 0 && Glibc.errno != ENOENT {
                throw SysError("rmdir", here() + "/" + String(cString: name))
            }
        }
        Glibc.close(cur)
        cur = -1
        if rmdir(path) < 0 && Glibc.errno != ENOENT { throw SysError("rmdir", path) }
    }

    public static func list(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else { throw SysError("opendir", dir) }
        defer { closedir(d) }
        var names: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The names in an open directory (its fd stays ours), sorted by bytes.
    /// Bytes of the files under `path` (apparent sizes, as `docker system df` counts; a
    /// hard-linked file once; symlinks never followed). 0 for what cannot be read.
    public static func treeSize(_ path: String) -> Int64 {
        guard let top = try? FD.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) else {
            var st = stat()
            return lstat(path, &st) == 0 ? Int64(st.st_size) : 0
        }
        var seen = Set<UInt64>()
        func walk(_ dir: FD) -> Int64 {
            var total: Int64 = 0
            for name in (try? listDirectory(fd: dir)) ?? [] {
                var st = stat()
                guard fstatat(dir.raw, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFDIR {
                    let fd = openat(dir.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if fd >= 0 { total += walk(FD(fd)) }
                } else if st.st_nlink <= 1 || seen.insert(UInt64(st.st_ino)).inserted {
                    total += Int64(st.st_size)
                }
            }
            return total
        }
        return walk(top)
    }

    public static func listDirectory(fd: FD) throws -> [String] {
        let copy = fcntl(fd.raw, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0, let d = fdopendir(copy) else {
            if copy >= 0 { Glibc.close(copy) }
            throw SysError("fdopendir")
        }
        defer { closedir(d) }
        rewinddir(d)
        var names: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    public static func realpath(_ path: String) throws -> String {
        guard let p = Glibc.realpath(path, nil) else { throw SysError("realpath", path) }
        defer { free(p) }
        return String(cString: p)
    }

    /// The target of a symlink (a /proc/PID/exe, say), unresolved.
    public static func readlink(_ path: String) throws -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = Glibc.readlink(path, &buf, buf.count - 1)
        guard n >= 0 else { throw SysError("readlink", path) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func cwd() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return "/" }
        return String(cString: buf)
    }

    /// Makes `path` absolute against the current directory, without touching the disk.
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : cwd() + "/" + path
    }
}
