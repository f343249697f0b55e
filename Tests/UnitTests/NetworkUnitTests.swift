import Foundation
@testable import Network
import XCTest

final class NetworkUnitTests: XCTestCase {
    func testIPv4AndSubnet() {
        XCTAssertEqual(IPv4("10.88.0.2")?.description, "10.88.0.2")
        for bad in ["10.88.0", "10.88.0.256", "a.b.c.d", "1..2.3", " 1.2.3.4", "1.2.3.4.5", "01234.1.1.1"] {
            XCTAssertNil(IPv4(bad), bad)
        }
        let s = Subnet("10.88.0.0/16")!
        XCTAssertEqual(s.gateway.description, "10.88.0.1")
        XCTAssertEqual(s.broadcast.description, "10.88.255.255")
        XCTAssertEqual(IPv4(s.hostRange.lowerBound).description, "10.88.0.2")
        XCTAssertEqual(IPv4(s.hostRange.upperBound).description, "10.88.255.254")
        XCTAssertNil(Subnet("10.88.0.1/16"), "not the network address")
        XCTAssertNil(Subnet("10.88.0.0/33"))
        XCTAssertTrue(s.overlaps(Subnet("10.88.7.0/24")!))
        XCTAssertTrue(Subnet("10.0.0.0/8")!.overlaps(s))
        XCTAssertFalse(s.overlaps(Subnet("10.89.0.0/24")!))
        XCTAssertTrue(s.contains(IPv4("10.88.200.1")!))
        XCTAssertFalse(s.contains(IPv4("10.89.0.1")!))
    }

    func testPortSpecsAsDockerReadsThem() throws {
        func one(_ s: String) throws -> PortBinding { try PortBinding.parse(s)[0] }
        XCTAssertEqual(try one("8000:8080"), PortBinding(hostIP: "", hostPort: 8000, containerPort: 8080, proto: "tcp"))
        XCTAssertEqual(try one("8080"), PortBinding(hostIP: "", hostPort: 0, containerPort: 8080, proto: "tcp"))
        XCTAssertEqual(try one("127.0.0.1:8000:80/udp"), PortBinding(hostIP: "127.0.0.1", hostPort: 8000, containerPort: 80, proto: "udp"))
        XCTAssertEqual(try one("127.0.0.1::80"), PortBinding(hostIP: "127.0.0.1", hostPort: 0, containerPort: 80, proto: "tcp"))
        XCTAssertEqual(try one("0.0.0.0:9000:80").hostIP, "", "0.0.0.0 is every address")
        XCTAssertEqual(try PortBinding.parse("8000-8002:9000-9002").map { "\($0.hostPort)>\($0.containerPort)" }, ["8000>9000", "8001>9001", "8002>9002"])
        XCTAssertEqual(try PortBinding.parse("7000-7003").map { $0.containerPort }, [7000, 7001, 7002, 7003])
        let pick = try one("8000-8010:80")
        XCTAssertEqual([pick.hostPort, pick.hostPortEnd, pick.containerPort], [8000, 8010, 80], "a range to choose one port from")
        XCTAssertEqual(try one("80/TCP").proto, "tcp")
        for bad in ["", "0", "65536", "a:80", "80:", "1:2:3:4", "8000:80/sctp", "8000:80/icmp", "300.1.1.1:80:80", "[::1]:80:80",
                    "8002-8000:80", "8000-8001:80-82"] {
            XCTAssertThrowsError(try PortBinding.parse(bad), bad) { e in
                XCTAssertTrue("\(e)".contains("invalid port spec '\(bad)'"), "\(e)")
            }
        }
        XCTAssertEqual(PortBinding.exposed("8080/tcp")?.port, 8080)
        XCTAssertEqual(PortBinding.exposed("53/udp")?.proto, "udp")
        XCTAssertEqual(PortBinding.exposed("9000")?.proto, "tcp")
        XCTAssertNil(PortBinding.exposed("x/tcp"))
    }

    func testNetworkReferencesStayInsideTheRoot() throws {
        let root = "/tmp/swiftrun-unit-net-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try FileManager.default.createDirectory(atPath: root + "/networks", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let outside = #"{"Name":"evil","Id":"0123456789","Driver":"bridge","Subnet":"10.99.0.0/24","Gateway":"10.99.0.1","Bridge":"swr-x","Created":"","Labels":{},"Internal":false}"#
        try outside.write(toFile: root + "/evil.json", atomically: false, encoding: .utf8)
        try outside.write(toFile: root + "/networks/good.json", atomically: false, encoding: .utf8)
        let store = NetworkStore(root: root)
        XCTAssertThrowsError(try store.get("../evil"), "a reference is a name, not a path")
        XCTAssertEqual(try store.get("good").Name, "evil")
        XCTAssertThrowsError(try store.create(name: "../x", subnet: nil, isInternal: false, labels: [:], now: ""))
    }

    func testResolvConf() {
        let host = "# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch corp.example\noptions edns0 trust-ad\n"
        XCTAssertEqual(HostFiles.resolvConf(host: host, dns: [], search: [], options: []),
                       "search corp.example\nnameserver 192.0.2.53\noptions edns0 trust-ad\n")
        // Only loopback servers (systemd-resolved): Docker's public fallback.
        XCTAssertEqual(HostFiles.resolvConf(host: "nameserver 127.0.0.53\n", dns: [], search: [], options: []),
                       "nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
        XCTAssertEqual(HostFiles.resolvConf(host: host, dns: ["10.0.0.2"], search: ["."], options: ["ndots:2"]),
                       "nameserver 10.0.0.2\noptions ndots:2\n")
    }

    func testHostsFileListsPeersOfUserNetworksOnly() {
        func lease(_ id: String, _ ip: String, _ name: String, net: String, aliases: [String] = []) -> Lease {
            Lease(IP: ip, PrefixLen: 24, Gateway: "10.89.0.1", Network: net, NetworkID: net, Bridge: "br-" + net, ContainerID: id,
                  Root: "/r", Name: name, Aliases: aliases, Hostname: String(id.prefix(12)), Interface: "eth0", HostVeth: "v",
                  HostsPath: "/x", HostsBase: "127.0.0.1\tlocalhost\n", SupervisorPid: 1, SupervisorStart: 0)
        }
        let api = lease("aaaaaaaaaaaaaaaa", "10.89.0.2", "api", net: "app")
        let db = lease("bbbbbbbbbbbbbbbb", "10.89.0.3", "db", net: "app", aliases: ["postgres"])
        let other = lease("cccccccccccccccc", "10.89.1.2", "other", net: "else")
        let dflt = lease("dddddddddddddddd", "10.88.0.2", "web", net: "bridge")
        let dflt2 = lease("eeeeeeeeeeeeeeee", "10.88.0.3", "web2", net: "bridge")
        let all = [api, db, other, dflt, dflt2]
        XCTAssertEqual(HostNetwork.hostsFile(for: [api], all: all),
                       "127.0.0.1\tlocalhost\n10.89.0.2\taaaaaaaaaaaa\n10.89.0.3\tdb postgres bbbbbbbbbbbb\n")
        XCTAssertEqual(HostNetwork.hostsFile(for: [dflt], all: all), "127.0.0.1\tlocalhost\n10.88.0.2\tdddddddddddd\n",
                       "the default bridge resolves no names")
    }
}
