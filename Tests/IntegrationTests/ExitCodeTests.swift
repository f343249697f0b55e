import Foundation
import XCTest

/// Docker's exit codes, command by command, as scripts test them: `run` and `create` exit
/// 125 when they fail before the container runs, 126/127 when its command cannot run, else
/// its own code; every other command exits 1 when it fails (a missing container, one not
/// running, a bad reference or template); a flag the parser refuses is 125 everywhere.
final class ExitCodeTests: EngineTestCase {
    func testDockersTable() throws {
        let stopped = try swiftrun(["create", "--name", "stopped", "--network", "none", "--no-healthcheck", "--entrypoint", "true", image])
        XCTAssertEqual(stopped.code, 0, stopped.err)
        let table: [([String], Int32)] = [
            (["run", "--rm", "--network", "none", "--pull", "never", "no-such-image:1"], 125),
            (["run", "--rm", "--network", "none", "--pull", "never", "Busy Box"], 125),
            (["run", "--rm", "--network", "none", "--no-healthcheck", "--entrypoint", "no-such-tool", image], 127),
            (["run", "--rm", "--network", "none", "--no-healthcheck", "--entrypoint", "/etc/passwd", image], 126),
            (["run", "--rm", "--network", "none", "--no-healthcheck", "--entrypoint", "sh", image, "-c", "exit 3"], 3),
            (["create", "--network", "none", "--pull", "never", "no-such-image:1"], 125),
            (["create", "--name", "stopped", "--network", "none", image], 125),
            (["run", "--bogus-flag", image], 125),
            (["logs", "nope"], 1), (["inspect", "nope"], 1), (["stop", "nope"], 1), (["kill", "nope"], 1),
            (["wait", "nope"], 1), (["exec", "nope", "true"], 1), (["rm", "nope"], 1), (["start", "nope"], 1),
            (["restart", "nope"], 1), (["pause", "nope"], 1), (["top", "nope"], 1), (["port", "nope"], 1),
            (["exec", "stopped", "true"], 1), (["kill", "stopped"], 1), (["pause", "stopped"], 1),
            (["run", "-d", "--name", "up", "--network", "none", "--no-healthcheck", "--entrypoint", "sleep", image, "60"], 0),
            (["exec", "up", "no-such-tool"], 127), (["exec", "up", "/etc/passwd"], 126), (["exec", "-u", "ghost", "up", "true"], 126),
            (["exec", "up", "sh", "-c", "exit 4"], 4),
            (["ps", "--format", "{{.Bogus}}"], 1),
            (["images", "--format", "{{.Bogus}}"], 1), (["ps", "--format", "{{range}}"], 1),
            (["rmi", "nope:1"], 1), (["image", "inspect", "nope:1"], 1), (["tag", image, "Bad Name"], 1),
            (["load", "-i", "/nonexistent.tar"], 1), (["logs", "--bogus-flag", "stopped"], 125),
        ]
        for (args, want) in table {
            let r = try swiftrun(args)
            XCTAssertEqual(r.code, want, "swiftrun \(args.joined(separator: " ")): \(r.err)")
        }
        XCTAssertTrue(try swiftrun(["logs", "nope"]).err.contains("No such container: nope"))
    }
}
