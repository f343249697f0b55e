import XCTest
import OCI
import CShim
@testable import Runtime

final class PlanBuilderTests: XCTestCase {
    func spec(_ edit: (inout Spec) -> Void = { _ in }) -> Spec {
        var s = DefaultSpec.make(args: ["true"], terminal: false)
        edit(&s)
        return s
    }

    func ops(_ s: Spec) throws -> [InitOp] { try PlanBuilder(spec: s, rootfs: "/r").build() }

    func index(_ ops: [InitOp], _ match: (InitOp) -> Bool) -> Int? { ops.firstIndex(where: match) }

    func testDefaultPlanOrder() throws {
        let o = try ops(spec())
        XCTAssertEqual(o.first, .propagation(flags: PlanBuilder.msSlave | PlanBuilder.msRec))
        XCTAssertEqual(o[1], .rootfs("/r"))
        let pivot = try XCTUnwrap(index(o) { $0 == .pivot })
        let firstMask = try XCTUnwrap(index(o) { if case .mask = $0 { return true }; return false })
        XCTAssertLessThan(firstMask, pivot, "masks are applied inside the rootfs before pivot_root")
        let ready = try XCTUnwrap(index(o) { $0 == .ready })
        let wait = try XCTUnwrap(index(o) { $0 == .waitStart })
        XCTAssertEqual(wait, ready + 1)
        XCTAssertEqual(o.last, .exec(args: ["true"], env: spec().process!.env!))
        XCTAssertTrue(o.contains(.rootReadonly))
        XCTAssertTrue(o.contains(.hostname("swiftrun")))
        // no_new_privs comes after start, right before exec.
        XCTAssertEqual(o[o.count - 2], .noNewPrivileges)
    }

    func testSysctlsComeBeforeReadonlyProcSys() throws {
        let o = try ops(spec { $0.linux!.sysctl = ["net.ipv4.ip_forward": "1"] })
        let sysctl = try XCTUnwrap(index(o) { if case .sysctl = $0 { return true }; return false })
        let ro = try XCTUnwrap(index(o) { $0 == .readonly("/proc/sys") })
        XCTAssertLessThan(sysctl, ro)
    }

