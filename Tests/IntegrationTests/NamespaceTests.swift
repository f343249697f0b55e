import Foundation
import XCTest
import OCI

/// Each namespace is new (or joined by path) as the spec says.
final class NamespaceTests: XCTestCase {
    func ns(_ pid: String, _ type: String) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(type)")
    }

    /// A running container (`sleep 61`) whose namespaces a test joins by path, and its
    /// init's pid; with `userHostID`, in a user namespace of its own mapped there. The
    /// caller cleans it up.
    func runningHolder(userHostID: UInt32? = nil) throws -> (TestBundle, Int32) {
        let holder = try TestBundle(args: ["sleep", "61"])
        if let h = userHostID { holder.enterUserNamespace(.init(type: "user"), hostID: h) }
        do {
            XCTAssertEqual(try holder.create().code, 0)
            XCTAssertEqual(try holder.runc(["start", holder.id]).code, 0)
            return (holder, try XCTUnwrap(holder.state()?.pid))
        } catch {
            holder.cleanup()
            throw error
        }
    }

    func testNewNamespaces() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.linux!.namespaces!.append(.init(type: "time"))
        let script = "echo pid=$$; hostname; for t in mnt pid net ipc uts cgroup time; do echo $t=$(readlink /proc/self/ns/$t); done; cat /proc/self/cgroup; ls /sys/class/net"
        let r = try b.run(["sh", "-c", script])
        XCTAssertEqual(r.code, 0, r.err)
        let out = lines(r.out)
        XCTAssertEqual(out[0], "pid=1")
        XCTAssertEqual(out[1], "testbox")
        for (i, t) in ["mnt", "pid", "net", "ipc", "uts", "cgroup", "time"].enumerated() {
            let host = try ns("self", t)
            XCTAssertNotEqual(out[2 + i], "\(t)=\(host)", "\(t) namespace is new")
        }
        XCTAssertTrue(out.contains("0::/"), "cgroup namespace rooted at the container's cgroup: \(out)")
        XCTAssertEqual(out.last, "lo", "a new network namespace has only lo")
    }

    func testJoinNamespaceByPath() throws {
        let (holder, pid) = try runningHolder()
        defer { holder.cleanup() }
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.linux!.namespaces = b.spec.linux!.namespaces!.map {
            $0.type == "uts" || $0.type == "network" ? .init(type: $0.type, path: "/proc/\(pid)/ns/\($0.type == "network" ? "net" : "uts")") : $0
        }
        b.spec.hostname = nil
        let r = try b.run(["sh", "-c", "readlink /proc/self/ns/uts; readlink /proc/self/ns/net"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), [try ns("\(pid)", "uts"), try ns("\(pid)", "net")])
    }

    func testUserNamespaceMappings() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        b.enterUserNamespace(.init(type: "user"), hostID: 100000)
        let r = try b.run(["sh", "-c", "cat /proc/self/uid_map; id -u; stat -c %t:%T /dev/null"])
        XCTAssertEqual(r.code, 0, r.err)
        let out = lines(r.out).map { $0.split(separator: " ").joined(separator: " ") }
        XCTAssertEqual(out, ["0 100000 65536", "0", "1:3"], "root inside maps to 100000; /dev/null is the host node, bound")
    }
}

extension NamespaceTests {
    /// Joining a pid namespace by path: the init forks into it (setns applies to children).
    func testJoinPidNamespaceByPath() throws {
        let (holder, pid) = try runningHolder()
        defer { holder.cleanup() }
        let b = try TestBundle()
        defer { b.cleanup() }
        b.spec.linux!.namespaces = b.spec.linux!.namespaces!.map {
            $0.type == "pid" ? .init(type: "pid", path: "/proc/\(pid)/ns/pid") : $0
        }
        // Foreground run: exit code and output pass through the fork.
        let r = try b.run(["sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; readlink /proc/self/ns/pid; exit 4"])
        XCTAssertEqual(r.code, 4, r.err)
        let out = lines(r.out)
        guard out.count == 3 else { return XCTFail("output: \(r.out) \(r.err)") }
        XCTAssertNotEqual(out.first, "1", "not the namespace's init")
        XCTAssertEqual(out[1], "sleep 61 ", "sees the holder's init as pid 1")
        XCTAssertEqual(out[2], try ns("\(pid)", "pid"))
        // create + state: the recorded pid is the forked init, which runs until killed.
        let c = try TestBundle(args: ["sleep", "30"])
        defer { c.cleanup() }
        c.spec.linux!.namespaces = b.spec.linux!.namespaces
        XCTAssertEqual(try c.create().code, 0)
        let cpid = try XCTUnwrap(c.state()?.pid)
        XCTAssertEqual(try c.state()?.status, .created)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(cpid)/ns/pid"), try ns("\(pid)", "pid"))
        XCTAssertEqual(try c.runc(["start", c.id]).code, 0)
        XCTAssertEqual(try c.state()?.status, .running)
    }

