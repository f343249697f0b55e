import Foundation
import XCTest

/// --cap-add/--cap-drop, --privileged, --security-opt as Docker's `run` has them.
final class RunSecurityTests: EngineTestCase {
    func status(_ flags: [String], _ cmd: String = "cat /proc/self/status") throws -> [String: String] {
        let r = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "-u", "root"] + flags + ["--entrypoint", "sh", image, "-c", cmd])
        XCTAssertEqual(r.code, 0, r.err)
        var out: [String: String] = [:]
        for l in r.out.split(separator: "\n") {
            let kv = l.split(separator: ":", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0])] = kv[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    func testCapabilitiesAsDockerTweaksThem() throws {
        XCTAssertEqual(try status([])["CapEff"], "00000000a80425fb", "Docker's 14 default capabilities")
        XCTAssertEqual(try status(["--cap-drop", "ALL", "--cap-add", "net_admin"])["CapEff"], "0000000000001000", "only CAP_NET_ADMIN")
        let dropped = try status(["--cap-drop", "CAP_CHOWN", "--cap-add", "SYS_PTRACE"])
        XCTAssertEqual(dropped["CapEff"], String(format: "%016llx", 0xa80425fb & ~UInt64(1) | (1 << 19)))
        XCTAssertEqual(dropped["CapBnd"], dropped["CapEff"], "the bounding set matches: nothing to regain")
        let r = try swiftrun(["run", "--rm", "--network", "none", "--cap-add", "FOO", "--entrypoint", "true", image])
        XCTAssertEqual(r.code, 125)
        XCTAssertTrue(r.err.contains("unknown capability: \"CAP_FOO\""), r.err)
    }

    func testPrivileged() throws {
        let own = try String(contentsOfFile: "/proc/self/status", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("CapBnd:") }.map { $0.dropFirst(7).trimmingCharacters(in: .whitespaces) }
        let s = try status(["--privileged"], "cat /proc/self/status; echo Dev: $(ls /dev | wc -l); echo Sys: $(grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1)")
        XCTAssertEqual(s["CapEff"], own, "every capability swiftrun itself has")
        XCTAssertEqual(s["Seccomp"], "0", "no seccomp filter")
        XCTAssertEqual(s["Sys"], "rw")
        XCTAssertGreaterThan(Int(s["Dev"] ?? "") ?? 0, 30, "the host's devices")
        let plain = try status([], "echo Dev: $(ls /dev | wc -l); echo Sys: $(grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1)")
        XCTAssertEqual(plain["Sys"], "ro")
        XCTAssertLessThan(Int(plain["Dev"] ?? "") ?? 99, 20)
    }

    func testSecurityOpts() throws {
        XCTAssertEqual(try status([])["Seccomp"], "2", "Docker's default: a filter")
        XCTAssertEqual(try status(["--security-opt", "seccomp=unconfined"])["Seccomp"], "0")
        XCTAssertEqual(try status(["--security-opt", "no-new-privileges"])["NoNewPrivs"], "1")
        XCTAssertEqual(try status(["--security-opt", "no-new-privileges=false"])["NoNewPrivs"], "0")

        // A profile in Docker's format: includes by capability decide which rules apply.
        let file = root + "-seccomp.json"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
        try """
        {"defaultAction": "SCMP_ACT_ALLOW",
         "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
         "syscalls": [
           {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
           {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
        """.write(toFile: file, atomically: false, encoding: .utf8)
        let r = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "-u", "root", "--security-opt", "seccomp=" + file,
                              "--entrypoint", "sh", image, "-c", "chmod 700 /tmp && echo chmod ok; mkdir /tmp/x || echo mkdir refused"])
        XCTAssertEqual(r.out, "chmod ok\nmkdir refused\n", r.err)
        XCTAssertTrue(r.err.contains("Operation not permitted"), r.err)

        for (opt, words) in [("seccomp=/nonexistent.json", "opening seccomp profile (/nonexistent.json) failed"),
                             ("apparmor=docker-default", "AppArmor is not supported"), ("color=blue", "invalid --security-opt 'color=blue'")] {
            let bad = try swiftrun(["run", "--rm", "--network", "none", "--security-opt", opt, "--entrypoint", "true", image])
            XCTAssertEqual(bad.code, 125, opt)
            XCTAssertTrue(bad.err.contains(words), "\(opt): \(bad.err)")
        }
        XCTAssertEqual(try swiftrun(["ps", "-aq"]).out, "", "refused runs leave nothing")
    }

    /// Docker's default profile is an allowlist: a privileged syscall is refused (EPERM)
    /// until the capability it needs is added, and a syscall newer than the profile
    /// (statmount, kernel 6.8, unknown to Debian 12's libseccomp) gets ENOSYS so that a
    /// libc can fall back. Checked with raw syscalls from a small static helper.
    func testDefaultSeccompAllowlist() throws {
        let helper = root + "-syscall"
        addTeardownBlock { unlink(helper) }
        let cc = try TestBundle.exec("/usr/bin/cc", ["-static", "-O2", "-o", helper, TestBundle.packageRoot + "/Tests/Fixtures/syscall.c"])
        XCTAssertEqual(cc.code, 0, cc.err)
        func errnos(_ flags: [String], _ calls: [String]) throws -> [String] {
            let script = calls.map { "/syscall \($0)" }.joined(separator: "; ")
            let r = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "-u", "root", "-v", helper + ":/syscall:ro"]
                                 + flags + ["--entrypoint", "sh", image, "-c", script])
            XCTAssertEqual(r.code, 0, r.err)
            return lines(r.out)
        }
        let mount = "165", statmount = "457", unshareNet = "272 0x40000000", getpid = "39"
        XCTAssertEqual(try errnos([], [getpid, mount, statmount, unshareNet]), ["0", "\(EPERM)", "\(ENOSYS)", "\(EPERM)"])
        let admin = try errnos(["--cap-add", "SYS_ADMIN"], [mount, unshareNet])
        XCTAssertNotEqual(admin[0], "\(EPERM)", "mount(2) reaches the kernel with CAP_SYS_ADMIN")
        XCTAssertEqual(admin[1], "0", "unshare(CLONE_NEWNET) with CAP_SYS_ADMIN")
        let unconfined = try errnos(["--security-opt", "seccomp=unconfined"], [statmount])
        XCTAssertNotEqual(unconfined[0], "\(ENOSYS)", "the kernel has statmount: ENOSYS came from the filter")
    }

    /// Every container starts from the same limits (nofile 1024:524288, as Docker 25+), not
    /// from those of the shell that ran swiftrun; --ulimit changes them.
    /// --sysctl only for what the container's own namespaces hold; --shm-size sizes /dev/shm.
    func testSysctlsAndShmSize() throws {
        _ = try runDetached(["--name", "sysctl-peer", "--network", "none", "--no-healthcheck", "--entrypoint", "sleep", image, "300"])
        let r = try swiftrun(["run", "--rm", "--no-healthcheck", "-u", "root", "--shm-size", "96m",
                              "--sysctl", "net.core.somaxconn=1024", "--sysctl", "kernel.shmmax=123456789",
                              "--entrypoint", "sh", image, "-c",
                              "cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shmmax; df -k /dev/shm | tail -1 | awk '{print $2}'"])
        XCTAssertEqual(r.out, "1024\n123456789\n98304\n", r.err)
        XCTAssertTrue(try inspectAfterCreate(["--shm-size", "1g", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80"])
            .contains(#""ShmSize":1073741824"#))
        for (flags, words) in [(["--sysctl", "vm.swappiness=10"], "--sysctl vm.swappiness: not namespaced"),
                               (["--network", "host", "--sysctl", "net.core.somaxconn=1"], "not with --network host"),
                               (["--network", "container:sysctl-peer", "--sysctl", "net.core.somaxconn=1"], "the other container's network namespace"),
                               (["--sysctl", "novalue"], "use KEY=VALUE"),
                               (["--shm-size", "lots"], "invalid argument \"lots\" for \"--shm-size\" flag")] {
            let bad = try swiftrun(["run", "--rm"] + flags + ["--entrypoint", "true", image])
            XCTAssertEqual(bad.code, 125, "\(flags)")
            XCTAssertTrue(bad.err.contains(words), bad.err)
        }
    }

    /// --device: the host's node in the container (under another name too), opened through
    /// the device cgroup; without it a node made with mknod cannot be opened.
    func testDevices() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { throw XCTSkip("no /dev/fuse on this host") }
        func run(_ flags: [String], _ script: String) throws -> TestBundle.Result {
            try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "-u", "root"] + flags + ["--entrypoint", "sh", image, "-c", script])
        }
        XCTAssertEqual(try run(["--device", "/dev/fuse"], "test -c /dev/fuse && exec 3<>/dev/fuse && echo opened").out, "opened\n")
        XCTAssertEqual(try run(["--device", "/dev/fuse:/dev/myfuse"], "exec 3<>/dev/myfuse && echo opened").out, "opened\n")
        let without = try run([], "test -e /dev/fuse || echo absent; mknod /tmp/f c 10 229 && (exec 3<>/tmp/f) 2>/dev/null || echo denied")
        XCTAssertEqual(without.out, "absent\ndenied\n", without.err)
        XCTAssertTrue(try inspectAfterCreate(["--device", "/dev/fuse"]).contains(#""Devices":[{"CgroupPermissions":"rwm","PathInContainer":"/dev/fuse","PathOnHost":"/dev/fuse"}]"#))
        for (spec, words) in [("/dev/fuse:/dev/fuse:r", "permissions r cannot be enforced"), ("/etc/passwd", "not a device node"),
                              ("relative", "use HOST_PATH")] {
            let bad = try swiftrun(["run", "--rm", "--device", spec, "--entrypoint", "true", image])
            XCTAssertEqual(bad.code, 125, spec)
            XCTAssertTrue(bad.err.contains(words), bad.err)
        }
    }

    /// --group-add: a name of the image's /etc/group or a number, on top of the user's own.
    func testGroupAdd() throws {
        let r = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "-u", "root", "--group-add", "tty",
                              "--group-add", "4242", "--entrypoint", "id", image, "-G"])
        XCTAssertEqual(r.out, "0 5 4242\n", r.err)
        let bad = try swiftrun(["run", "--rm", "--group-add", "nosuchgroup", "--entrypoint", "true", image])
        XCTAssertEqual(bad.code, 125)
        XCTAssertTrue(bad.err.contains("--group-add nosuchgroup: unable to find group"), bad.err)
    }

    func testUlimits() throws {
        func limits(_ flags: [String]) throws -> [String] {
            let r = try swiftrun(["run", "--rm", "--network", "none", "--no-healthcheck", "-u", "root"] + flags +
                                 ["--entrypoint", "sh", image, "-c", "ulimit -n; ulimit -Hn; ulimit -u; ulimit -c"])
            XCTAssertEqual(r.code, 0, r.err)
            return lines(r.out)
        }
        // Docker's default, or as close as this process may go (this host's test shell has
        // no CAP_SYS_RESOURCE and a hard limit of 20000).
        var own = rlimit()
        getrlimit(__rlimit_resource_t(7), &own)
        let capEff = try String(contentsOfFile: "/proc/self/status", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("CapEff:") }.flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        let hard: UInt64 = capEff & (1 << 24) != 0 ? 524_288 : min(524_288, UInt64(own.rlim_max))
        let d = try limits([])
        XCTAssertEqual(Array(d.prefix(2)), [String(min(1024, hard)), String(hard)])
        XCTAssertEqual(try limits(["--ulimit", "nofile=100:200", "--ulimit", "nproc=50", "--ulimit", "core=0"]),
                       ["100", "200", "50", "0"])
        XCTAssertTrue(try inspectAfterCreate(["--ulimit", "nofile=5:6"]).contains(#""Ulimits":[{"Hard":6,"Name":"nofile","Soft":5}]"#))
        let bad = try swiftrun(["run", "--rm", "--network", "none", "--ulimit", "nofile=9:8", "--entrypoint", "true", image])
        XCTAssertEqual(bad.code, 125)
        XCTAssertTrue(bad.err.contains("ulimit soft limit must be less than or equal to hard limit: 9 > 8"), bad.err)
    }

    func inspectAfterCreate(_ flags: [String]) throws -> String {
        let c = try swiftrun(["create", "--network", "none"] + flags + [image])
        XCTAssertEqual(c.code, 0, c.err)
        let id = c.out.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? swiftrun(["rm", id]) }
        return try swiftrun(["inspect", "-f", "{{json .HostConfig}}", id]).out
    }
}
