import CShim
import OS
#if canImport(Glibc)
import Glibc
#endif

/// An rtnetlink socket in one network namespace; errors name the request and the link.
struct Netlink {
    let fd: FD
    let place: String

    /// In our namespace, or (netns given) in that one.
    init(netns: Int32 = -1, place: String = "host") throws {
        let rc = sr_nl_open(netns)
        guard rc >= 0 else { throw SysError("socket(NETLINK_ROUTE) in the \(place) network namespace", errno: -rc) }
        fd = FD(rc)
        self.place = place
    }

    func check(_ rc: Int32, _ what: String, _ link: String) throws {
        guard rc == 0 else { throw SysError("netlink \(what)", "\(link) (\(place))", errno: -rc) }
    }

    func index(_ name: String) -> Int32? {
        let i = sr_nl_link_index(fd.raw, name)
        return i > 0 ? i : nil
    }

    /// Returns false when it was already there.
    func addBridge(_ name: String) throws -> Bool {
        let rc = sr_nl_bridge_add(fd.raw, name)
        if rc == -EEXIST { return false }
        try check(rc, "RTM_NEWLINK bridge", name)
        return true
    }

    func addVeth(_ host: String, peer: String, peerNetns: Int32, mtu: UInt32 = 0) throws {
        try check(sr_nl_veth_add(fd.raw, host, peer, peerNetns, mtu), "RTM_NEWLINK veth (peer \(peer))", host)
    }

    func setUp(_ name: String, master: Int32 = 0) throws {
        guard let i = index(name) else { throw SysError("if_nametoindex", "\(name) (\(place))", errno: ENODEV) }
        try check(sr_nl_link_set(fd.raw, i, 1, master), "RTM_NEWLINK up" + (master > 0 ? " master \(master)" : ""), name)
    }

    /// A device known by its index (quiet: it may be gone already).
    func delete(index: Int32) { _ = sr_nl_link_del(fd.raw, index) }

    /// Returns false when there was no such link.
    @discardableResult
    func delete(_ name: String) throws -> Bool {
        guard let i = index(name) else { return false }
        let rc = sr_nl_link_del(fd.raw, i)
        if rc == -ENODEV { return false }
        try check(rc, "RTM_DELLINK", name)
        return true
    }

    func addAddress(_ name: String, _ ip: IPv4, prefix: Int) throws {
        guard let i = index(name) else { throw SysError("if_nametoindex", "\(name) (\(place))", errno: ENODEV) }
        let rc = sr_nl_addr4_add(fd.raw, i, ip.networkOrder, Int32(prefix))
        if rc == -EEXIST { return }
        try check(rc, "RTM_NEWADDR \(ip)/\(prefix)", name)
    }

    func addDefaultRoute(via gw: IPv4, dev name: String) throws {
        guard let i = index(name) else { throw SysError("if_nametoindex", "\(name) (\(place))", errno: ENODEV) }
        try check(sr_nl_route4_default(fd.raw, gw.networkOrder, i), "RTM_NEWROUTE default via \(gw)", name)
    }
}
