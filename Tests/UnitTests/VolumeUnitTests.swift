import Foundation
import XCTest
@testable import Engine

final class VolumeUnitTests: XCTestCase {
    func testVolumeFlagForms() throws {
        var m = try UserMount.parseVolume("/srv/data:/data:ro")
        XCTAssertEqual(m.Type, "bind")
        XCTAssertEqual(m.Source, "/srv/data")
        XCTAssertTrue(m.ReadOnly)
        XCTAssertEqual(m.CreateSource, true)
        m = try UserMount.parseVolume("pgdata:/var/lib/postgresql/data")
        XCTAssertEqual(m.Type, "volume")
        XCTAssertEqual(m.Source, "pgdata")
        m = try UserMount.parseVolume("/cache")
        XCTAssertEqual(m.Anonymous, true)
        XCTAssertEqual(m.Target, "/cache")
        m = try UserMount.parseMount("type=tmpfs,dst=/run/x,tmpfs-size=64m,tmpfs-mode=1777")
        XCTAssertEqual(m.TmpfsOptions, ["size=67108864", "mode=1777"])
        m = try UserMount.parseMount("source=vol,target=/v,readonly=false,volume-nocopy")
        XCTAssertEqual(m.Type, "volume")
        XCTAssertFalse(m.ReadOnly)
        XCTAssertEqual(m.NoCopy, true)
        XCTAssertThrowsError(try UserMount.parseVolume("../../etc:/x"))
        XCTAssertThrowsError(try UserMount.parseVolume("a:b:c:d"))
        XCTAssertThrowsError(try UserMount.parseVolume("v:/"))
    }

    /// An image whose directory is a symlink to /etc gets its own /etc copied, never the host's.
    func testSeedingResolvesInsideTheImageRoot() throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("sr-seed-\(getpid())").path
        defer { try? fm.removeItem(atPath: base) }
        let rootfs = base + "/rootfs", dst = base + "/dst", dst2 = base + "/dst2"
        for d in [rootfs, dst, dst2] { try fm.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try fm.createSymbolicLink(atPath: rootfs + "/data", withDestinationPath: "/etc")
        XCTAssertFalse(try Engine.copyImageDir(rootfs: rootfs, path: "/data", to: dst), "the image has no /etc: nothing to copy")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: dst), [])
        try fm.createDirectory(atPath: rootfs + "/etc", withIntermediateDirectories: true)
        try "image\n".write(toFile: rootfs + "/etc/marker", atomically: false, encoding: .utf8)
        try fm.createSymbolicLink(atPath: rootfs + "/etc/passwd", withDestinationPath: "/etc/passwd")
        XCTAssertTrue(try Engine.copyImageDir(rootfs: rootfs, path: "/data", to: dst2))
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: dst2).sorted(), ["marker", "passwd"])
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: dst2 + "/passwd"), "/etc/passwd", "a link is copied as a link, not followed")
    }
}
