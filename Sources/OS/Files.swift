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

    /// rm -rf that never follows symlinks and stays on the directory's filesystem.
    public static func removeTree(_ path: String) throws {
        var st = stat()
        if lstat(path, &st) < 0 {
            if Glibc.errno == ENOENT { return }
            throw SysError("lstat", path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            try removeContents(path, device: st.st_dev)
            if rmdir(path) < 0 && Glibc.errno != ENOENT { throw SysError("rmdir", path) }
        } else if unlink(path) < 0 && Glibc.errno != ENOENT {
            throw SysError("unlink", path)
        }
    }

    private static func removeContents(_ dir: String, device: dev_t) throws {
        for name in try list(dir) {
            let p = dir + "/" + name
            var st = stat()
            if lstat(p, &st) < 0 { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                if st.st_dev != device { throw SysError("remove (a mount is still inside)", p, errno: EBUSY) }
                try removeContents(p, device: device)
                if rmdir(p) < 0 && Glibc.errno != ENOENT { throw SysError("rmdir", p) }
            } else if unlink(p) < 0 && Glibc.errno != ENOENT {
                throw SysError("unlink", p)
            }
        }
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
