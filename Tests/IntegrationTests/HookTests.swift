import Foundation
import XCTest

/// Hooks run in the runtime-spec's order, with the state on stdin.
final class HookTests: XCTestCase {
    func testHookOrder() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        let log = b.dir + "/hooks"
        try FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: true)
        func host(_ name: String) -> OCIHook {
            .init(path: "/bin/sh", args: ["sh", "-c", "cat > \(log)/\(name).json; echo \(name) >> \(log)/order"])
        }
        b.spec.mounts!.append(.init(destination: "/hooks", type: "bind", source: log, options: ["bind"]))
        var hooks = OCIHooks()
        hooks.prestart = [host("prestart")]
        hooks.createRuntime = [host("createRuntime")]
        hooks.createContainer = [host("createContainer")]
        hooks.startContainer = [.init(path: "/bin/sh", args: ["sh", "-c", "echo startContainer >> /hooks/order"])]
        hooks.poststart = [host("poststart")]
        hooks.poststop = [host("poststop")]
        b.spec.hooks = hooks
        let r = try b.run(["sh", "-c", "echo process >> /hooks/order"])
        XCTAssertEqual(r.code, 0, r.err)
        let order = lines(try String(contentsOfFile: log + "/order", encoding: .utf8))
        // poststart runs after start returns, so it may land before or after the process's line.
        XCTAssertEqual(Array(order.prefix(4)), ["prestart", "createRuntime", "createContainer", "startContainer"])
        XCTAssertEqual(Set(order[4..<6]), ["process", "poststart"])
        XCTAssertEqual(order.last, "poststop")
        XCTAssertEqual(order.count, 7)
        let state = try String(contentsOfFile: log + "/createRuntime.json", encoding: .utf8)
        XCTAssertTrue(state.contains("\"status\":\"creating\"") && state.contains("\"id\":\"\(b.id)\""), state)
    }

    func testFailingHookAbortsCreate() throws {
        let b = try TestBundle()
        defer { b.cleanup() }
        var hooks = OCIHooks()
        hooks.createRuntime = [.init(path: "/bin/false")]
        b.spec.hooks = hooks
        let r = try b.run(["true"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("createRuntime hook /bin/false failed"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: TestBundle.cgroupRoot + "/swiftrun/" + b.id))
    }
}
