import CShim
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// A bridge network as a root records it (networks/<name>.json; "bridge" is built in).
public struct NetworkRecord: Codable, Equatable {
    public var Name: String
    public var Id: String
    public var Driver: String
    public var Subnet: String
    public var Gateway: String
    public var Bridge: String
    public var Created: String
    public var Labels: [String: String]
    public var Internal: Bool

    public init(Name: String, Id: String, Subnet: String, Gateway: String, Bridge: String, Created: String,
                Labels: [String: String] = [:], Internal: Bool = false) {
        self.Name = Name
        self.Id = Id
        self.Driver = "bridge"
        self.Subnet = Subnet
        self.Gateway = Gateway
        self.Bridge = Bridge
        self.Created = Created
        self.Labels = Labels
        self.Internal = Internal
    }

    /// Docker's default network: no name resolution between its containers.
    public var isDefault: Bool { Name == "bridge" }
    public var subnet: Subnet { Network.Subnet(Subnet)! }
}

/// One container's address on one network, host-wide: /run/swiftrun/net/<bridge>/leases/<ip>.
/// It says whose it is (root, container, supervisor), so a lease whose container or
/// supervisor is gone is taken back by the next one who looks.
public struct Lease: Codable, Equatable {
    public var IP: String
    public var PrefixLen: Int
    public var Gateway: String
    public var Network: String
    public var NetworkID: String
    public var Bridge: String
    public var ContainerID: String
    public var Root: String
    public var Name: String
    public var Aliases: [String]
    public var Hostname: String
    public var Interface: String
    public var HostVeth: String
    /// The container's /etc/hosts (bind-mounted: rewritten in place) and what it starts with.
    public var HostsPath: String
    public var HostsBase: String
    public var SupervisorPid: Int32
    public var SupervisorStart: UInt64
    /// The nftables table whose maps hold this container's published ports, and the ports.
    public var PortTable: String?
    public var Ports: [PortBinding]?
}

/// Host-wide networking state, shared by every store root on the machine (bridges and
/// addresses are host-wide): /run/swiftrun/net, under one lock.
///   <bridge>/network.json   the subnet the bridge was made for
///   <bridge>/leases/<ip>    Lease
///   <bridge>/last           the last address handed out (allocation goes round, so an
///                           address just freed is not handed out again at once)
///   ip_forward.orig         the value to put back when the last bridge goes
public enum HostNetwork {
    public static var dir = "/run/swiftrun/net"
    static var lockPath: String { dir + ".lock" }

    /// The lock file is removed when nothing is left; a waiter that got the lock on a
    /// removed file tries again.
    static func withLock<T>(_ body: () throws -> T) throws -> T {
        try Files.mkdirAll(String(dir.prefix(upTo: dir.lastIndex(of: "/")!)), mode: 0o700)
        while true {
            let fd = try FD.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
            guard sr_flock(fd.raw, LOCK_EX) == 0 else { throw SysError("flock", lockPath) }
            var a = stat(), b = stat()
            guard fstat(fd.raw, &a) == 0 else { throw SysError("fstat", lockPath) }
            if stat(lockPath, &b) != 0 || a.st_ino != b.st_ino { continue }
            let result = try body()
            if !Files.exists(dir) { unlink(lockPath) }
            return result
        }
    }

    static func bridgeDir(_ bridge: String) -> String { dir + "/" + bridge }

    static func leases(_ bridge: String) -> [Lease] {
        let d = bridgeDir(bridge) + "/leases"
        return ((try? Files.list(d)) ?? []).compactMap { try? JSON.decode(Lease.self, from: Files.read(d + "/" + $0), what: "lease") }
    }

    static func bridges() -> [String] {
        ((try? Files.list(dir)) ?? []).filter { Files.isDirectory(dir + "/" + $0) }
    }

    static func allLeases() -> [Lease] { bridges().flatMap { leases($0) } }

    static func isStale(_ l: Lease) -> Bool {
        !Files.exists(l.Root + "/containers/" + l.ContainerID) || !Proc.isAlive(l.SupervisorPid, startTime: l.SupervisorStart)
    }

    // MARK: lease

