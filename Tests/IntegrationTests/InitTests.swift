import Foundation
import XCTest

/// --init: a reaping PID 1 (swiftrun-init, as tini under Docker's --init).
final class InitTests: EngineTestCase {
    func testInitIsPID1AndReapsOrphans() throws {
        let r = try swiftrun(["run", "--rm", "--init", "--network", "none", "--no-healthcheck", "--entrypoint", "sh", image, "-c", "cat /proc/1/comm; echo $$"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "swiftrun-init\n2\n", "the process is PID 1's child")

        // An orphan whose new parent (PID 1) is `sleep` stays a zombie; under --init it is reaped.
        let script = "(sleep 0.1 &); exec sleep 100"
        for (flags, zombies) in [([String](), 1), (["--init"], 0)] {
            let id = try runDetached(flags + ["--network", "none", "--no-healthcheck", "--entrypoint", "sh", image, "-c", script])
            usleep(700_000)
            let ps = try swiftrun(["exec", id, "ps", "-o", "stat,comm"])
            let z = ps.out.split(separator: "\n").filter { $0.hasPrefix("Z") }.count
            XCTAssertEqual(z, zombies, "\(flags): \(ps.out)")
            try swiftrun(["rm", "-f", id])
        }
    }

    func testInitForwardsSignalsAndReturnsTheExitCode() throws {
        // `sleep` as PID 1 would ignore SIGTERM (no handler); as PID 1's child it dies of it.
        let id = try runDetached(["--init", "--network", "none", "--no-healthcheck", "--entrypoint", "sleep", image, "100"])
        XCTAssertEqual(try swiftrun(["stop", "-t", "20", id]).code, 0)
        XCTAssertEqual((try inspect(id)["State"] as? [String: Any])?["ExitCode"] as? Int, 143, "128 + SIGTERM, not the SIGKILL's 137")
        XCTAssertEqual((try inspect(id)["HostConfig"] as? [String: Any])?["Init"] as? Bool, true)
        let r = try swiftrun(["run", "--rm", "--init", "--network", "none", "--no-healthcheck", "--entrypoint", "sh", image, "-c", "exit 7"])
        XCTAssertEqual(r.code, 7)
        let missing = try swiftrun(["run", "--rm", "--init", "--network", "none", "--no-healthcheck", "--entrypoint", "/nope", image])
        XCTAssertEqual(missing.code, 127, missing.err)
        try swiftrun(["rm", id])
    }
}
