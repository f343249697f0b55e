#if canImport(Glibc)
import Glibc
#endif
import CShim

/// A failed syscall, named the way crun does: "open /run/x/state.json: ENOENT (No such file or directory)".
public struct SysError: Error, CustomStringConvertible, Equatable {
    public var call: String
    public var path: String?
    public var errno: Int32

    public init(_ call: String, _ path: String? = nil, errno: Int32 = Glibc.errno) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String {
        let target = path.map { " \($0)" } ?? ""
        return "\(call)\(target): \(SysError.describe(errno))"
    }

    public static func describe(_ err: Int32) -> String {
        let name = errnoNames[err] ?? "errno \(err)"
        return "\(name) (\(String(cString: strerror(err))))"
    }

    static let errnoNames: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", E2BIG: "E2BIG",
        ENOEXEC: "ENOEXEC", EBADF: "EBADF", ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
        EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV",
        ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE",
        EMFILE: "EMFILE", ETXTBSY: "ETXTBSY", EFBIG: "EFBIG", ENOSPC: "ENOSPC", EROFS: "EROFS",
        EMLINK: "EMLINK", EPIPE: "EPIPE", ERANGE: "ERANGE", ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS",
        ENOTEMPTY: "ENOTEMPTY", ELOOP: "ELOOP", EPROTO: "EPROTO", EOPNOTSUPP: "EOPNOTSUPP",
        ETIMEDOUT: "ETIMEDOUT", EDQUOT: "EDQUOT", ECONNREFUSED: "ECONNREFUSED", EADDRINUSE: "EADDRINUSE",
        ENXIO: "ENXIO",
    ]
}

/// A plain message error for everything that is not one syscall.
public struct Failure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
