import XCTest
import OCI
@testable import ImageStore

/// Docker's rules from image config and flags to what runs (pure: no root, no files).
final class RunConfigTests: XCTestCase {
    let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n# comment\nweb:x:33:33::/var/www:/bin/false\n"
    let group = "root:x:0:\nusers:x:100:app,web\napp:x:1000:\nextra:x:2000:app\nwww-data:x:33:\n"

    func image(entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String]? = nil, workdir: String? = nil,
               user: String? = nil) -> ImageConfig.ContainerConfig {
        var c = ImageConfig.ContainerConfig()
        c.Entrypoint = entrypoint
        c.Cmd = cmd
        c.Env = env
        c.WorkingDir = workdir
        c.User = user
        return c
    }

    func resolve(_ c: ImageConfig.ContainerConfig?, _ edit: (inout RunConfig.Overrides) -> Void = { _ in },
                 caller: [String: String] = [:]) throws -> RunConfig {
        var o = RunConfig.Overrides()
        edit(&o)
        return try RunConfig.resolve(c, o, passwd: passwd, group: group, callerEnv: caller)
    }

    func testEntrypointAndCmd() throws {
        let c = image(entrypoint: ["uvicorn"], cmd: ["app:app", "--port", "8000"])
        XCTAssertEqual(try resolve(c).args, ["uvicorn", "app:app", "--port", "8000"])
        XCTAssertEqual(try resolve(c) { $0.command = ["--help"] }.args, ["uvicorn", "--help"], "args replace CMD")
        XCTAssertEqual(try resolve(c) { $0.entrypoint = "sh" }.args, ["sh"], "--entrypoint resets CMD")
        XCTAssertEqual(try resolve(c) { $0.entrypoint = "sh"; $0.command = ["-c", "id"] }.args, ["sh", "-c", "id"])
        XCTAssertEqual(try resolve(image(cmd: ["python", "app.py"])).args, ["python", "app.py"])
        XCTAssertEqual(try resolve(c) { $0.entrypoint = ""; $0.command = ["id"] }.args, ["id"], "empty --entrypoint clears it")
        XCTAssertThrowsError(try resolve(image())) { e in XCTAssertTrue("\(e)".contains("no command specified")) }
        XCTAssertThrowsError(try resolve(nil))
    }

    func testEnvironment() throws {
        let c = image(cmd: ["x"], env: ["PATH=/opt/bin", "A=1", "B=2"])
        let r = try resolve(c, { $0.env = ["A=override", "C=3", "FROM_CALLER", "UNSET_IN_CALLER", "B"] }, caller: ["FROM_CALLER": "v", "B": "b"])
        XCTAssertEqual(r.env, ["PATH=/opt/bin", "A=override", "C=3", "FROM_CALLER=v", "B=b"])
        XCTAssertEqual(try resolve(image(cmd: ["x"])).env, [RunConfig.defaultPath], "a PATH is always set")
        XCTAssertThrowsError(try resolve(c) { $0.env = ["=x"] })
    }

    func testWorkingDirectory() throws {
        XCTAssertEqual(try resolve(image(cmd: ["x"])).cwd, "/")
        XCTAssertEqual(try resolve(image(cmd: ["x"], workdir: "/app")).cwd, "/app")
        XCTAssertEqual(try resolve(image(cmd: ["x"], workdir: "/app")) { $0.workdir = "/tmp" }.cwd, "/tmp")
        XCTAssertThrowsError(try resolve(image(cmd: ["x"])) { $0.workdir = "relative" }) { e in
            XCTAssertTrue("\(e)".contains("absolute path"))
        }
    }

    func testUserForms() throws {
        func u(_ s: String?) throws -> [UInt32] {
            let r = try resolve(image(cmd: ["x"], user: s))
            return [r.uid, r.gid] + r.additionalGids
        }
        XCTAssertEqual(try u(nil), [0, 0])
        XCTAssertEqual(try u("app"), [1000, 1000, 100, 2000], "name: its gid and the groups listing it")
        XCTAssertEqual(try u("1000"), [1000, 1000, 100, 2000], "uid found in passwd")
        XCTAssertEqual(try u("4242"), [4242, 0], "uid not in passwd: gid 0")
        XCTAssertEqual(try u("app:extra"), [1000, 2000, 100])
        XCTAssertEqual(try u("web:33"), [33, 33, 100])
        XCTAssertEqual(try u("1000:5"), [1000, 5, 100, 2000])
        XCTAssertEqual(try u("33:www-data"), [33, 33, 100])
        XCTAssertThrowsError(try u("nobody-here")) { e in XCTAssertTrue("\(e)".contains("unable to find user nobody-here")) }
        XCTAssertThrowsError(try u("app:nogroup")) { e in XCTAssertTrue("\(e)".contains("unable to find group nogroup")) }
        // Only the image's files count: without them, names cannot resolve.
        XCTAssertThrowsError(try RunConfig.resolve(image(cmd: ["x"], user: "app"), .init(), passwd: nil, group: nil))
        XCTAssertEqual(try RunConfig.resolve(image(cmd: ["x"], user: "7:8"), .init(), passwd: nil, group: nil).uid, 7)
    }

    func testPassThroughFields() throws {
        var c = image(cmd: ["x"])
        c.StopSignal = "SIGQUIT"
        c.ExposedPorts = ["8000/tcp": .init(), "53/udp": .init()]
        c.Volumes = ["/data": .init()]
        c.Labels = ["a": "b"]
        c.Shell = ["/bin/bash", "-c"]
        c.Healthcheck = .init(Test: ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"], Interval: 30_000_000_000,
                              Timeout: nil, StartPeriod: nil, StartInterval: nil, Retries: 3)
        let r = try resolve(c)
        XCTAssertEqual(r.stopSignal, "SIGQUIT")
        XCTAssertEqual(r.exposedPorts, ["53/udp", "8000/tcp"])
        XCTAssertEqual(r.volumes, ["/data"])
        XCTAssertEqual(r.labels, ["a": "b"])
        XCTAssertEqual(r.shell, ["/bin/bash", "-c"])
        XCTAssertEqual(r.healthcheck?.Retries, 3)
        XCTAssertEqual(try resolve(image(cmd: ["x"])).stopSignal, "SIGTERM")
    }
}
