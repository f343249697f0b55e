import Network
import OCI
import OS
#if canImport(Glibc)
import Glibc
#endif

/// Docker's {"HostIp": "", "HostPort": "8000"}.
public struct HostPort: Codable, Equatable {
    public var HostIp: String
    public var HostPort: String
}

/// Docker's NetworkSettings, as the supervisor records it for a running container.
public struct NetworkSettings: Codable, Equatable {
    public var Ports: [String: [HostPort]] = [:]
    public var Networks: [String: EndpointSettings] = [:]
    public var SandboxKey = ""
    /// The default bridge's address, at the top level as Docker has it.
    public var IPAddress = ""
    public var Gateway = ""
    public var IPPrefixLen = 0
    public init() {}

    /// `ps`'s PORTS column: "0.0.0.0:8000->8080/tcp, 127.0.0.1:9000->9000/udp".
    public var portsColumn: String {
        Ports.sorted { $0.key < $1.key }.flatMap { key, hosts in
            hosts.map { "\($0.HostIp.isEmpty ? "0.0.0.0" : $0.HostIp):\($0.HostPort)->\(key)" }
        }.joined(separator: ", ")
    }
}

extension NetworkSettings {
    mutating func add(_ l: Lease) {
        Networks[l.Network] = EndpointSettings(NetworkID: l.NetworkID, Gateway: l.Gateway, IPAddress: l.IP, IPPrefixLen: l.PrefixLen,
                                               Aliases: l.Aliases, Interface: l.Interface)
        if l.Network == "bridge" {
            IPAddress = l.IP
            Gateway = l.Gateway
            IPPrefixLen = l.PrefixLen
        }
    }
}

public struct EndpointSettings: Codable, Equatable {
    public var NetworkID: String
    public var Gateway: String
    public var IPAddress: String
    public var IPPrefixLen: Int
    public var Aliases: [String]
    public var Interface: String
}

/// --network: bridge (default), none, host, container:<name|id>, or a user network.
public enum NetworkMode: Equatable {
    case bridge(String)          // a network name ("bridge" or user-defined)
    case none
    case host
    case container(String)       // the other container's ID

    public init(_ s: String?, engine: Engine) throws {
        let v = s ?? "bridge"
        switch v {
        case "", "bridge", "default": self = .bridge("bridge")
        case "none": self = .none
        case "host": self = .host
        default:
            if v.hasPrefix("container:") {
                let ref = String(v.dropFirst("container:".count))
                self = .container(try engine.resolve(ref))
            } else {
                self = .bridge(try NetworkStore(root: engine.store.root).get(v).Name)
            }
        }
    }

    /// As HostConfig.NetworkMode records it.
    public var recorded: String {
        switch self {
        case .bridge(let n): return n
        case .none: return "none"
        case .host: return "host"
        case .container(let id): return "container:" + id
        }
    }
}

extension Container {
    public var networkMode: String { self.HostConfig.NetworkMode ?? "none" }
}

extension Engine {
    public var networks: NetworkStore { NetworkStore(root: store.root) }
    func hostsPath(_ id: String) -> String { dir(id) + "/hosts" }
    func resolvPath(_ id: String) -> String { dir(id) + "/resolv.conf" }
    func hostnamePath(_ id: String) -> String { dir(id) + "/hostname" }

    /// The flags' ports: -p specs, and with -P the image's ExposedPorts on ephemeral ports.
    static func ports(_ specs: [String], publishAll: Bool, exposed: [String]) throws -> [PortBinding] {
        var out: [PortBinding] = []
        for s in specs {
            do { out += try PortBinding.parse(s) } catch { throw Failure("\(error)") }
        }
        if publishAll {
            for e in exposed {
                guard let p = PortBinding.exposed(e) else { continue }
                if !out.contains(where: { $0.containerPort == p.port && $0.proto == p.proto }) {
                    out.append(PortBinding(hostIP: "", hostPort: 0, containerPort: p.port, proto: p.proto))
                }
            }
        }
        var seen = Set<String>()
        for p in out where p.hostPort != 0 {
            let k = "\(p.hostIP):\(p.hostPort)/\(p.proto)"
            guard seen.insert(k).inserted else { throw Failure("invalid port spec: host port \(k) is published twice") }
        }
        return out
    }