    func testSeccompPlacementFollowsNoNewPrivileges() throws {
        let sc = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW",
                              syscalls: [.init(names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 38)])
        // With NNP: loaded last, after the start handshake.
        var o = try ops(spec { $0.linux!.seccomp = sc })
        let seccompNNP = try XCTUnwrap(index(o) { if case .seccomp = $0 { return true }; return false })
        XCTAssertGreaterThan(seccompNNP, try XCTUnwrap(index(o) { $0 == .waitStart }))
        // Without NNP it needs CAP_SYS_ADMIN: before capabilities are dropped.
        o = try ops(spec { $0.linux!.seccomp = sc; $0.process!.noNewPrivileges = false })
        let seccomp = try XCTUnwrap(index(o) { if case .seccomp = $0 { return true }; return false })
        XCTAssertLessThan(seccomp, try XCTUnwrap(index(o) { if case .capBounding = $0 { return true }; return false }))
        XCTAssertFalse(o.contains(.noNewPrivileges))
    }

    func testSeccompWithAListenerIsLoadedBeforeTheStartHandshake() throws {
        var sc = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", syscalls: [.init(names: ["mkdir"], action: "SCMP_ACT_NOTIFY")])
        sc.listenerPath = "/run/agent.sock"
        // create hands the fd to the agent: it must come before READY, not after `start`.
        let o = try ops(spec { $0.linux!.seccomp = sc })
        let seccomp = try XCTUnwrap(index(o) { if case .seccomp = $0 { return true }; return false })
        let nnp = try XCTUnwrap(index(o) { $0 == .noNewPrivileges })
        XCTAssertEqual(seccomp, nnp + 1)
        XCTAssertLessThan(seccomp, try XCTUnwrap(index(o) { $0 == .ready }))
        guard case .seccomp(_, let flags) = o[seccomp] else { return XCTFail() }
        XCTAssertEqual(flags & Seccomp.newListener, Seccomp.newListener)
    }

    func testSyncComesBeforeEveryMount() throws {
        // The runtime sends the idmapped trees after the SYNC reply: the init must read
        // that byte before it takes a tree from the socket.
        var idm = Spec.Mount(destination: "/x", type: "bind", source: "/y", options: ["rbind"])
        idm.uidMappings = [.init(containerID: 0, hostID: 1000, size: 10)]
        idm.gidMappings = idm.uidMappings
        let o = try ops(spec {
            $0.hooks = Spec.Hooks()
            $0.hooks!.createRuntime = [.init(path: "/bin/true")]
            $0.mounts!.append(idm)
            $0.linux!.namespaces!.append(.init(type: "user"))
            $0.linux!.uidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
        })
        let sync = try XCTUnwrap(index(o) { $0 == .sync })
        let firstMount = try XCTUnwrap(index(o) { if case .mount = $0 { return true }; return false })
        XCTAssertLessThan(sync, firstMount)
        XCTAssertTrue(o.contains { if case .mount(let m) = $0 { return m.idmap != nil }; return false },
                      "idmapped mounts in a container with its own user namespace")
    }

    func testNewUserNamespaceAfterJoiningByPath() throws {
        let o = try ops(spec {
            $0.linux!.namespaces = $0.linux!.namespaces!.map { $0.type == "network" ? .init(type: "network", path: "/proc/1/ns/net") : $0 }
            $0.linux!.namespaces!.append(.init(type: "user"))
            $0.linux!.uidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
        })
        let join = try XCTUnwrap(index(o) { if case .setns(_, let t) = $0 { return t == 0x4000_0000 }; return false })
        let unshare = try XCTUnwrap(index(o) { if case .unshare(let f) = $0 { return f & 0x1000_0000 != 0 && f & 0x4000_0000 == 0 }; return false })
        let maps = try XCTUnwrap(index(o) { $0 == .mapIDs })
        let fork = try XCTUnwrap(index(o) { $0 == .fork })
        XCTAssertEqual([join, unshare, maps, fork], [join, join + 1, join + 2, join + 3],
                       "join from the host's user namespace, then the new ones, the maps, a fork into the new pid namespace")
        XCTAssertTrue(Namespaces.newUserAfterJoins(spec { $0.linux!.namespaces = [.init(type: "user"), .init(type: "ipc", path: "/x")] }.linux!.namespaces!))
        XCTAssertFalse(Namespaces.newUserAfterJoins(spec().linux!.namespaces!))
    }

    func testMountOptions() throws {
        let b = PlanBuilder(spec: spec(), rootfs: "/r")
        let tmp = try b.mount(.init(destination: "/dev", type: "tmpfs", source: "tmpfs",
                                    options: ["nosuid", "strictatime", "mode=755", "size=65536k", "ro"]), hasNetNS: true)
        XCTAssertEqual(tmp.kind, .fs)
        XCTAssertEqual(tmp.attrSet, PlanBuilder.attrNosuid | PlanBuilder.attrStrictatime | PlanBuilder.attrRdonly)
        XCTAssertEqual(tmp.data.map { "\($0.0)=\($0.1)" }, ["mode=755", "size=65536k"])
        let pts = try b.mount(.init(destination: "/dev/pts", type: "devpts", source: "devpts", options: ["newinstance"]), hasNetNS: true)
        XCTAssertEqual(pts.data.map { $0.0 + "|" + $0.1 }, ["newinstance|"], "a flag has an empty value")
        let bind = try b.mount(.init(destination: "/data", type: "none", source: "/host", options: ["rbind", "ro", "rprivate"]), hasNetNS: true)
        XCTAssertEqual(bind.kind, .bind)
        XCTAssertTrue(bind.recursive)
        XCTAssertEqual(bind.attrSet, PlanBuilder.attrRdonly)
        XCTAssertEqual(bind.propagation, PlanBuilder.msPrivate | PlanBuilder.msRec)
        let cg = try b.mount(.init(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup"), hasNetNS: true)
        XCTAssertEqual(cg.fstype, "cgroup2", "v1 cgroup mounts become the container's cgroup2 view")
        let sys = try b.mount(.init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["ro"]), hasNetNS: false)
        XCTAssertEqual(sys.kind, .bind, "no netns: the host's /sys is bound, as the kernel refuses a new sysfs")
        XCTAssertTrue(sys.noSymlinks)
        XCTAssertThrowsError(try b.mount(.init(destination: "/x", type: "bind", source: "/y", options: ["idmap"]), hasNetNS: true))
        var idm = Spec.Mount(destination: "/x", type: "bind", source: "/y", options: ["rbind", "idmap"])
        idm.uidMappings = [.init(containerID: 0, hostID: 1000, size: 10)]
        idm.gidMappings = [.init(containerID: 5, hostID: 2000, size: 1)]
        let mapped = try b.mount(idm, hasNetNS: true)
        XCTAssertEqual(mapped.idmap, .init(uidMap: "0 1000 10\n", gidMap: "5 2000 1\n"),
                       "as a user namespace's map, as runc writes it: the filesystem's containerID shows as hostID")
        XCTAssertTrue(mapped.data.isEmpty)
        // sync/dirsync: superblock flags, for a new filesystem only.
        let syncFS = try b.mount(.init(destination: "/t", type: "tmpfs", source: "tmpfs", options: ["sync", "dirsync"]), hasNetNS: true)
        XCTAssertEqual(syncFS.data.map { $0.0 }, ["sync", "dirsync"])
        let bound = try b.mount(.init(destination: "/t", type: "bind", source: "/y", options: ["bind", "sync"]), hasNetNS: true)
        XCTAssertTrue(bound.data.isEmpty)
        idm.type = "tmpfs"
        idm.options = ["idmap"]
        XCTAssertThrowsError(try b.mount(idm, hasNetNS: true), "idmapped mounts are binds")
    }

    func testRejectsWhatCannotWork() {
        XCTAssertThrowsError(try ops(spec { $0.linux!.namespaces!.removeAll { $0.type == "mount" } })) { e in
            XCTAssertTrue("\(e)".contains("mount namespace"))
        }
        XCTAssertThrowsError(try ops(spec { $0.linux!.namespaces!.removeAll { $0.type == "uts" } })) { e in
            XCTAssertTrue("\(e)".contains("uts"))
        }
        XCTAssertThrowsError(try ops(spec { $0.process!.args = [] }))
        XCTAssertThrowsError(try ops(spec { $0.process!.rlimits = [.init(type: "RLIMIT_BOGUS", hard: 1, soft: 1)] }))
        XCTAssertThrowsError(try ops(spec { $0.linux!.sysctl = ["../../etc/passwd": "x"] }))
        // Sysctls only where the container has its own namespace for them.
        XCTAssertThrowsError(try ops(spec { $0.linux!.sysctl = ["vm.swappiness": "1"] })) { e in
            XCTAssertTrue("\(e)".contains("not namespaced"))
        }
        XCTAssertThrowsError(try ops(spec { $0.linux!.sysctl = ["fs.mqueue.queues_max": "1"]; $0.linux!.namespaces!.removeAll { $0.type == "ipc" } }))
        XCTAssertThrowsError(try ops(spec { $0.linux!.sysctl = ["net.ipv4.ip_forward": "1"]; $0.linux!.namespaces!.removeAll { $0.type == "network" } }))
        XCTAssertNoThrow(try ops(spec { $0.linux!.sysctl = ["net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "kernel.domainname": "x"] }))
        XCTAssertThrowsError(try ops(spec { $0.linux!.sysctl = ["kernel.hostname": "x"] }), "the spec's hostname is the way")
        XCTAssertThrowsError(try ops(spec { $0.mounts!.append(.init(destination: "relative", type: "tmpfs")) }))
    }

    func testJoiningPidNamespaceForks() throws {
        let o = try ops(spec { s in
            s.linux!.namespaces = s.linux!.namespaces!.map { $0.type == "pid" ? .init(type: "pid", path: "/proc/9/ns/pid") : $0 }
        })
        XCTAssertEqual(Array(o.prefix(2)), [.setns(path: "/proc/9/ns/pid", type: 0x2000_0000), .fork],
                       "setns(CLONE_NEWPID) applies to children: fork before anything else")
    }

    func testJoiningUserNamespaceGoesFirstAndUnsharesTheRest() throws {
        let o = try ops(spec { $0.linux!.namespaces!.append(.init(type: "user", path: "/proc/9/ns/user")) })
        let pidMntEtc = UInt64(0x2000_0000 | 0x4000_0000 | 0x0002_0000 | 0x0800_0000 | 0x0400_0000 | 0x0200_0000)
        XCTAssertEqual(Array(o.prefix(3)), [.setns(path: "/proc/9/ns/user", type: 0x1000_0000), .unshare(flags: Int64(pidMntEtc)), .fork],
                       "the user namespace first, then the new ones made inside it, then a fork into the new pid namespace")
        XCTAssertEqual(try Namespaces.cloneFlags([.init(type: "user", path: "/x")]), 0)
        XCTAssertThrowsError(try ops(spec {
            $0.linux!.namespaces!.append(.init(type: "user", path: "/proc/9/ns/user"))
            $0.linux!.uidMappings = [.init(containerID: 0, hostID: 1000, size: 1)]
        }), "maps are for a new user namespace")
    }

    func testLookupUsesContainerPath() throws {
        let o = try ops(spec { $0.process!.env = ["PATH=/opt/bin:/bin"]; $0.process!.args = ["app", "-x"] })
        XCTAssertTrue(o.contains(.lookup(file: "app", path: "/opt/bin:/bin")))
        XCTAssertTrue(o.contains(.closeFds(from: 3)))
    }

    func testDevicesAndSymlinks() throws {
        let o = try ops(spec { $0.linux!.devices = [.init(type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o600)] })
        XCTAssertTrue(o.contains(.mkdev(path: "/dev/null", mode: UInt32(S_IFCHR) | 0o666, major: 1, minor: 3, uid: 0, gid: 0)))
        XCTAssertTrue(o.contains(.mkdev(path: "/dev/fuse", mode: UInt32(S_IFCHR) | 0o600, major: 10, minor: 229, uid: 0, gid: 0)))
        XCTAssertTrue(o.contains(.symlink(target: "/proc/self/fd", path: "/dev/fd")))
        XCTAssertTrue(o.contains(.symlink(target: "pts/ptmx", path: "/dev/ptmx")))
    }

    func testEncoding() throws {
        let bytes = PlanEncoder.encode([.hostname("h"), .rlimit(resource: 7, soft: 10, hard: 20)])
        XCTAssertEqual(Array(bytes[0..<4]), [0x53, 0x52, 0x49, 0x31]) // "SRI1"
        XCTAssertEqual(bytes[4], 2)
        // hostname: code, argc=1, len=1, "h", NUL
        XCTAssertEqual(Array(bytes[12..<21]), [UInt8(SR_OP_HOSTNAME.rawValue), 0, 1, 0, 1, 0, 0, 0, 0x68])
        XCTAssertEqual(bytes[21], 0)
    }
}

final class ExecPlanTests: XCTestCase {
    func testExecJoinsForksAndSkipsRootfsSetup() throws {
        let spec = DefaultSpec.make(args: ["sleep", "1"], terminal: false)
        var p = spec.process!
        p.args = ["ps"]
        let ops = try PlanBuilder(spec: spec, rootfs: "/r").buildExec(p)
        XCTAssertEqual(ops[0], .join(flags: 0x2000_0000 | 0x4000_0000 | 0x0800_0000 | 0x0400_0000 | 0x0002_0000 | 0x0200_0000))
        XCTAssertEqual(ops[1], .fork)
        XCTAssertFalse(ops.contains(.pivot))
        XCTAssertFalse(ops.contains(.waitStart), "exec does not wait for start")
        XCTAssertFalse(ops.contains { if case .mount = $0 { return true }; return false })
        XCTAssertEqual(ops.last, .exec(args: ["ps"], env: p.env!))
    }
}
