import Foundation
import XCTest

/// `swiftrun run IMAGE`: the image's config applied with Docker's rules, Docker's exit
/// codes, and nothing left behind once the container exits.
final class RunTests: EngineTestCase {
    /// These tests look at what runs, then want nothing kept: --rm.
    @discardableResult
    override func swiftrun(_ args: [String]) throws -> TestBundle.Result {
        try super.swiftrun(args[0] == "run" ? ["run", "--rm"] + args.dropFirst() : args)
    }

    func testImageConfigApplies() throws {
        let r = try swiftrun(["run", "-e", "EXTRA=1", "--entrypoint", "sh", image, "-c",
                              "id -u; id -G; pwd; echo $GREETING $EXTRA $HOME; cat index.html; grep CapEff /proc/self/status"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["1000", "1000 100 2000", "/www", "hello 1 /home/app", "<h1>hello from swiftrun</h1>",
                                      "CapEff:\t0000000000000000"])
    }

    func testOverridesAndRootCapabilities() throws {
        let r = try swiftrun(["run", "-u", "root", "-w", "/tmp", "--hostname", "box", "--entrypoint", "sh", image, "-c",
                              "id -u; pwd; hostname; grep CapEff /proc/self/status; touch /written"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["0", "/tmp", "box", "CapEff:\t00000000a80425fb"], "Docker's 14 default capabilities")
    }

    func testReadOnlyRootfs() throws {
        let r = try swiftrun(["run", "--read-only", "-u", "root", "--entrypoint", "sh", image, "-c",
                              "touch /www/x 2>/dev/null || echo refused; echo ok > /dev/shm/y && cat /dev/shm/y"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["refused", "ok"], "root is read-only; /dev/shm stays writable")
    }

    func testEachRunStartsFromTheImage() throws {
        XCTAssertEqual(try swiftrun(["run", "-u", "root", "--entrypoint", "sh", image, "-c", "echo x > /www/scratch"]).code, 0)
        let r = try swiftrun(["run", "--entrypoint", "sh", image, "-c", "ls /www"])
        XCTAssertEqual(lines(r.out), ["health", "index.html"], "the upper dir of a removed container is gone")
    }

    func testDockerExitCodes() throws {
        XCTAssertEqual(try swiftrun(["run", "--entrypoint", "sh", image, "-c", "exit 42"]).code, 42)
        let missing = try swiftrun(["run", "--entrypoint", "no-such-program", image])
        XCTAssertEqual(missing.code, 127)
        XCTAssertTrue(missing.err.contains("executable file not found"), missing.err)
        let notExec = try swiftrun(["run", "--entrypoint", "/etc/passwd", image])
        XCTAssertEqual(notExec.code, 126)
        let noImage = try swiftrun(["run", "--pull", "never", "no/such:image"])
        XCTAssertEqual(noImage.code, 125)
        XCTAssertTrue(noImage.err.contains("unable to find image 'no/such:image'"), noImage.err)
        let badUser = try swiftrun(["run", "-u", "ghost", image])
        XCTAssertEqual(badUser.code, 125)
        XCTAssertTrue(badUser.err.contains("unable to find user ghost"), badUser.err)
        let badFlag = try swiftrun(["run", "--no-such-flag", image])
        XCTAssertEqual(badFlag.code, 125)
    }

    /// The syscalls Docker keeps from unprivileged containers are denied; ordinary work
    /// (fork, exec, files, sockets) goes on.
    func testDefaultSeccompFilter() throws {
        let r = try swiftrun(["run", "-u", "root", "--entrypoint", "sh", image, "-c", """
            grep Seccomp: /proc/self/status
            unshare -U true 2>/dev/null || echo unshare-denied
            unshare -n true 2>/dev/null || echo netns-denied
            mount -t tmpfs none /mnt 2>/dev/null || echo mount-denied
            (sleep 0; echo forked) && ls / >/dev/null && echo ok > /tmp/f && cat /tmp/f
            """])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["Seccomp:\t2", "unshare-denied", "netns-denied", "mount-denied", "forked", "ok"])
    }
}