    /// A new user namespace joining a network namespace the host's user namespace owns (a
    /// pod's, here another container's; crun's exec-root-netns-with-userns joins the host's):
    /// only from the host's user namespace may it be entered, so the init joins first and
    /// unshares the user namespace after, its maps written by the runtime. Then exec in it.
    func testNewUserNamespaceJoiningANetworkNamespace() throws {
        let (holder, pid) = try runningHolder()
        defer { holder.cleanup() }
        let b = try TestBundle(args: ["sleep", "60"])
        defer { b.cleanup() }
        b.enterUserNamespace(.init(type: "user"), hostID: 100000)
        b.spec.linux!.namespaces = b.spec.linux!.namespaces!.map {
            $0.type == "network" ? .init(type: "network", path: "/proc/\(pid)/ns/net") : $0
        }
        XCTAssertEqual(try b.create().code, 0)
        XCTAssertEqual(try b.runc(["start", b.id]).code, 0)
        let r = try b.runc(["exec", b.id, "sh", "-c", "cat /proc/self/uid_map; id -u; echo $$; readlink /proc/self/ns/net; touch /tmp/f; stat -c %u /tmp/f"])
        XCTAssertEqual(r.code, 0, r.err)
        let out = lines(r.out).map { $0.split(separator: " ").joined(separator: " ") }
        guard out.count == 5 else { return XCTFail("output: \(r.out) \(r.err)") }
        XCTAssertEqual(out[0], "0 100000 65536")
        XCTAssertEqual(out[1], "0", "root in its own user namespace")
        XCTAssertNotEqual(out[2], "1", "exec is not pid 1 of the new pid namespace")
        XCTAssertEqual(out[3], try ns("\(pid)", "net"), "the holder's network namespace")
        XCTAssertEqual(out[4], "0")
        let initPid = try XCTUnwrap(b.state()?.pid)
        XCTAssertNotEqual(try ns("\(initPid)", "pid"), try ns("\(pid)", "pid"), "a pid namespace of its own")
        XCTAssertNotEqual(try ns("\(initPid)", "user"), try ns("self", "user"), "a user namespace of its own")
    }

    /// Joining a user namespace by path: the container's new namespaces belong to it, and
    /// root inside is the holder's root (its map, not ours).
    func testJoinUserNamespaceByPath() throws {
        let (holder, pid) = try runningHolder(userHostID: 200000)
        defer { holder.cleanup() }

        let b = try TestBundle()
        defer { b.cleanup() }
        b.enterUserNamespace(.init(type: "user", path: "/proc/\(pid)/ns/user"), hostID: nil)
        let r = try b.run(["sh", "-c", "cat /proc/self/uid_map; id -u; echo $$; readlink /proc/self/ns/user"])
        XCTAssertEqual(r.code, 0, r.err)
        let out = lines(r.out).map { $0.split(separator: " ").joined(separator: " ") }
        XCTAssertEqual(out.count, 4, r.out + r.err)
        XCTAssertEqual(out.first, "0 200000 65536", "the holder's map")
        XCTAssertEqual(Array(out.dropFirst().prefix(2)), ["0", "1"], "root, and PID 1 of a new pid namespace made inside it")
        XCTAssertEqual(out.last, try ns("\(pid)", "user"))
        // Maps belong to a new user namespace only.
        b.spec.linux!.uidMappings = [.init(containerID: 0, hostID: 300000, size: 1)]
        let bad = try b.run(["true"])
        XCTAssertNotEqual(bad.code, 0)
        XCTAssertTrue(bad.err.contains("has its own"), bad.err)
    }
}