    static func dockerBindings(_ ports: [PortBinding]) -> [String: [HostPort]] {
        var out: [String: [HostPort]] = [:]
        for p in ports {
            let hp = p.hostPort == 0 ? "" : p.hostPortEnd > p.hostPort ? "\(p.hostPort)-\(p.hostPortEnd)" : "\(p.hostPort)"
            out[p.key, default: []].append(HostPort(HostIp: p.hostIP, HostPort: hp))
        }
        return out
    }

    /// /etc/hosts, /etc/resolv.conf, /etc/hostname: files of the container's directory,
    /// bind-mounted (with --network container: the other container's).
    func writeNetworkFiles(_ id: String, mode: NetworkMode, hostname: String, dns: [String], dnsSearch: [String],
                           dnsOptions: [String], extraHosts: [(host: String, ip: String)]) throws {
        let hostResolv = (try? Files.readString("/etc/resolv.conf")) ?? ""
        switch mode {
        case .host:
            try Files.writeAtomic(resolvPath(id), Array((dns.isEmpty && dnsSearch.isEmpty && dnsOptions.isEmpty ? hostResolv
                : HostFiles.resolvConf(host: hostResolv, dns: dns, search: dnsSearch, options: dnsOptions)).utf8))
            var hosts = (try? Files.readString("/etc/hosts")) ?? HostFiles.hostsBase(extra: [])
            for e in extraHosts { hosts += "\(e.ip)\t\(e.host)\n" }
            try Files.writeAtomic(hostsPath(id), Array(hosts.utf8))
        case .container:
            return
        case .none, .bridge:
            var resolv = HostFiles.resolvConf(host: hostResolv, dns: dns, search: dnsSearch, options: dnsOptions)
            // On a user network the supervisor answers its names on 127.0.0.11 (NameServer),
            // first; the rest it refuses, and the resolver asks the next server.
            if case .bridge(let net) = mode, net != "bridge" { resolv = "nameserver \(DNS.address)\n" + resolv }
            try Files.writeAtomic(resolvPath(id), Array(resolv.utf8))
            // The address line comes when the container gets one (HostNetwork.plug).
            try Files.writeAtomic(hostsPath(id), Array((HostFiles.hostsBase(extra: extraHosts) + "127.0.1.1\t\(hostname)\n").utf8))
        }
        try Files.writeAtomic(hostnamePath(id), Array((hostname + "\n").utf8))
    }

    static func parseExtraHosts(_ list: [String]) throws -> [(host: String, ip: String)] {
        try list.map { e in
            // host:ip, or Docker 25's host=ip; IPv6 addresses contain ':' so split at the first.
            let sep = e.firstIndex(of: "=") ?? e.firstIndex(of: ":")
            guard let i = sep else { throw Failure("invalid --add-host '\(e)': use HOST:IP") }
            let host = String(e[..<i]), ip = String(e[e.index(after: i)...])
            guard !host.isEmpty, IPv4(ip) != nil || ip.contains(":") || ip == "host-gateway" else {
                throw Failure("invalid --add-host '\(e)': use HOST:IP (an IP address or host-gateway)")
            }
            return (host, ip)
        }
    }

    /// An address for the container on a network (the bridge is made if needed).
    func lease(_ id: String, _ c: Container, network net: NetworkRecord, aliases: [String], interface: String,
               supervisor: (pid: Int32, start: UInt64)) throws -> Lease {
        let extra = try Engine.parseExtraHosts(c.HostConfig.ExtraHosts ?? []).map { ($0.host, $0.ip == "host-gateway" ? net.Gateway : $0.ip) }
        return try HostNetwork.lease(.init(
            network: net, root: store.root, containerID: id, name: c.Name, aliases: aliases, hostname: c.Config.Hostname,
            interface: interface, hostsPath: hostsPath(id), hostsBase: HostFiles.hostsBase(extra: extra),
            supervisorPid: supervisor.pid, supervisorStart: supervisor.start))
    }

