import XCTest
@testable import Engine
import OCI
@testable import Runtime

final class LimitUnitTests: XCTestCase {
    func hostConfig() -> Container.HostConfig {
        Container.HostConfig(AutoRemove: false, RestartPolicy: .init(Name: "no", MaximumRetryCount: 0), ReadonlyRootfs: false,
                             LogConfig: .init(Type: "json-file", Config: [:]), HealthOnFailure: "none")
    }

    func testByteSizesAsDockerReadsAndPrintsThem() {
        XCTAssertEqual(ByteSize.parse("32m"), 32 << 20)
        XCTAssertEqual(ByteSize.parse("1g"), 1 << 30)
        XCTAssertEqual(ByteSize.parse("1.5G"), 3 << 29)
        XCTAssertEqual(ByteSize.parse("512KiB"), 512 << 10)
        XCTAssertEqual(ByteSize.parse("100"), 100)
        XCTAssertEqual(ByteSize.parse("64mb"), 64 << 20)
        XCTAssertNil(ByteSize.parse("12q"))
        XCTAssertNil(ByteSize.parse(""))
        XCTAssertNil(ByteSize.parse("-5m"))
        XCTAssertEqual(ByteSize.binary(Double(32 << 20)), "32MiB")
        XCTAssertEqual(ByteSize.binary(1_610_612_736), "1.5GiB")
        XCTAssertEqual(ByteSize.binary(0), "0B")
        XCTAssertEqual(ByteSize.decimal(1234), "1.234kB")
        XCTAssertEqual(ByteSize.decimal(648), "648B")
    }

    func testDockerDefaultsAndTheSpecTheyMake() throws {
        var hc = hostConfig()
        var f = ResourceFlags()
        f.memory = "32m"
        f.cpus = "1.5"
        f.pidsLimit = 100
        f.cpuShares = 512
        try hc.apply(f, onlineCPUs: 2)
        XCTAssertEqual(hc.MemorySwap, 64 << 20, "swap defaults to as much again")
        XCTAssertEqual(hc.NanoCpus, 1_500_000_000)
        let r = try XCTUnwrap(hc.specResources)
        XCTAssertEqual(r.memory?.limit, 32 << 20)
        XCTAssertEqual(r.memory?.swap, 64 << 20)
        XCTAssertEqual(r.cpu?.quota, 150_000)
        XCTAssertEqual(r.cpu?.period, 100_000)
        XCTAssertEqual(r.pids?.limit, 100)
        let files = try Cgroup.files(for: r)
        XCTAssertTrue(files.contains { $0 == ("memory.max", String(32 << 20)) })
        XCTAssertTrue(files.contains { $0 == ("memory.swap.max", String(32 << 20)) })
        XCTAssertTrue(files.contains { $0 == ("cpu.max", "150000 100000") })
        XCTAssertTrue(files.contains { $0 == ("pids.max", "100") })
        XCTAssertNil(hostConfig().specResources, "no flag, no limit")
    }

    func testUpdateKeepsWhatItDoesNotName() throws {
        var hc = hostConfig()
        var f = ResourceFlags()
        f.memory = "64m"
        f.memorySwap = "-1"
        f.pidsLimit = 10
        try hc.apply(f, onlineCPUs: 2)
        var u = ResourceFlags()
        u.memory = "128m"
        try hc.apply(u, onlineCPUs: 2)
        XCTAssertEqual(hc.Memory, 128 << 20)
        XCTAssertEqual(hc.MemorySwap, -1, "unlimited swap stays unlimited")
        XCTAssertEqual(hc.PidsLimit, 10)
        var p = ResourceFlags()
        p.pidsLimit = 0
        try hc.apply(p, onlineCPUs: 2)
        XCTAssertEqual(hc.specResources?.pids?.limit, -1, "0 means unlimited, as Docker")
    }

    func testCpusetLists() throws {
        XCTAssertEqual(CPUSet.parse("0-2,4"), [0, 1, 2, 4])
        XCTAssertNil(CPUSet.parse("2-1"))
        XCTAssertNil(CPUSet.parse("a"))
        var hc = hostConfig()
        var f = ResourceFlags()
        f.cpusetCpus = "1"
        XCTAssertThrowsError(try hc.apply(f, onlineCPUs: 1, availableCPUs: "0")) {
            XCTAssertTrue("\($0)".contains("Requested CPUs are not available - requested 1, available: 0"))
        }
    }
}
