#if canImport(Glibc)
import Glibc
#endif
import CShim

/// The engine's own mounts (a container's root); the runtime's are made by its init.
public enum Mounts {
    /// overlayfs by the new mount API onto the directory `target`; `lower`: top layer first.
    public static func overlay(lower: [String], upper: String, work: String, onto target: FD, at path: String) throws {
        let dirs = lower.map { strdup($0) }
        defer { dirs.forEach { free($0) } }
        var step: UnsafePointer<CChar>?
        let rc = dirs.map { UnsafePointer($0) }.withUnsafeBufferPointer {
            sr_mount_overlay($0.baseAddress, Int32($0.count), upper, work, target.raw, &step)
        }
        guard rc == 0 else { throw SysError("mount overlay (\(step.map { String(cString: $0) } ?? "?"))", path, errno: -rc) }
    }

    /// Is an overlayfs mounted at `path`?
    public static func isOverlay(_ path: String) -> Bool { sr_fs_type(path) == 0x794c_7630 } // OVERLAYFS_SUPER_MAGIC

    /// Every mount stacked at `path` goes (detached: busy ones when they are let go).
    public static func unmountAll(_ path: String) {
        while umount2(path, Int32(MNT_DETACH)) == 0 {}
    }
}

/// A process that waits for long stretches gives back what its last burst of work touched.
public enum Idle {
    /// Gives back freed heap, the pages of `scratch` buffers, the stack below this frame and
    /// clean file pages, then ppolls with raw syscalls only (so that nothing faults back
    /// before the wait). As poll(2): the number of ready fds, 0 on timeout, -1 on error.
    public static func releaseAndPoll(_ fds: inout [pollfd], timeoutMs: Int32, scratch: [iovec]) -> Int32 {
        sr_release_and_poll(&fds, UInt(fds.count), timeoutMs, scratch, Int32(scratch.count))
    }
}

/// The user's terminal.
public enum TTY {
    public static func size(_ fd: Int32) -> (rows: UInt16, cols: UInt16)? {
        var r: UInt16 = 0, c: UInt16 = 0
        return sr_winsize_get(fd, &r, &c) == 0 && r > 0 && c > 0 ? (r, c) : nil
    }

    /// Raw mode (undone by `restore`, also at exit).
    public static func makeRaw(_ fd: Int32) { _ = sr_tty_raw(fd) }
    public static func restore() { sr_tty_restore() }
}