    /// `network connect`: recorded for every later start; a running container gets its
    /// interface now (eth1, eth2, ...).
    public func connect(_ ref: String, network: String, aliases: [String]) throws {
        let id = try resolve(ref)
        var c = try load(id)
        let net = try networks.get(network)
        guard case .bridge(let primary) = try NetworkMode(c.networkMode, engine: self) else {
            throw Failure("container \(c.Name) uses --network \(c.networkMode): a container sharing the host's or another container's network namespace, or with none, cannot be connected to a network")
        }
        var extra = c.HostConfig.ConnectedNetworks ?? []
        guard primary != net.Name, !extra.contains(where: { $0.Name == net.Name }) else {
            throw Failure("endpoint with name \(c.Name) already exists in network \(net.Name)")
        }
        if net.isDefault && !aliases.isEmpty { throw Failure("network-scoped aliases are only supported for user-defined networks") }
        extra.append(.init(Name: net.Name, Aliases: aliases))
        let v = try view(id)
        if v.state.Running, v.state.Pid > 0 {
            let lease = try self.lease(id, c, network: net, aliases: aliases, interface: "eth\(extra.count)",
                                       supervisor: (v.state.SupervisorPid, v.state.SupervisorStart))
            do {
                let ns = try FD.open("/proc/\(v.state.Pid)/ns/net", O_RDONLY | O_CLOEXEC)
                _ = try HostNetwork.plug(lease, netns: ns.raw, ports: [], defaultRoute: false)
            } catch {
                HostNetwork.release(containerID: id, root: store.root, onlyNetwork: net.Id)
                throw error
            }
        }
        c.HostConfig.ConnectedNetworks = extra
        try Files.writeAtomic(dir(id) + "/config.json", try JSON.encode(c), mode: 0o600)
    }

    /// `network disconnect`: only a network joined with connect (the first stays).
    public func disconnect(_ ref: String, network: String) throws {
        let id = try resolve(ref)
        var c = try load(id)
        let net = try networks.get(network)
        var extra = c.HostConfig.ConnectedNetworks ?? []
        guard let i = extra.firstIndex(where: { $0.Name == net.Name }) else {
            if c.networkMode == net.Name {
                throw Failure("container \(c.Name) was created on network \(net.Name): it can be disconnected only from networks joined with `network connect`")
            }
            throw Failure("container \(c.Name) is not connected to network \(net.Name)")
        }
        extra.remove(at: i)
        HostNetwork.release(containerID: id, root: store.root, onlyNetwork: net.Id)
        c.HostConfig.ConnectedNetworks = extra
        try Files.writeAtomic(dir(id) + "/config.json", try JSON.encode(c), mode: 0o600)
    }

    /// What inspect shows: the supervisor's record, with the networks as the leases have
    /// them now (`network connect` adds one to a running container).
    public func networkSettings(_ v: ContainerView) -> NetworkSettings {
        guard v.state.Running, var n = v.state.NetworkSettings else { return Self.NetworkSettingsOf(stopped: v.container) }
        n.Networks = [:]
        for l in HostNetwork.leases(root: store.root, containerID: v.container.Id) { n.add(l) }
        return n
    }

    /// inspect's ResolvConfPath, HostnamePath, HostsPath.
    public func networkFilePaths(_ c: Container) -> (resolv: String, hostname: String, hosts: String) {
        let owner = c.networkMode.hasPrefix("container:") ? String(c.networkMode.dropFirst("container:".count)) : c.Id
        return (resolvPath(owner), hostnamePath(owner), hostsPath(owner))
    }

    /// A stopped container's NetworkSettings: no address, ports as asked (Docker shows none).
    public static func NetworkSettingsOf(stopped c: Container) -> NetworkSettings {
        var n = NetworkSettings()
        for k in (c.HostConfig.PortBindings ?? [:]).keys { n.Ports[k] = [] }
        return n
    }