    public struct Claim {
        public var network: NetworkRecord
        public var root: String
        public var containerID: String
        public var name: String
        public var aliases: [String]
        public var hostname: String
        public var interface: String
        public var hostsPath: String
        public var hostsBase: String
        public var supervisorPid: Int32
        public var supervisorStart: UInt64
        public init(network: NetworkRecord, root: String, containerID: String, name: String, aliases: [String], hostname: String,
                    interface: String, hostsPath: String, hostsBase: String, supervisorPid: Int32, supervisorStart: UInt64) {
            self.network = network
            self.root = root
            self.containerID = containerID
            self.name = name
            self.aliases = aliases
            self.hostname = hostname
            self.interface = interface
            self.hostsPath = hostsPath
            self.hostsBase = hostsBase
            self.supervisorPid = supervisorPid
            self.supervisorStart = supervisorStart
        }
    }

    /// An address on the network for a container that is about to be created; makes the
    /// bridge, its nftables table and sets ip_forward when this is the network's first.
    public static func lease(_ c: Claim) throws -> Lease {
        try withLock {
            collectStale()
            let net = c.network
            let subnet = net.subnet
            try ensureBridge(net)
            let d = bridgeDir(net.Bridge)
            unlink(d + "/idle")
            let taken = Set(leases(net.Bridge).compactMap { IPv4($0.IP)?.value })
            let range = subnet.hostRange
            guard !range.isEmpty else { throw NetworkError("network \(net.Name): subnet \(subnet) has no room for containers") }
            let last = (try? Files.readString(d + "/last")).flatMap { IPv4($0.trimmed()) }.map { $0.value } ?? range.lowerBound - 1
            var pick: UInt32? = nil
            var candidate = last
            for _ in 0..<range.count {
                candidate = candidate >= range.upperBound || candidate < range.lowerBound ? range.lowerBound : candidate + 1
                if !taken.contains(candidate) { pick = candidate; break }
            }
            guard let ipv = pick else {
                throw NetworkError("network \(net.Name): no free address left in \(subnet) (\(taken.count) in use); remove containers or use a larger --subnet")
            }
            let ip = IPv4(ipv)
            let n = c.interface.filter { $0.isNumber }
            let lease = Lease(IP: ip.description, PrefixLen: subnet.prefix, Gateway: net.Gateway, Network: net.Name, NetworkID: net.Id,
                              Bridge: net.Bridge, ContainerID: c.containerID, Root: c.root, Name: c.name, Aliases: c.aliases,
                              Hostname: c.hostname, Interface: c.interface, HostVeth: "sr" + String(c.containerID.prefix(10)) + n,
                              HostsPath: c.hostsPath, HostsBase: c.hostsBase, SupervisorPid: c.supervisorPid,
                              SupervisorStart: c.supervisorStart, PortTable: nil)
            // O_EXCL: a second holder of the same address is impossible even if the lock were bypassed.
            let path = d + "/leases/" + ip.description
            let fd = sr_open_cloexec(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw SysError("open (lease)", path) }
            try FD(fd).writeAll(try JSON.encode(lease))
            try Files.writeAtomic(d + "/last", Array(ip.description.utf8), mode: 0o600)
            return lease
        }
    }

    static func saveLease(_ l: Lease) throws {
        try Files.writeAtomic(bridgeDir(l.Bridge) + "/leases/" + l.IP, try JSON.encode(l), mode: 0o600)
    }

    // MARK: bridge

    static func ensureBridge(_ net: NetworkRecord) throws {
        let subnet = net.subnet
        let d = bridgeDir(net.Bridge)
        let nl = try Netlink()
        if let recorded = try? JSON.decode(NetworkRecord.self, from: Files.read(d + "/network.json"), what: "network"),
           nl.index(net.Bridge) != nil {
            guard recorded.Subnet == net.Subnet else {
                throw NetworkError("bridge \(net.Bridge) is in use with subnet \(recorded.Subnet) (network \(recorded.Name) of another store root), not \(net.Subnet)")
            }
            return
        }
        // A half-made bridge from a crash: start over.
        _ = try? nl.delete(net.Bridge)
        // A bridge lingering unused on an overlapping subnet (a removed network's, the default
        // bridge's before SWIFTRUN_BRIDGE_SUBNET changed) gives way.
        for b in bridges() where b != net.Bridge && leases(b).isEmpty {
            if let other = try? JSON.decode(NetworkRecord.self, from: Files.read(bridgeDir(b) + "/network.json"), what: "network"),
               other.subnet.overlaps(subnet) { teardownIfUnused(b) }
        }
        if let clash = hostRoutes().first(where: { $0.subnet.overlaps(subnet) && $0.dev != net.Bridge }) {
            throw NetworkError("network \(net.Name): subnet \(subnet) overlaps the host's route \(clash.subnet) on \(clash.dev); "
                               + "choose another subnet (`swiftrun network create --subnet`, or SWIFTRUN_BRIDGE_SUBNET for the default bridge)")
        }
        try Files.mkdirAll(d + "/leases", mode: 0o700)
        try Files.writeAtomic(d + "/network.json", try JSON.encode(net), mode: 0o600)
        _ = try nl.addBridge(net.Bridge)
        do {
            try nl.addAddress(net.Bridge, subnet.gateway, prefix: subnet.prefix)
            try nl.setUp(net.Bridge)
            // 127.0.0.1:PORT reaches a container only if packets from 127/8 may leave by the
            // bridge (after DNAT); per interface, so it goes with the bridge.
            try writeSysctl("/proc/sys/net/ipv4/conf/\(net.Bridge)/route_localnet", "1")
            if !net.Internal { try enableForwarding() }
            try NFT.replaceTable(tableName(net.Bridge), NFT.networkTable(bridge: net.Bridge, subnet: subnet, isInternal: net.Internal))
        } catch {
            _ = try? nl.delete(net.Bridge)
            try? Files.removeTree(d)
            throw error
        }
    }

