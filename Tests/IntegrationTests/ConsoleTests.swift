import Foundation
import XCTest

/// process.terminal with --console-socket: the pty master reaches the caller (runc's
/// protocol, as conmon uses it), the process gets the pty as controlling terminal.
final class ConsoleTests: XCTestCase {
    /// A console-socket receiver like conmon's: takes the master, types, reads back.
    static let receiver = """
    import socket, os, sys, time, select
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sys.argv[1]); s.listen(1); s.settimeout(10)
    open(sys.argv[1] + ".ready", "w").close()
    c, _ = s.accept()
    msg, fds, _, _ = socket.recv_fds(c, 1024, 1)
    m = fds[0]
    os.write(m, sys.argv[2].encode() + b"\\n")
    out = b""; end = time.time() + 10
    while time.time() < end:
        r, _, _ = select.select([m], [], [], 0.2)
        if not r: continue
        try: d = os.read(m, 4096)
        except OSError: break
        if not d: break
        out += d
    sys.stdout.write(out.decode(errors="replace"))
    """

    static func receive(_ b: TestBundle, typing: String, run: () throws -> Void) throws -> String {
        let sock = b.dir + "/console.sock"
        let script = b.dir + "/recv.py"
        try Self.receiver.write(toFile: script, atomically: false, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, sock, typing]
        let out = b.dir + "/recv.out"
        touch(out)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        try p.run()
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: sock + ".ready") { usleep(10_000) }
        try run()
        p.waitUntilExit()
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    func testConsoleSocketGetsThePty() throws {
        let b = try TestBundle(args: ["sh"])
        defer { b.cleanup() }
        b.spec.process!.terminal = true
        b.spec.process!.consoleSize = .init(height: 30, width: 100)
        let out = try Self.receive(b, typing: "tty; stty size; echo pid=$$; ls -l /dev/console | cut -c1; exit 4") {
            let r = try b.create(extra: ["--console-socket", b.dir + "/console.sock"])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
        }
        XCTAssertTrue(out.contains("/dev/pts/0"), out)
        XCTAssertTrue(out.contains("30 100"), out)
        XCTAssertTrue(out.contains("pid=1"), out)
        XCTAssertTrue(out.contains("\nc"), "/dev/console is the pty (a char device): \(out)")
    }

    func testExecWithTerminal() throws {
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        XCTAssertEqual(try b.create().code, 0)
        XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
        let out = try Self.receive(b, typing: "tty; exit 0") {
            let r = try b.runc(["exec", "--tty", "--console-socket", b.dir + "/console.sock", b.id, "sh"])
            XCTAssertEqual(r.code, 0, r.err)
        }
        XCTAssertTrue(out.contains("/dev/pts/"), out)
    }
}
