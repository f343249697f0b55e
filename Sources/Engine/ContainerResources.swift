import Network
import OS
#if canImport(Glibc)
import Glibc
#endif

/// Everything one container holds on the host, and the one place it is let go: the overlay
/// root, the runtime's state and cgroup, its network (addresses, published ports, veths)
/// and, at the end, its directory, name and anonymous volumes. Every exit path calls
/// `release`: a run's end, a failed start, `rm` and `rm -f`, what a dead supervisor or a
/// killed `create` left. What this instance released already is skipped, and each step
/// tolerates what another process let go before it, so a release may be repeated.
/// Nothing else in the engine mounts, unmounts or releases these.
public final class ContainerResources {
    let engine: Engine
    public let id: String
    private var released: Set<Part> = []

    public enum Part: Int, Comparable {
        /// The runtime's state and cgroup, and the network of one run.
        case run
        /// The overlay root (kept between runs: a restart reuses it).
        case rootfs
        /// The directory, the name, anonymous volumes: the container itself.
        case container

        public static func < (a: Part, b: Part) -> Bool { a.rawValue < b.rawValue }
    }

    /// How the network goes. `netnsGone`: the container's processes are gone, so the kernel
    /// deletes its veths with its netns; they are returned to be awaited (deleting them
    /// blocks 20-28 ms). `keepBridge`: an unused bridge is left for the caller to take down
    /// after it has reported the exit.
    public struct NetworkRelease {
        public var netnsGone = false
        public var keepBridge = false
        public init(netnsGone: Bool = false, keepBridge: Bool = false) {
            self.netnsGone = netnsGone
            self.keepBridge = keepBridge
        }
    }

    public init(engine: Engine, id: String) {
        self.engine = engine
        self.id = id
    }

    var dir: String { engine.dir(id) }

    // MARK: acquire

    /// overlayfs: the image's layers, top first, under the container's own upper dir;
    /// mounted through the new mount API onto an fd of the target. A root already mounted
    /// (by create, or a supervisor that went away) is kept.
    public func mountRootfs(layers: [String]? = nil) throws {
        released.remove(.rootfs)
        if rootfsMounted { return }
        Mounts.unmountAll(dir + "/rootfs") // something else on top
        let chain = try layers ?? (try Files.readString(dir + "/layers")).split(separator: "\n").map(String.init)
        let target = try FD.open(dir + "/rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        try Mounts.overlay(lower: chain.reversed().map { engine.store.layerPath($0) }, upper: dir + "/upper", work: dir + "/work",
                           onto: target, at: dir + "/rootfs")
    }

    var rootfsMounted: Bool { Mounts.isOverlay(dir + "/rootfs") }

    /// A run begins: what it holds is not released yet.
    public func acquiredRun() { released.remove(.run) }

    // MARK: release

    /// Lets go of `upTo` and everything below it. `anonymousVolumes`: with the container,
    /// the volumes only it used (`rm -v`, `--rm`); `volumes` names them when no record does
    /// (a create that failed), as `name` names its name then. Throws only if the container's
    /// directory cannot be removed.
    @discardableResult
    public func release(upTo: Part, network: NetworkRelease = NetworkRelease(), anonymousVolumes: Bool = false,
                        volumes: [String]? = nil, name: String? = nil) throws -> [HostNetwork.GoingVeth] {
        var going: [HostNetwork.GoingVeth] = []
        if !released.contains(.run) {
            let rt = engine.runtime
            rt.warn = { _ in }
            try? rt.delete(id, force: true)
            going = HostNetwork.release(containerID: id, root: engine.store.root, teardown: !network.keepBridge,
                                        netnsGone: network.netnsGone)
            released.insert(.run)
        }
        if upTo >= .rootfs && !released.contains(.rootfs) {
            Mounts.unmountAll(dir + "/rootfs")
            released.insert(.rootfs)
        }
        if upTo >= .container && !released.contains(.container) {
            let record = try? engine.load(id)
            let recorded = anonymousVolumes ? (record?.HostConfig.Mounts ?? []).filter { $0.Anonymous == true }.map(\.Source) : []
            // The name goes first: once the directory is gone nothing else refers to it. Only a
            // container with neither record nor known name (a killed create) costs a scan.
            let names = engine.namesDir
            let candidates = (name ?? record?.Name).map { [$0] } ?? (try? Files.list(names)) ?? []
            for n in candidates where (try? Files.readlink(names + "/" + n)) == id { unlink(names + "/" + n) }
            try Files.removeTree(dir)
            released.insert(.container)
            for v in volumes ?? recorded where !v.isEmpty { try? engine.removeVolume(v, force: volumes != nil) }
        }
        return going
    }
}