    static func tableName(_ bridge: String) -> String { "swiftrun-" + bridge }

    /// Removes a bridge with no leases left: its table, the link, its directory; and puts
    /// ip_forward back when it was the last.
    static func teardownIfUnused(_ bridge: String) {
        guard leases(bridge).isEmpty else { return }
        try? NFT.deleteTable(tableName(bridge))
        if let nl = try? Netlink() { _ = try? nl.delete(bridge) }
        try? Files.removeTree(bridgeDir(bridge))
        if bridges().isEmpty {
            restoreForwarding()
            rmdir(dir)
        }
    }

    static func writeSysctl(_ path: String, _ value: String) throws {
        let fd = try FD.open(path, O_WRONLY | O_CLOEXEC)
        try fd.writeAll(Array(value.utf8))
    }

    /// Outbound NAT needs forwarding. The old value is kept and put back with the last bridge.
    static func enableForwarding() throws {
        let p = "/proc/sys/net/ipv4/ip_forward"
        let now = (try? Files.readString(p))?.trimmed() ?? "0"
        guard now != "1" else { return }
        let orig = dir + "/ip_forward.orig"
        if !Files.exists(orig) { try Files.writeAtomic(orig, Array(now.utf8), mode: 0o600) }
        try writeSysctl(p, "1")
    }

    static func restoreForwarding() {
        let orig = dir + "/ip_forward.orig"
        guard let v = try? Files.readString(orig) else { return }
        try? writeSysctl("/proc/sys/net/ipv4/ip_forward", v.trimmed())
        unlink(orig)
    }

