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

    /// A query as dig sends one: id, RD, one question, an EDNS OPT record.
    static func query(_ name: String, type: UInt16, id: UInt16 = 0x1234) -> [UInt8] {
        var q: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1]
        for l in name.split(separator: ".") { q.append(UInt8(l.utf8.count)); q += Array(l.utf8) }
        q += [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
        q += [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0] // OPT
        return q
    }

    func testDNSAnswersFromTheHostsFile() throws {
        let records = DNS.hostsRecords("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n# c\n10.99.0.2\tdb postgres 47983f37a9e9\n10.99.0.3 api # after\n")
        XCTAssertEqual(records["postgres"], [IPv4("10.99.0.2")!])
        XCTAssertEqual(records["api"], [IPv4("10.99.0.3")!])
        XCTAssertNil(records["ip6-localhost"], "IPv4 only")
        let lookup = { (n: String) in records[n] }

        let a = try XCTUnwrap(DNS.reply(to: Self.query("Postgres", type: 1), lookup: lookup))
        XCTAssertEqual(Array(a[0..<2]), [0x12, 0x34], "the query's id")
        XCTAssertEqual(a[2] & 0x80, 0x80, "a reply")
        XCTAssertEqual(a[2] & 0x01, 0x01, "recursion desired, as asked")
        XCTAssertEqual(a[3] & 0x0f, 0, "NOERROR")
        XCTAssertEqual(Array(a[4..<8]), [0, 1, 0, 1], "one question, one answer")
        XCTAssertEqual(Array(a.suffix(4)), [10, 99, 0, 2])
        XCTAssertEqual(Array(a.suffix(16).prefix(6)), [0xc0, 0x0c, 0, 1, 0, 1], "A IN, named by a pointer to the question")

        let aaaa = try XCTUnwrap(DNS.reply(to: Self.query("db", type: 28), lookup: lookup))
        XCTAssertEqual(aaaa[3] & 0x0f, 0)
        XCTAssertEqual(Array(aaaa[6..<8]), [0, 0], "a known name without IPv6: no data, not an error")

        let other = try XCTUnwrap(DNS.reply(to: Self.query("example.com", type: 1), lookup: lookup))
        XCTAssertEqual(other[3] & 0x0f, 5, "REFUSED: the resolver goes on to the next nameserver")
        XCTAssertEqual(Array(other[6..<8]), [0, 0])

        var reply = Self.query("db", type: 1)
        reply[2] |= 0x80
        XCTAssertNil(DNS.reply(to: reply, lookup: lookup), "replies are not answered")
        XCTAssertNil(DNS.reply(to: Array(Self.query("db", type: 1).prefix(14)), lookup: lookup), "truncated")
        XCTAssertTrue(DNS.redirectTable(port: 4053).contains("udp dport 53 dnat to 127.0.0.11:4053"))
    }
}
