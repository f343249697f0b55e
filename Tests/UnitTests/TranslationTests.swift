import XCTest
import OCI
import OS
@testable import Runtime
@testable import CLI
@testable import RuncCLI

final class TranslationTests: XCTestCase {
    func testCapabilities() throws {
        let s = try Capabilities.resolve(.init(bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_KILL"]))
        XCTAssertEqual(s.bounding, 1 << 0 | 1 << 5)
        XCTAssertEqual(s.effective, 1 << 5)
        XCTAssertEqual(s.ambient, 0)
        var warned: [String] = []
        XCTAssertEqual(try Capabilities.resolve(.init(bounding: ["CAP_NOT_A_THING", "CAP_KILL"]), warn: { warned.append($0) }).bounding, 1 << 5)
        XCTAssertEqual(warned.count, 1)
        XCTAssertTrue(warned[0].contains("CAP_NOT_A_THING"))
        XCTAssertEqual(try Capabilities.resolve(nil), Capabilities.Sets())
    }

    func testSeccompBuildsBPF() throws {
        let p = try Seccomp.build(.init(defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                                        flags: ["SECCOMP_FILTER_FLAG_LOG"],
                                        syscalls: [.init(names: ["read", "write", "no_such_syscall"], action: "SCMP_ACT_ALLOW"),
                                                   .init(names: ["personality"], action: "SCMP_ACT_ALLOW",
                                                         args: [.init(index: 0, value: 0, op: "SCMP_CMP_EQ"),
                                                                .init(index: 0, value: 8, op: "SCMP_CMP_EQ")])]))
        XCTAssertGreaterThan(p.bpf.count, 0)
        XCTAssertEqual(p.bpf.count % 8, 0, "struct sock_filter is 8 bytes")
        XCTAssertEqual(p.flags, 2)
        XCTAssertThrowsError(try Seccomp.build(.init(defaultAction: "SCMP_ACT_BOGUS")))
        XCTAssertThrowsError(try Seccomp.build(.init(defaultAction: "SCMP_ACT_ALLOW",
                                                     syscalls: [.init(names: ["read"], action: "SCMP_ACT_ERRNO",
                                                                      args: [.init(index: 0, value: 0, op: "SCMP_CMP_ALMOST")])])))
    }

    func testSeccompNotifyNeedsAListenerAndSparesSendmsg() throws {
        let notify = Spec.Seccomp.Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY")
        var sc = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"], syscalls: [notify])
        XCTAssertThrowsError(try Seccomp.build(sc)) { XCTAssertTrue("\($0)".contains("listenerPath"), "\($0)") }
        sc.listenerPath = "/run/agent.sock"
        let p = try Seccomp.build(sc)
        XCTAssertEqual(p.flags, 8 | 32, "NEW_LISTENER, and WAIT_KILLABLE_RECV kept with a listener")
        // A listener alone (crun's conformance test): the fd is still made and sent.
        XCTAssertEqual(try Seccomp.build(.init(defaultAction: "SCMP_ACT_ALLOW", syscalls: [])).flags, 0)
        var bare = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW")
        bare.listenerPath = "/run/agent.sock"
        XCTAssertEqual(try Seccomp.build(bare).flags, 8)
        // Never notified: what hands the fd over, and every syscall by default.
        sc.syscalls = [.init(names: ["sendmsg"], action: "SCMP_ACT_NOTIFY")]
        XCTAssertThrowsError(try Seccomp.build(sc)) { XCTAssertTrue("\($0)".contains("sendmsg"), "\($0)") }
        var all = Spec.Seccomp(defaultAction: "SCMP_ACT_NOTIFY")
        all.listenerPath = "/run/agent.sock"
        XCTAssertThrowsError(try Seccomp.build(all))
    }

    func testContainerProcessStateForTheAgent() throws {
        let st = State(id: "c1", status: .creating, pid: 42, bundle: "/b", annotations: nil)
        let text = try JSON.string(ContainerProcessState(pid: 42, metadata: "m", state: st))
        XCTAssertEqual(text, #"{"fds":["seccompFd"],"metadata":"m","ociVersion":"0.2.0","pid":42,"state":{"bundle":"/b","id":"c1","ociVersion":"1.2.0","pid":42,"status":"creating"}}"#)
    }

    func testCgroupFiles() throws {
        var r = Spec.Resources()
        r.memory = .init()
        r.memory!.limit = 100
        r.memory!.swap = 150
        r.cpu = .init()
        r.cpu!.shares = 1024
        r.cpu!.quota = 50000
        r.pids = .init(limit: 5)
        r.unified = ["memory.high": "90"]
        let f = Dictionary(uniqueKeysWithValues: try Cgroup.files(for: r))
        XCTAssertEqual(f["memory.max"], "100")
        XCTAssertEqual(f["memory.swap.max"], "50")
        XCTAssertEqual(f["cpu.weight"], "39")
        XCTAssertEqual(f["cpu.max"], "50000 100000")
        XCTAssertEqual(f["pids.max"], "5")
        XCTAssertEqual(f["memory.high"], "90")
        r.memory!.swap = 50
        XCTAssertThrowsError(try Cgroup.files(for: r))
        XCTAssertEqual(Cgroup.controller(ofFile: "memory.max"), "memory")
        XCTAssertNil(Cgroup.controller(ofFile: "cgroup.max.descendants"))
    }

    func testCgroupPaths() throws {
        XCTAssertEqual(try Cgroup.resolvePath(nil, id: "c1"), "/swiftrun/c1")
        XCTAssertEqual(try Cgroup.resolvePath("/a/b", id: "c1"), "/a/b")
        XCTAssertEqual(try Cgroup.resolvePath("machine.slice:libpod:abc", id: "c1"), "/machine.slice/libpod-abc.scope")
        // systemd's slices nest by dashes (the kubelet's pod slices), as runc expands them.
        XCTAssertEqual(try Cgroup.resolvePath("kubepods-besteffort-pod12.slice:cri-containerd:abc", id: "c1"),
                       "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope")
        XCTAssertEqual(try Cgroup.resolvePath(":libpod:abc", id: "c1"), "/system.slice/libpod-abc.scope")
        XCTAssertEqual(try Cgroup.resolvePath("-.slice:p:abc", id: "c1"), "/p-abc.scope")
        XCTAssertEqual(try Cgroup.resolvePath("machine.slice:p:sub.slice", id: "c1"), "/machine.slice/sub.slice")
        for bad in ["a--b.slice:p:n", "-a.slice:p:n", "notaslice:p:n"] { XCTAssertThrowsError(try Cgroup.resolvePath(bad, id: "c1"), bad) }
        XCTAssertThrowsError(try Cgroup.resolvePath("/a/../b", id: "c1"))
        XCTAssertThrowsError(try Cgroup.resolvePath("/", id: "c1"))
    }

    func testSignals() {
        XCTAssertEqual(Signals.parse("TERM"), SIGTERM)
        XCTAssertEqual(Signals.parse("SIGKILL"), SIGKILL)
        XCTAssertEqual(Signals.parse("sigusr1"), SIGUSR1)
        XCTAssertEqual(Signals.parse("9"), 9)
        XCTAssertEqual(Signals.parse("RTMIN+2"), 36)
        XCTAssertNil(Signals.parse("NOPE"))
        XCTAssertNil(Signals.parse("99"))
    }

    func testRuncCommandLine() throws {
        let specs: [OptionSpec] = [.value("root", nil, ""), .flag("debug", nil, ""), .value("bundle", "b", ""),
                                   .flag("detach", "d", ""), .flag("tty", "t", ""), .value("env", "e", "")]
        var p = try ParsedArgs.parse(["--root", "/r", "-debug", "--bundle=b", "x"], specs)
        XCTAssertEqual(p.value("root"), "/r")
        XCTAssertTrue(p.has("debug"), "Go's single-dash long option")
        XCTAssertEqual(p.value("bundle"), "b")
        XCTAssertEqual(p.positionals, ["x"])
        p = try ParsedArgs.parse(["x", "-b", "b2", "-dt"], specs)
        XCTAssertEqual(p.positionals, ["x"], "options after the ID")
        XCTAssertEqual(p.value("bundle"), "b2")
        XCTAssertTrue(p.has("detach") && p.has("tty"), "grouped shorts")
        p = try ParsedArgs.parse(["-e", "A=1", "--env", "B=2", "-d", "c1", "--", "sh", "-c", "echo -d"], specs, passthroughAfter: 1)
        XCTAssertEqual(p.all("env"), ["A=1", "B=2"])
        XCTAssertEqual(p.positionals, ["c1"])
        XCTAssertEqual(p.rest, ["sh", "-c", "echo -d"], "exec's command is passed through")
        p = try ParsedArgs.parse(["c1", "ls", "-l"], specs, passthroughAfter: 1)
        XCTAssertEqual(p.rest, ["ls", "-l"])
        p = try ParsedArgs.parse(["--detach=false", "x"], specs)
        XCTAssertFalse(p.has("detach"))
        XCTAssertThrowsError(try ParsedArgs.parse(["--nope", "x"], specs)) { XCTAssertEqual("\($0)", "flag provided but not defined: --nope") }
        XCTAssertThrowsError(try ParsedArgs.parse(["x", "--bundle"], specs)) { XCTAssertEqual("\($0)", "flag needs an argument: --bundle") }
    }

    func testIDValidation() {
        XCTAssertNoThrow(try Runtime.validateID("abc-1.2_3"))
        for bad in ["", "..", "a/b", "a b", "x\n"] { XCTAssertThrowsError(try Runtime.validateID(bad), bad) }
    }

    func testSpecDecodingErrorsNameTheField() throws {
        let bad = Array(#"{"ociVersion":"1.0.0","process":{"user":{"uid":0,"gid":0},"cwd":"/","args":"sh"}}"#.utf8)
        XCTAssertThrowsError(try JSON.decode(Spec.self, from: bad, what: "config.json")) { e in
            XCTAssertTrue("\(e)".contains("process.args"), "\(e)")
        }
        let spec = DefaultSpec.make()
        XCTAssertEqual(try JSON.decode(Spec.self, from: try JSON.encode(spec), what: "x"), spec)
    }

    func testTimeFormat() {
        XCTAssertEqual(Time.rfc3339Nano(1_795_423_728_000_000_005), "2026-11-23T08:48:48.000000005Z")
    }
}

final class DeviceFilterTests: XCTestCase {
    func testProgramTestsRulesLastFirstAndDeniesByDefault() throws {
        let rules: [DeviceFilter.Rule] = [.init(allow: true, type: "b", major: 8, minor: -1, access: "r"),
                                          .init(allow: false, type: "a", major: -1, minor: -1, access: "rwm"),
                                          .init(allow: true, type: "c", major: 1, minor: 3, access: "rw")]
        let p = DeviceFilter.program(rules)
        // 6 loads; last rule first: type, access (3), major, minor, verdict (2) = 8; then "deny all",
        // which matches everything: its verdict ends the program (the first rule is unreachable).
        XCTAssertEqual(p.count, 6 + 8 + 2)
        XCTAssertEqual(p[6], DeviceFilter.jne(2, 2, 7), "not a char device: skip the 7 insns left in the block")
        XCTAssertEqual(p[12], DeviceFilter.mov64(0, 1))
        XCTAssertEqual(Array(p.suffix(2)), [DeviceFilter.mov64(0, 0), DeviceFilter.exit], "deny-all decides")
        let open = DeviceFilter.program([.init(allow: true, type: "c", major: 1, minor: -1, access: "rwm")])
        XCTAssertEqual(Array(open.suffix(2)), [DeviceFilter.mov64(0, 0), DeviceFilter.exit], "no match: deny")
        XCTAssertEqual(DeviceFilter.bytes(rules).count, p.count * 8)
    }

    func testRulesFromSpec() throws {
        var s = DefaultSpec.make()
        s.linux!.devices = [.init(type: "c", path: "/dev/fuse", major: 10, minor: 229)]
        let r = try DeviceFilter.rules(for: s)
        XCTAssertEqual(r.first, .init(allow: true, type: "c", major: 10, minor: 229, access: "rwm"))
        XCTAssertEqual(Array(r.dropFirst()), DeviceFilter.defaultAllowed)
        s.linux!.resources = .init()
        s.linux!.resources!.devices = [.init(allow: true, type: "x", major: nil, minor: nil, access: "rwm")]
        XCTAssertThrowsError(try DeviceFilter.rules(for: s))
    }
}

/// state.json keeps what start/state/delete need; the spec is in spec.json. A record
/// written before that split (the spec inside) still reads.
final class ContainerRecordTests: XCTestCase {
    func testRecordsWithTheSpecInsideStillRead() throws {
        let root = "/tmp/swiftrun-record-test-\(getpid())"
        defer { try? Files.removeTree(root) }
        try Files.mkdirAll(root + "/old", mode: 0o700)
        var spec = DefaultSpec.make()
        spec.annotations = ["k": "v"]
        let legacy = #"{"id":"old","bundle":"/b","rootfs":"/b/rootfs","pid":2147483000,"startTime":1,"created":"x","# +
            #""cgroupMount":"/sys/fs/cgroup","cgroupPath":"/swiftrun/old","cgroupCreated":[],"spec":"# +
            String(decoding: try JSON.encode(spec), as: UTF8.self) + "}"
        try Files.writeAtomic(root + "/old/state.json", Array(legacy.utf8))
        let rt = Runtime(root: root)
        let rec = try rt.load("old")
        XCTAssertEqual(try rt.spec(of: rec), spec)
        XCTAssertEqual(try rt.state("old").annotations, ["k": "v"])
        XCTAssertEqual(try rt.state("old").status, .stopped)
        let rewritten = String(decoding: try JSON.encode(rec), as: UTF8.self)
        XCTAssertTrue(rewritten.contains("\"spec\":"), "a legacy record keeps its spec when written back")
    }
}

final class ParallelTests: XCTestCase {
    func testEveryIndexOnceAndTheFirstErrorStopsTheRest() throws {
        let lock = Lock()
        var seen: [Int] = []
        try parallelForEach(100, width: 3) { i in lock.locked { seen.append(i) } }
        XCTAssertEqual(seen.sorted(), Array(0..<100))
        struct Boom: Error {}
        var ran = 0
        XCTAssertThrowsError(try parallelForEach(1000, width: 3) { i in
            lock.locked { ran += 1 }
            if i == 5 { throw Boom() }
            usleep(1000)
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertLessThan(ran, 1000, "no new index after the failure")
        try parallelForEach(0, width: 3) { _ in XCTFail("nothing to do") }
    }
}