    /// IPv4 routes of the host (/proc/net/route), to refuse a subnet that would shadow one.
    static func hostRoutes() -> [(dev: String, subnet: Subnet)] {
        guard let text = try? Files.readString("/proc/net/route") else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard f.count >= 8, let dst = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16), mask != 0 else { return nil }
            return (f[0], Subnet(base: IPv4(dst.byteSwapped), prefix: mask.nonzeroBitCount))
        }
    }

    // MARK: plug

    /// After the container's init exists (in its own netns, waiting to be started): the veth
    /// pair with its end created inside that netns, address, default route; published ports.
    public static func plug(_ lease: Lease, netns: Int32, ports: [PortBinding], defaultRoute: Bool) throws -> Lease {
        try withLock {
            var l = lease
            let host = try Netlink()
            guard let br = host.index(l.Bridge) else { throw NetworkError("bridge \(l.Bridge) is gone (removed by hand?); start the container again") }
            _ = try? host.delete(l.HostVeth)
            try host.addVeth(l.HostVeth, peer: l.Interface, peerNetns: netns)
            try host.setUp(l.HostVeth, master: br)
            let inside = try Netlink(netns: netns, place: "container")
            let ip = IPv4(l.IP)!
            try inside.addAddress(l.Interface, ip, prefix: l.PrefixLen)
            try inside.setUp(l.Interface)
            if defaultRoute { try inside.addDefaultRoute(via: IPv4(l.Gateway)!, dev: l.Interface) }
            if !ports.isEmpty {
                let t = tableName(l.Bridge)
                l.PortTable = t
                l.Ports = ports
                try saveLease(l)
                try NFT.publish(table: t, ports, to: ip)
            }
            refreshHosts(bridges: [l.Bridge])
            return l
        }
    }

    // MARK: release

    /// Everything of one container on every network: its published ports, its veths, its
    /// leases; a bridge left with nobody goes too. Quiet: it runs on every cleanup path.
    /// `teardown: false` leaves a bridge with nobody on it for `teardownUnused` (the
    /// supervisor does that after it has told the CLI the container exited: deleting a
    /// bridge and its table takes the kernel about 50 ms).
    /// `netnsGone`: the container's netns has no process and no fd of ours left, so the
    /// kernel deletes its veth pairs with it (cleanup_net, ~20 ms later here); deleting one
    /// ourselves blocks as long (RTM_DELLINK waits for RCU). The lease and ports go now and
    /// the host-side veths are returned (name and ifindex) for `awaitGone`, which the
    /// supervisor calls after it has reported the exit.
    @discardableResult
    public static func release(containerID: String, root: String, onlyNetwork: String? = nil, teardown: Bool = true,
                               netnsGone: Bool = false) -> [GoingVeth] {
        guard Files.exists(dir) else { return [] } // no bridge, no lease: nothing to take the lock for
        var going: [GoingVeth] = []
        _ = try? withLock {
            var touched: [String] = []
            for l in allLeases() where l.ContainerID == containerID && l.Root == root && (onlyNetwork == nil || l.NetworkID == onlyNetwork) {
                drop(l, bridgeGoes: teardown && leases(l.Bridge).count == 1, deleteVeth: !netnsGone)
                if netnsGone, case let i = if_nametoindex(l.HostVeth), i != 0 { going.append(GoingVeth(name: l.HostVeth, index: Int32(i))) }
                touched.append(l.Bridge)
            }
            if teardown { for b in Set(touched) { teardownIfUnused(b) } }
            refreshHosts(bridges: touched)
        }
        return going
    }

    public struct GoingVeth: Codable {
        let name: String
        let index: Int32
    }

    /// Waits (up to `seconds`) for veths that go with their netns, and deletes what is still
    /// there then (something else holds the netns). By ifindex: a restarted container's new
    /// veth may have the old one's name by then.
    public static func awaitGone(_ veths: [GoingVeth], seconds: Double = 2) {
        guard !veths.isEmpty else { return }
        let deadline = Time.monotonicNanos() + Int64(seconds * 1e9)
        var left = veths
        while true {
            left = left.filter { Int32(bitPattern: if_nametoindex($0.name)) == $0.index }
            if left.isEmpty || Time.monotonicNanos() >= deadline { break }
            usleep(1000)
        }
        if !left.isEmpty, let nl = try? Netlink() { for v in left { nl.delete(index: v.index) } }
    }

    /// One bridge, if nobody uses it.
    static func teardownIfUnused(locking bridge: String) {
        guard Files.exists(bridgeDir(bridge)) else { return }
        _ = try? withLock { teardownIfUnused(bridge) }
    }

    /// Every bridge nobody uses any more goes (and ip_forward is put back after the last).
    public static func teardownUnused() {
        guard Files.exists(dir) else { return }
        _ = try? withLock { for b in bridges() { teardownIfUnused(b) } }
    }

    /// How long a bridge nobody uses stays up after its last container left. A loop of
    /// `run --rm` then finds it warm, as Docker's docker0 always is: making a bridge and its
    /// nftables table costs 30-100 ms here, taking it down 40 ms (docs/benchmarks.md). Not
    /// forever: a host that stopped using swiftrun gets its links, rules and ip_forward back.
    public static let lingerNanos: Int64 = 5_000_000_000

    /// The supervisor's last step: every bridge nobody uses is marked idle from now (its
    /// `idle` file); true if there is one, and then the caller starts `lingerThenTeardown`
    /// in a process of its own. A lease taken meanwhile removes the mark.
    public static func markUnusedIdle() -> Bool {
        guard Files.exists(dir) else { return false }
        return (try? withLock {
            var any = false
            for b in bridges() where leases(b).isEmpty {
                try? Files.writeAtomic(bridgeDir(b) + "/idle", Array(String(Time.monotonicNanos()).utf8), mode: 0o600)
                any = true
            }
            return any
        }) ?? false
    }

    /// Waits out the linger, then takes down every bridge idle for that long. A bridge used
    /// and left again meanwhile has a newer mark, and its own lingerer.
    public static func lingerThenTeardown() {
        let deadline = Time.monotonicNanos() + lingerNanos
        while case let left = deadline - Time.monotonicNanos(), left > 0 { usleep(UInt32(min(left / 1000, 500_000))) }
        guard Files.exists(dir) else { return }
        _ = try? withLock {
            let now = Time.monotonicNanos()
            for b in bridges() {
                guard let mark = try? Files.readString(bridgeDir(b) + "/idle"), let t = Int64(mark.trimmed()),
                      now - t >= lingerNanos else { continue }
                teardownIfUnused(b)
            }
        }
    }

    static func drop(_ l: Lease, bridgeGoes: Bool = false, deleteVeth: Bool = true) {
        // A table about to be deleted takes its map elements with it.
        if !bridgeGoes, let t = l.PortTable, let ports = l.Ports, !ports.isEmpty { NFT.unpublish(table: t, ports) }
        if deleteVeth, let nl = try? Netlink() { _ = try? nl.delete(l.HostVeth) }
        unlink(bridgeDir(l.Bridge) + "/leases/" + l.IP)
    }

    /// Leases of containers or supervisors that are gone (a deleted root, a SIGKILLed
    /// supervisor whose container was never removed): their ports and addresses come back.
    static func collectStale() {
        var touched: [String] = []
        for l in allLeases() where isStale(l) {
            drop(l)
            touched.append(l.Bridge)
        }
        for b in Set(touched) { teardownIfUnused(b) }
        refreshHosts(bridges: touched)
    }

    /// `rename`: the container's name on its networks, and the hosts files that list it.
    public static func rename(containerID: String, root: String, to name: String) {
        guard Files.exists(dir) else { return }
        _ = try? withLock {
            var touched: [String] = []
            for var l in allLeases() where l.ContainerID == containerID && l.Root == root {
                l.Name = name
                try saveLease(l)
                touched.append(l.Bridge)
            }
            refreshHosts(bridges: touched)
        }
    }

    public static func leases(root: String, containerID: String) -> [Lease] {
        allLeases().filter { $0.Root == root && $0.ContainerID == containerID }.sorted { $0.Interface < $1.Interface }
    }

    /// The containers on a bridge (any root), live ones only.
    public static func endpoints(bridge: String) -> [Lease] { leases(bridge).filter { !isStale($0) } }

    /// Who publishes a host port (name and store root), to say so when it is taken.
    public static func publisher(of p: PortBinding) -> String? {
        for l in allLeases() where !isStale(l) {
            for q in l.Ports ?? [] where q.proto == p.proto && (p.hostPort...max(p.hostPort, p.hostPortEnd)).contains(q.hostPort)
                && (q.hostIP.isEmpty || p.hostIP.isEmpty || q.hostIP == p.hostIP) {
                return "\(l.Name) (store \(l.Root))"
            }
        }
        return nil
    }

    // MARK: hosts files

    /// On a user-defined network every container finds the others by name, alias and short
    /// ID through its /etc/hosts, rewritten in place (it is bind-mounted) when one joins or
    /// leaves. Docker's default bridge resolves no names.
    static func refreshHosts(bridges: [String]) {
        let all = allLeases()
        let affected = Set(all.filter { bridges.contains($0.Bridge) }.map { $0.ContainerID + "\u{0}" + $0.Root })
        for key in affected {
            let mine = all.filter { $0.ContainerID + "\u{0}" + $0.Root == key }
            guard let first = mine.first else { continue }
            try? writeInPlace(first.HostsPath, hostsFile(for: mine, all: all))
        }
    }

    public static func hostsFile(for mine: [Lease], all: [Lease]) -> String {
        guard let first = mine.first else { return "" }
        var s = first.HostsBase
        for l in mine { s += "\(l.IP)\t\(l.Hostname)\n" }
        let nets = Set(mine.filter { !$0.isDefaultNetwork }.map { $0.Bridge })
        var seen = Set<String>()
        for p in all where nets.contains(p.Bridge) && !(p.ContainerID == first.ContainerID && p.Root == first.Root) {
            let names = [p.Name] + p.Aliases + [String(p.ContainerID.prefix(12))]
            let line = "\(p.IP)\t" + names.joined(separator: " ")
            if seen.insert(line).inserted { s += line + "\n" }
        }
        return s
    }

    /// A bind-mounted file keeps its inode: truncate and write, never rename.
    public static func writeInPlace(_ path: String, _ content: String) throws {
        let fd = try FD.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode: 0o644)
        try fd.writeAll(Array(content.utf8))
    }
}

extension Lease {
    var isDefaultNetwork: Bool { Network == "bridge" }
}