    func networkMounts(_ id: String, mode: NetworkMode) -> [Spec.Mount] {
        let owner: String
        switch mode {
        case .container(let other): owner = other
        default: owner = id
        }
        return [("/etc/hosts", hostsPath(owner)), ("/etc/resolv.conf", resolvPath(owner)), ("/etc/hostname", hostnamePath(owner))].map {
            Spec.Mount(destination: $0.0, type: "bind", source: $0.1, options: ["rbind", "rprivate"])
        }
    }
}

/// Host ports held open (bound, never listening) for as long as the supervisor lives: the
/// kernel then refuses the port to anybody else, and DNAT takes the traffic before it
/// would reach these sockets. A port in use fails here, before the container starts.
struct PortReservations: Codable {
    var fds: [FD] = []
    var ports: [PortBinding] = []

    /// `listening`: for the relay, which will listen: SO_REUSEADDR, or connections it closed
    /// (TIME_WAIT on the port) would keep the next start from binding; a listening socket
    /// still keeps everybody else off the port.
    static func reserve(_ wanted: [PortBinding], listening: Bool = false, holders: (PortBinding) -> String?) throws -> PortReservations {
        var r = PortReservations()
        for w in wanted {
            var got: (FD, Int)? = nil
            var lastErr: Int32 = 0
            for port in w.hostPort...max(w.hostPort, w.hostPortEnd) {
                do {
                    got = try bind(ip: w.hostIP, port: port, proto: w.proto, reuse: listening)
                    break
                } catch let e as SysError {
                    lastErr = e.errno
                }
            }
            guard let (fd, port) = got else {
                let addr = "\(w.hostIP.isEmpty ? "0.0.0.0" : w.hostIP):\(w.hostPortEnd > w.hostPort ? "\(w.hostPort)-\(w.hostPortEnd)" : "\(w.hostPort)")/\(w.proto)"
                if lastErr == EADDRINUSE {
                    let who = holders(w).map { "container \($0) publishes it" }
                        ?? Proc.portHolder(w.hostPort, proto: w.proto).map { h in
                            ["swiftrun-superv", "swiftrun-idle"].contains(h.comm) ? "a swiftrun container of another store root publishes it (its supervisor is pid \(h.pid))"
                                                          : "pid \(h.pid) (\(h.comm)) of the host holds it" }
                        ?? "a process of the host listens on it, or a container of another store root publishes it"
                    throw Failure("Bind for \(addr) failed: port is already allocated (\(who)); choose another host port, e.g. -p \(w.hostPort == 0 ? "" : "\(w.hostPort + 1):")\(w.containerPort)")
                }
                throw Failure("cannot publish \(addr): bind: \(SysError.describe(lastErr))")
            }
            r.fds.append(fd)
            var p = w
            p.hostPort = port
            p.hostPortEnd = port
            r.ports.append(p)
        }
        return r
    }

    /// For the relay (--network none): the reserved TCP sockets start listening; UDP ones
    /// are read as they are.
    func listen() throws -> [PortRelay.Listener] {
        try zip(fds, ports).map { fd, p in
            _ = fcntl(fd.raw, F_SETFL, O_NONBLOCK)
            if p.proto != "udp" {
                guard Glibc.listen(fd.raw, 511) == 0 else { throw SysError("listen", "\(p.hostIP.isEmpty ? "0.0.0.0" : p.hostIP):\(p.hostPort)") }
            }
            return PortRelay.Listener(fd: fd.raw, containerPort: p.containerPort, udp: p.proto == "udp")
        }
    }

    static func bind(ip: String, port: Int, proto: String, reuse: Bool) throws -> (FD, Int) {
        let fd = FD(socket(AF_INET, Int32(proto == "udp" ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0))
        guard fd.raw >= 0 else { throw SysError("socket") }
        var one: Int32 = 1
        if reuse { setsockopt(fd.raw, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        sa.sin_addr.s_addr = (IPv4(ip) ?? IPv4(0)).networkOrder
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd.raw, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw SysError("bind", "\(ip.isEmpty ? "0.0.0.0" : ip):\(port)/\(proto)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd.raw, $0, &len) } }
        return (fd, Int(UInt16(bigEndian: sa.sin_port)))
    }
}
