import Foundation
import XCTest

/// Networking as a user meets it: `-p` reached from the host, the bridge's outbound NAT,
/// user networks resolving names, the other modes, and nothing left after stop/rm/kill -9.
/// Traffic goes only over loopback, the host's own address and namespaces made here.
final class NetworkTests: EngineTestCase {
    func sh(_ cmd: String) throws -> TestBundle.Result { try TestBundle.exec("/bin/sh", ["-c", cmd]) }

    func curl(_ url: String) throws -> TestBundle.Result { try TestBundle.exec("/usr/bin/curl", ["-sS", "-m", "5", url]) }

    /// The host's first global IPv4 address (not loopback), if it has one.
    func hostAddress() throws -> String? {
        let r = try sh("ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1")
        let a = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        return a.isEmpty ? nil : a
    }

    /// `swiftrun port NAME PORT` → the host port.
    func hostPort(_ ref: String, _ port: String) throws -> Int {
        let r = try swiftrun(["port", ref, port])
        XCTAssertEqual(r.code, 0, r.err)
        return Int(r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").last ?? "") ?? 0
    }

    func ipOf(_ ref: String, network: String = "bridge") throws -> String {
        let nets = (try inspect(ref)["NetworkSettings"] as? [String: Any])?["Networks"] as? [String: Any]
        return (nets?[network] as? [String: Any])?["IPAddress"] as? String ?? ""
    }

    /// Two free TCP ports in a row: p and p+1.
    func freePortPair() -> Int {
        while true {
            let p = freePort()
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = UInt16(p + 1).bigEndian
            let ok = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
            close(fd)
            if ok && p < 65535 { return p }
        }
    }

    func waitHTTP(_ url: String) throws -> String {
        var body = ""
        try waitUntil(10, "\(url) answers") {
            let r = try curl(url)
            body = r.out
            return r.code == 0
        }
        return body
    }

    // MARK: publishing

    func testPublishedPortReachableFromLoopbackAndHostAddress() throws {
        let port = freePort()
        let id = try runDetached(["--name", "web", "--no-healthcheck", "-p", "\(port):8080", image])
        XCTAssertEqual(try waitHTTP("http://127.0.0.1:\(port)/"), "<h1>hello from swiftrun</h1>\n")
        if let addr = try hostAddress() {
            XCTAssertEqual(try curl("http://\(addr):\(port)/").out, "<h1>hello from swiftrun</h1>\n")
        }
        let ps = try swiftrun(["ps", "--format", "{{.Ports}}"])
        XCTAssertEqual(ps.out, "0.0.0.0:\(port)->8080/tcp\n")
        XCTAssertEqual(try swiftrun(["port", "web"]).out, "8080/tcp -> 0.0.0.0:\(port)\n")
        // The templates Docker's documentation uses for these.
        let f = try swiftrun(["inspect", "-f", #"{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} {{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostPort}}"#, "web"])
        XCTAssertTrue(f.out.hasPrefix("10.88.") && f.out.hasSuffix(" \(port)\n"), f.out + f.err)
        let ns = try inspect(id)["NetworkSettings"] as? [String: Any]
        XCTAssertEqual((ns?["Ports"] as? [String: Any])?.keys.sorted(), ["8080/tcp"])
        XCTAssertTrue((ns?["IPAddress"] as? String ?? "").hasPrefix("10.88."), "\(ns ?? [:])")
        // The container's /etc/hosts names it by its address; resolv.conf has no loopback server.
        let files = try swiftrun(["exec", "web", "sh", "-c", "cat /etc/hosts; cat /etc/resolv.conf; ip route"])
        XCTAssertTrue(files.out.contains("\(ns?["IPAddress"] as? String ?? "?")\t\(id.prefix(12))"), files.out)
        XCTAssertFalse(files.out.contains("nameserver 127."), files.out)
        XCTAssertTrue(files.out.contains("default via 10.88.0.1 dev eth0"), files.out)
        // From another container through the host's addresses: out of the bridge, DNAT'ed
        // back into it (the hairpin masquerade makes the answer come back the same way).
        _ = try runDetached(["--name", "client", "--no-healthcheck", "--entrypoint", "sleep", image, "1000"])
        for addr in ["10.88.0.1"] + [try hostAddress()].compactMap({ $0 }) {
            let r = try swiftrun(["exec", "client", "timeout", "5", "wget", "-q", "-O", "-", "http://\(addr):\(port)/"])
            XCTAssertEqual(r.out, "<h1>hello from swiftrun</h1>\n", "via \(addr): " + r.err)
        }
        XCTAssertEqual(try swiftrun(["rm", "-f", "client"]).code, 0)
        // Stopped: the port is free again (no rule, no reservation), and the next run gets it.
        XCTAssertEqual(try swiftrun(["stop", "-t", "1", "web"]).code, 0)
        XCTAssertNotEqual(try curl("http://127.0.0.1:\(port)/").code, 0)
        XCTAssertEqual(try swiftrun(["ps", "-a", "--format", "{{.Ports}}"]).out, "\n")
        _ = try runDetached(["--name", "web2", "--no-healthcheck", "-p", "\(port):8080", image])
        XCTAssertEqual(try waitHTTP("http://127.0.0.1:\(port)/"), "<h1>hello from swiftrun</h1>\n")
    }

    func testHostIPBindingRangesAndPublishAll() throws {
        // 127.0.0.1 only, an ephemeral host port.
        _ = try runDetached(["--name", "local", "--no-healthcheck", "-p", "127.0.0.1::8080", image])
        let p = try hostPort("local", "8080")
        XCTAssertGreaterThan(p, 0)
        XCTAssertEqual(try swiftrun(["port", "local", "8080/tcp"]).out, "127.0.0.1:\(p)\n")
        XCTAssertEqual(try waitHTTP("http://127.0.0.1:\(p)/"), "<h1>hello from swiftrun</h1>\n")
        if let addr = try hostAddress() {
            XCTAssertNotEqual(try curl("http://\(addr):\(p)/").code, 0, "bound to 127.0.0.1 only")
        }
        // A range: two servers, two ports.
        let base = freePortPair()
        _ = try runDetached(["--name", "two", "--no-healthcheck", "-p", "\(base)-\(base + 1):8000-8001", "--entrypoint", "sh", image,
                             "-c", "httpd -p 8000 -h /www; exec httpd -f -p 8001 -h /www"])
        XCTAssertEqual(try swiftrun(["port", "two"]).out, "8000/tcp -> 0.0.0.0:\(base)\n8001/tcp -> 0.0.0.0:\(base + 1)\n")
        XCTAssertEqual(try waitHTTP("http://127.0.0.1:\(base)/health"), "ok\n")
        XCTAssertEqual(try waitHTTP("http://127.0.0.1:\(base + 1)/health"), "ok\n")
        // -P: the image's EXPOSE 8080/tcp on an ephemeral port.
        _ = try runDetached(["--name", "all", "--no-healthcheck", "-P", image])
        let q = try hostPort("all", "8080/tcp")
        XCTAssertGreaterThan(q, 0)
        XCTAssertEqual(try waitHTTP("http://127.0.0.1:\(q)/health"), "ok\n")
    }

    func testPublishWithNetworkNoneGoesThroughTheRelay() throws {
        let port = freePort()
        let id = try runDetached(["--name", "iso", "--network", "none", "-u", "root", "--no-healthcheck", "-p", "127.0.0.1:\(port):8080",
                                  "--entrypoint", "sh", image, "-c", "head -c 4194304 /dev/urandom > /tmp/big && cp /www/index.html /tmp/ && exec httpd -f -p 8080 -h /tmp"])
        XCTAssertEqual(try waitHTTP("http://127.0.0.1:\(port)/index.html"), "<h1>hello from swiftrun</h1>\n")
        // 4 MiB both ways through the relay, byte for byte.
        let sum = try sh("curl -sS -m 10 http://127.0.0.1:\(port)/big | sha256sum | cut -c1-64").out
        let inside = try swiftrun(["exec", "-u", "0", "iso", "sh", "-c", "sha256sum /tmp/big | cut -c1-64"]).out
        XCTAssertEqual(sum, inside)
        XCTAssertEqual(sum.count, 65)
        // Twenty at once, then none left open in the supervisor.
        let sup = Int32(try state(id)["SupervisorPid"] as? Int ?? 0)
        let fdsBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(sup)/fd").count) ?? -1
        XCTAssertEqual(try sh("for i in $(seq 20); do curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:\(port)/index.html & done; wait").out
                        .split(separator: "\n").filter { $0 == "200" }.count, 20)
        waitUntil(5, "the relay to close what it opened") {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(sup)/fd").count) == fdsBefore
        }
        XCTAssertEqual(try swiftrun(["port", "iso"]).out, "8080/tcp -> 127.0.0.1:\(port)\n")
        XCTAssertFalse(try sh("ip -o link").out.contains("sr" + id.prefix(10)), "no veth in none mode")
    }

    func testUDPPublished() throws { try udpEcho([]) }

    /// With --network none the supervisor relays datagrams per client.
    func testUDPThroughTheRelay() throws { try udpEcho(["--network", "none"]) }

    func udpEcho(_ mode: [String]) throws {
        // busybox's nc has no UDP: the echo server is a host python3 entering the
        // container's network namespace, which is where the DNAT (or the relay) takes the datagram.
        let port = freePort()
        let id = try runDetached(mode + ["--name", "udp", "--no-healthcheck", "-p", "127.0.0.1:\(port):5353/udp", "--entrypoint", "sleep", image, "100"])
        let pid = try state(id)["Pid"] as? Int ?? 0
        let echo = Process()
        echo.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        echo.arguments = ["--net=/proc/\(pid)/ns/net", "python3", "-c",
                          "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',5353))\nd,a=s.recvfrom(100)\ns.sendto(b'echo:'+d,a)"]
        try echo.run()
        defer { if echo.isRunning { echo.terminate() } }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        var got = ""
        waitUntil(10, "the datagram echoed through the published port") {
            let msg = "ping"
            _ = withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, msg, msg.utf8.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            var buf = [UInt8](repeating: 0, count: 100)
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 { got = String(decoding: buf[0..<n], as: UTF8.self) }
            return n > 0
        }
        XCTAssertEqual(got, "echo:ping")
    }

    func testPortConflictsAndBadSpecsFailBeforeStart() throws {
        let port = freePort()
        _ = try runDetached(["--name", "first", "--no-healthcheck", "-p", "\(port):8080", image])
        let r = try swiftrun(["run", "-d", "--name", "second", "-p", "\(port):8080", image])
        XCTAssertEqual(r.code, 125)
        XCTAssertTrue(r.err.contains("port is already allocated") && r.err.contains("first"), r.err)
        XCTAssertEqual(try inspect("second")["State"].flatMap { ($0 as? [String: Any])?["Status"] as? String }, "created")
        // A host process listening on the port.
        let l = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(l) }
        let busy = freePort()
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(busy).bigEndian
        XCTAssertEqual(withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(l, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }, 0)
        XCTAssertEqual(listen(l, 1), 0)
        let h = try swiftrun(["run", "-d", "--name", "third", "-p", "\(busy):8080", image])
        XCTAssertEqual(h.code, 125)
        XCTAssertTrue(h.err.contains("port is already allocated"), h.err)
        // Bad specs: refused at create, no container made.
        for bad in ["80000:80", "abc", "1.2.3:80:80", "8000:80/sctp", "8000-8002:80-81"] {
            let b = try swiftrun(["create", "--name", "bad", "-p", bad, image])
            XCTAssertEqual(b.code, 125, bad)
            XCTAssertTrue(b.err.contains("invalid port spec '\(bad)'") || b.err.contains("not supported"), b.err)
        }
        XCTAssertEqual(try swiftrun(["ps", "-a", "-q"]).out.split(separator: "\n").count, 3)
    }

    // MARK: modes

    func testNoneHostAndContainerModes() throws {
        let none = try swiftrun(["run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", "ip -o link | cut -d: -f2 | tr -d ' '"])
        XCTAssertEqual(none.out, "lo\n", none.err)
        let hostLinks = try sh("ip -o link | wc -l").out
        let host = try swiftrun(["run", "--rm", "--network", "host", "--entrypoint", "sh", image, "-c", "ip -o link | wc -l; hostname"])
        var hn = [CChar](repeating: 0, count: 256)
        gethostname(&hn, 255)
        XCTAssertEqual(host.out, hostLinks + String(cString: hn) + "\n", host.err)
        let hp = try swiftrun(["run", "--rm", "--network", "host", "-p", "8080:8080", "--entrypoint", "true", image])
        XCTAssertTrue(hp.err.contains("Published ports are discarded when using host network mode"), hp.err)
        // container:NAME shares the netns: the second reaches the first's server on 127.0.0.1.
        _ = try runDetached(["--name", "srv", "--no-healthcheck", image])
        let ip = try ipOf("srv")
        let side = try swiftrun(["run", "--rm", "--network", "container:srv", "--entrypoint", "sh", image, "-c",
                                 "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:8080/health && break; sleep 0.2; done; ip -4 -o addr show eth0 | awk '{print $4}'"])
        XCTAssertEqual(side.out, "ok\n\(ip)/16\n", side.err)
        let bad = try swiftrun(["run", "--rm", "--network", "container:srv", "-p", "80:80", image])
        XCTAssertEqual(bad.code, 125)
        XCTAssertTrue(bad.err.contains("conflicting options"), bad.err)
        let missing = try swiftrun(["run", "--rm", "--network", "nosuchnet", image])
        XCTAssertEqual(missing.code, 125)
        XCTAssertTrue(missing.err.contains("network nosuchnet not found"), missing.err)
    }

    /// `rename` of a running container: the other containers on its network resolve the new
    /// name and no longer the old one; the old name is free.
    func testRenameOnAUserNetwork() throws {
        XCTAssertEqual(try swiftrun(["network", "create", "renamenet"]).code, 0)
        defer { _ = try? swiftrun(["network", "rm", "renamenet"]) }
        _ = try runDetached(["--name", "first", "--network", "renamenet", "--no-healthcheck", image])
        _ = try runDetached(["--name", "client", "--network", "renamenet", "--no-healthcheck", image])
        XCTAssertEqual(try swiftrun(["rename", "first", "client"]).code, 1, "the name is taken")
        XCTAssertTrue(try swiftrun(["rename", "first", "first"]).err.contains("same name as its current name"))
        let r = try swiftrun(["rename", "first", "second"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.Name}}", "second"]).out, "/second\n")
        XCTAssertEqual(try swiftrun(["inspect", "first"]).code, 1)
        let hosts = try swiftrun(["exec", "client", "cat", "/etc/hosts"]).out
        XCTAssertTrue(hosts.contains(" second ") || hosts.contains("\tsecond "), hosts)
        XCTAssertFalse(hosts.contains("first"), hosts)
        let get = try swiftrun(["exec", "client", "sh", "-c", "for i in $(seq 25); do wget -q -O - http://second:8080/health && exit 0; sleep 0.2; done; exit 1"])
        XCTAssertEqual(get.out, "ok\n", get.err)
        _ = try runDetached(["--name", "first", "--network", "none", "--no-healthcheck", image]) // the old name is free
    }

    func testUserNetworksResolveNamesAndStayApart() throws {
        XCTAssertEqual(try swiftrun(["network", "create", "appnet"]).code, 0)
        XCTAssertEqual(try swiftrun(["network", "create", "--subnet", "10.99.7.0/24", "other"]).code, 0)
        let dup = try swiftrun(["network", "create", "--subnet", "10.99.7.0/25", "clash"])
        XCTAssertEqual(dup.code, 1)
        XCTAssertTrue(dup.err.contains("overlaps"), dup.err)
        defer { _ = try? swiftrun(["network", "rm", "appnet", "other"]) }
        _ = try runDetached(["--name", "db", "--network", "appnet", "--network-alias", "postgres", "--no-healthcheck", image])
        _ = try runDetached(["--name", "api", "--network", "appnet", "--no-healthcheck", image])
        _ = try runDetached(["--name", "outsider", "--network", "other", "--no-healthcheck", image])
        XCTAssertTrue(try ipOf("outsider", network: "other").hasPrefix("10.99.7."))
        // Retried: the servers may still be starting.
        func fetch(_ from: String, _ url: String) throws -> TestBundle.Result {
            try swiftrun(["exec", from, "sh", "-c", "for i in $(seq 25); do wget -q -O - \(url) && exit 0; sleep 0.2; done; exit 1"])
        }
        for name in ["db", "postgres"] {
            let r = try fetch("api", "http://\(name):8080/health")
            XCTAssertEqual(r.out, "ok\n", "\(name): \(r.err)")
        }
        // db learnt of api, which came later (its hosts file is rewritten in place).
        XCTAssertEqual(try fetch("db", "http://api:8080/health").out, "ok\n")
        // Over DNS too, for tools that ask DNS only: the supervisor answers on 127.0.0.11,
        // the first nameserver; a name it does not know is REFUSED, for the next server.
        // (Asked of 127.0.0.11 alone: no query leaves the host.)
        XCTAssertEqual(lines(try swiftrun(["exec", "api", "cat", "/etc/resolv.conf"]).out).first, "nameserver 127.0.0.11")
        try waitIdle("api") // its name server's socket is polled by swiftrun-idle
        let dbAddress = try ipOf("db", network: "appnet")
        for name in ["postgres", "DB"] {
            let ns = try swiftrun(["exec", "api", "nslookup", name, "127.0.0.11"])
            XCTAssertEqual(ns.code, 0, ns.err)
            XCTAssertTrue(ns.out.contains("Address: \(dbAddress)"), ns.out)
        }
        XCTAssertTrue(try swiftrun(["exec", "db", "nslookup", "api", "127.0.0.11"]).out.contains("Address: \(try ipOf("api", network: "appnet"))"))
        let unknown = try swiftrun(["exec", "api", "nslookup", "nothere", "127.0.0.11"])
        XCTAssertNotEqual(unknown.code, 0)
        XCTAssertTrue((unknown.out + unknown.err).contains("REFUSED"), unknown.out + unknown.err)
        // Not across networks: no name, and no route by address either.
        let across = try swiftrun(["exec", "outsider", "timeout", "3", "wget", "-q", "-O", "-", "http://db:8080/health"])
        XCTAssertNotEqual(across.code, 0)
        let dbIP = try ipOf("db", network: "appnet")
        let byIP = try swiftrun(["exec", "outsider", "timeout", "3", "wget", "-q", "-O", "-", "http://\(dbIP):8080/health"])
        XCTAssertNotEqual(byIP.code, 0, "forwarding between two networks is dropped")
        // Names go when the container goes.
        XCTAssertEqual(try swiftrun(["rm", "-f", "db"]).code, 0)
        XCTAssertFalse(try swiftrun(["exec", "api", "cat", "/etc/hosts"]).out.contains("postgres"))
        let inUse = try swiftrun(["network", "rm", "appnet"])
        XCTAssertNotEqual(inUse.code, 0)
        XCTAssertTrue(inUse.err.contains("api"), inUse.err)
        let ls = try swiftrun(["network", "ls", "--format", "json"])
        XCTAssertEqual(ls.out.split(separator: "\n").count, 5, ls.out)
    }

    func testConnectAndDisconnectARunningContainer() throws {
        XCTAssertEqual(try swiftrun(["network", "create", "front"]).code, 0)
        XCTAssertEqual(try swiftrun(["network", "create", "back"]).code, 0)
        defer { _ = try? swiftrun(["network", "rm", "front", "back"]) }
        _ = try runDetached(["--name", "db", "--network", "back", "--no-healthcheck", image])
        _ = try runDetached(["--name", "api", "--network", "front", "--no-healthcheck", image])
        XCTAssertEqual(try swiftrun(["network", "connect", "--alias", "apiback", "back", "api"]).code, 0)
        let addrs = try swiftrun(["exec", "api", "sh", "-c", "ip -4 -o addr | awk '{print $2}' | tr '\\n' ' '"])
        XCTAssertEqual(addrs.out, "lo eth0 eth1 ")
        let r = try swiftrun(["exec", "api", "sh", "-c", "for i in $(seq 25); do wget -q -O - http://db:8080/health && exit 0; sleep 0.2; done; exit 1"])
        XCTAssertEqual(r.out, "ok\n", r.err)
        XCTAssertTrue(try swiftrun(["exec", "db", "cat", "/etc/hosts"]).out.contains("api apiback"))
        let nets = (try inspect("api")["NetworkSettings"] as? [String: Any])?["Networks"] as? [String: Any]
        XCTAssertEqual(nets?.keys.sorted(), ["back", "front"])
        // Kept for the next start.
        XCTAssertEqual(try swiftrun(["restart", "-t", "0", "api"]).code, 0)
        XCTAssertEqual(try swiftrun(["exec", "api", "sh", "-c", "ip -4 -o addr | awk '{print $2}' | tr '\\n' ' '"]).out, "lo eth0 eth1 ")
        XCTAssertEqual(try swiftrun(["network", "disconnect", "back", "api"]).code, 0)
        XCTAssertEqual(try swiftrun(["exec", "api", "sh", "-c", "ip -4 -o addr | awk '{print $2}' | tr '\\n' ' '"]).out, "lo eth0 ")
        XCTAssertFalse(try swiftrun(["exec", "db", "cat", "/etc/hosts"]).out.contains("api"))
        let first = try swiftrun(["network", "disconnect", "front", "api"])
        XCTAssertEqual(first.code, 1)
        XCTAssertTrue(first.err.contains("created on network front"), first.err)
        let twice = try swiftrun(["network", "connect", "front", "api"])
        XCTAssertTrue(twice.err.contains("already exists in network front"), twice.err)
    }

    func testConcurrentRunsGetDistinctAddresses() throws {
        let n = 8
        var codes = [Int32](repeating: -1, count: n)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let r = try? swiftrun(["run", "-d", "--name", "c\(i)", "--no-healthcheck", image])
            lock.lock()
            codes[i] = r?.code ?? -1
            lock.unlock()
        }
        XCTAssertEqual(codes, [Int32](repeating: 0, count: n))
        let ips = try (0..<n).map { try ipOf("c\($0)") }
        XCTAssertEqual(Set(ips).count, n, "\(ips)")
    }

    /// A stopped container's veth goes with its netns: the kernel deletes it, and the
    /// supervisor waits for that after reporting the exit (stop waits for the supervisor).
    /// Something else holding the netns open does not keep it: the supervisor deletes it.
    func testVethGoesWithTheNetnsEvenWhenHeld() throws {
        let id = try runDetached(["--name", "held", "--no-healthcheck", "--entrypoint", "sleep", image, "1000"])
        let veth = "sr" + id.prefix(10)
        XCTAssertTrue(try sh("ip -o link").out.contains(veth))
        let holder = open("/proc/\(try state(id)["Pid"] as? Int ?? 0)/ns/net", O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(holder, 0)
        XCTAssertEqual(try swiftrun(["stop", "-t", "0", "held"]).code, 0)
        XCTAssertFalse(try sh("ip -o link").out.contains(veth), "gone although this test holds the netns")
        close(holder)
        XCTAssertEqual(try swiftrun(["start", "held"]).code, 0)
        XCTAssertTrue(try sh("ip -o link").out.contains(veth))
        XCTAssertEqual(try swiftrun(["stop", "-t", "0", "held"]).code, 0)
        XCTAssertFalse(try sh("ip -o link").out.contains(veth), "gone with its netns")
    }

    /// A bridge nobody uses stays up for HostNetwork's linger (a loop of `run --rm` finds it
    /// warm, as Docker's docker0), then goes with its table and directory; `network rm` takes
    /// it at once and frees its subnet for the next network.
    func testBridgeLingersWarmThenGoes() throws {
        let subnet = "10.251.93.0/24"
        XCTAssertEqual(try swiftrun(["network", "create", "--subnet", subnet, "warm"]).code, 0)
        defer { _ = try? swiftrun(["network", "rm", "warm"]) }
        let bridge = try XCTUnwrap(try networkBridge("warm"))
        for _ in 0..<2 {
            let r = try swiftrun(["run", "--rm", "--network", "warm", "--entrypoint", "true", image])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertTrue(try sh("ip -o link show \(bridge)").code == 0, "kept warm after its last container")
            XCTAssertTrue(try sh("nft list tables").out.contains("swiftrun-\(bridge)"))
        }
        try waitUntil(15, "the unused bridge to go") { try sh("ip -o link show \(bridge) 2>/dev/null").code != 0 }
        XCTAssertFalse(try sh("nft list tables").out.contains("swiftrun-\(bridge)"), "its table went with it")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/run/swiftrun/net/\(bridge)"))

        // network rm while the bridge lingers: gone at once, and the subnet is free again.
        let r = try swiftrun(["run", "--rm", "--network", "warm", "--entrypoint", "true", image])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try swiftrun(["network", "rm", "warm"]).code, 0)
        XCTAssertNotEqual(try sh("ip -o link show \(bridge) 2>/dev/null").code, 0, "network rm takes its bridge down")
        XCTAssertEqual(try swiftrun(["network", "create", "--subnet", subnet, "warm"]).code, 0)
        let again = try swiftrun(["run", "--rm", "--network", "warm", "--entrypoint", "true", image])
        XCTAssertEqual(again.code, 0, again.err)
    }

    func networkBridge(_ name: String) throws -> String? {
        let r = try swiftrun(["network", "inspect", "--format", "{{json .}}", name])
        let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        return (obj?["Options"] as? [String: Any])?["com.docker.network.bridge.name"] as? String
    }

    func testOutboundNATAndCleanupAfterSupervisorKill() throws {
        // "Outside": a namespace of this test's, reached through the host like the internet
        // would be. The server answers with the address it sees: the host's, masqueraded.
        let forwardBefore = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        let ns = "srt-out-\(tag)", veth = "srto\(tag)"
        XCTAssertEqual(try sh("ip netns add \(ns) && ip link add \(veth) type veth peer name eth0 netns \(ns) && ip addr add 10.251.77.1/30 dev \(veth) && ip link set \(veth) up && ip -n \(ns) addr add 10.251.77.2/30 dev eth0 && ip -n \(ns) link set eth0 up && ip -n \(ns) link set lo up").code, 0)
        defer { _ = try? sh("ip netns del \(ns); ip link del \(veth) 2>/dev/null") }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        server.arguments = ["netns", "exec", ns, "python3", "-c",
                            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('10.251.77.2',7777))\ns.listen()\nc,a=s.accept()\nc.sendall(a[0].encode()+b'\\n')\nc.close()"]
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        let r = try swiftrun(["run", "--rm", "--entrypoint", "sh", image, "-c",
                              "for i in 1 2 3 4 5 6 7 8 9 10; do nc 10.251.77.2 7777 && exit 0; sleep 0.2; done; exit 1"])
        XCTAssertEqual(r.out, "10.251.77.1\n", r.err)

        // kill -9 of the supervisor: the container dies with it; rm takes back veth, lease, rules.
        let port = freePort()
        let id = try runDetached(["--name", "doomed", "--no-healthcheck", "-p", "\(port):8080", image])
        _ = try waitHTTP("http://127.0.0.1:\(port)/")
        let sup = try state(id)["SupervisorPid"] as? Int ?? 0
        XCTAssertGreaterThan(sup, 0)
        kill(Int32(sup), SIGKILL)
        try waitUntil(5, "the container to die with its supervisor") { try inspect("doomed")["State"].flatMap { ($0 as? [String: Any])?["Running"] as? Bool } == false }
        XCTAssertEqual(try swiftrun(["rm", "doomed"]).code, 0)
        XCTAssertFalse(try sh("ip -o link").out.contains("sr" + id.prefix(10)))
        XCTAssertFalse(try sh("nft list ruleset").out.contains(" \(port) "), "its published port left the table's map")
        // The default bridge is every root's (other containers may be on it): that an unused
        // bridge goes is testBridgeLingersWarmThenGoes's, on a network of its own.
        if !FileManager.default.fileExists(atPath: "/run/swiftrun/net") {
            XCTAssertEqual(try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8), forwardBefore, "ip_forward put back")
        }
        _ = try runDetached(["--name", "again", "--no-healthcheck", "-p", "\(port):8080", image])
        XCTAssertEqual(try waitHTTP("http://127.0.0.1:\(port)/health"), "ok\n")
    }
}
