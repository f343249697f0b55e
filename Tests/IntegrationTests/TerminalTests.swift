import Foundation
import XCTest

/// -t and -it for run and exec, driven from a real pty as a user at a terminal
/// (Tests/Fixtures/pty-run.py): raw mode, window size and resize, ^C, exit codes.
final class TerminalTests: EngineTestCase {
    /// Runs `args` (swiftrun's, with --root) on a ROWSxCOLS pty, playing `steps`.
    func atTerminal(_ rows: Int, _ cols: Int, _ steps: [[Any]], _ args: [String]) throws -> (screen: String, code: Int32) {
        let full = [TestBundle.binDir + "/swiftrun"] + withRoot(args)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: steps), as: UTF8.self)
        let r = try TestBundle.exec("/usr/bin/env", ["python3", TestBundle.packageRoot + "/Tests/Fixtures/pty-run.py", String(rows), String(cols), json, "--"] + full)
        guard let last = r.out.range(of: "\nEXIT=", options: .backwards) else {
            XCTFail("pty-run: \(r.out) \(r.err)")
            return ("", -1)
        }
        return (String(r.out[..<last.lowerBound]), Int32(r.out[last.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1)
    }

    func testRunInteractiveTerminal() throws {
        let (screen, code) = try atTerminal(40, 100, [
            ["wait", "# "], ["send", "stty size; tty; echo $TERM\r"], ["wait", "xterm"],
            // A user who stops typing: the supervisor idles in swiftrun-idle, and comes back.
            ["sleep", 1.8], ["send", "echo $((40+2))\r"], ["wait", "42"],
            ["resize", 50, 120], ["sleep", 0.3], ["send", "stty size\r"], ["wait", "50 120"],
            ["send", "sleep 100\r"], ["sleep", 0.5], ["send", "\u{3}"], ["send", "echo rc=$?\r"], ["wait", "rc="],
            ["send", "exit 3\r"],
        ], ["run", "-it", "--rm", "--network", "none", "--no-healthcheck", "-u", "root", "--entrypoint", "sh", image])
        XCTAssertEqual(code, 3, "the shell's exit code: \(screen)")
        XCTAssertTrue(screen.contains("40 100\r\n/dev/pts/0\r\nxterm"), "the size at start, a pty, TERM: \(screen)")
        XCTAssertTrue(screen.contains("50 120"), "the pty followed the resize: \(screen)")
        XCTAssertTrue(screen.contains("rc=130"), "^C reached sleep as SIGINT through the pty: \(screen)")
    }

    func testExecInteractiveTerminalAndDetachedTerminal() throws {
        let id = try runDetached(["-dit", "--name", "shell", "--network", "none", "--no-healthcheck", "--entrypoint", "sh", image])
        let (screen, code) = try atTerminal(30, 90, [
            ["wait", "$ "], ["send", "stty size; tty; id -u\r"], ["wait", "1000"], ["send", "exit 5\r"],
        ], ["exec", "-it", "shell", "sh"])
        XCTAssertEqual(code, 5, screen)
        XCTAssertTrue(screen.contains("30 90\r\n/dev/pts/"), screen)
        // -dit: the shell waits on its pty; its banner went to the log (the prompt, a line
        // not ended yet, waits in the log writer as in Docker's json-file).
        waitUntil(10, "the banner in the log") { (try? self.swiftrun(["logs", "shell"]).out.contains("Enter 'help'")) ?? false }
        XCTAssertEqual((try inspect(id)["Config"] as? [String: Any])?["Tty"] as? Bool, true)
        try swiftrun(["rm", "-f", id])
    }

    func testTerminalNeedsATerminal() throws {
        let r = try swiftrun(["run", "-it", "--rm", "--network", "none", "--entrypoint", "true", image])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("the input device is not a TTY"), r.err)
        // -t alone works without one: the output comes through the pty (CRLF line ends).
        let t = try swiftrun(["run", "-t", "--rm", "--network", "none", "--no-healthcheck", "--entrypoint", "sh", image, "-c", "tty; exit 4"])
        XCTAssertEqual(t.code, 4)
        XCTAssertEqual(t.out, "/dev/pts/0\r\n")
    }
}
