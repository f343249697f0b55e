import OS
#if canImport(Glibc)
import Glibc
#endif

/// An image's unpacked layers, read as the overlay reads them: from the top down, a
/// whiteout (char 0:0) hiding what is below. One answer for build (RUN's mount stubs),
/// diff and commit.
struct LayerStack {
    /// Bottom first, as the image lists them.
    let dirs: [String]

    /// Whether the image has `rel` (relative to its root).
    func present(_ rel: String) -> Bool {
        for d in dirs.reversed() {
            var s = stat()
            guard lstat(d + "/" + rel, &s) == 0 else { continue }
            return !((s.st_mode & S_IFMT) == S_IFCHR && s.st_rdev == 0)
        }
        return false
    }

    /// The files the engine binds over (hosts, resolv.conf, hostname) leave empty mount points
    /// in an upper directory where the image had none: not a container's or a step's changes.
    func mountStubs(in upper: String) -> [String] {
        ["etc/hosts", "etc/resolv.conf", "etc/hostname"].filter { f in
            var s = stat()
            return lstat(upper + "/" + f, &s) == 0 && (s.st_mode & S_IFMT) == S_IFREG && s.st_size == 0 && !present(f)
        }
    }
}
