import Foundation
import XCTest

/// `compose` on the busybox test image: a db with a health check, a one-shot migration and
/// an API that needs both, brought up in order, reached by service name, recreated when
/// its definition changes, and taken down without a trace.
final class ComposeTests: EngineTestCase {
    var dir = ""
    var project = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        dir = root + "-compose"
        project = "t" + String(UUID().uuidString.prefix(8).lowercased())
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        _ = try? compose(["down", "-v", "--remove-orphans", "-t", "0"])
        try super.tearDownWithError()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func compose(_ args: [String]) throws -> TestBundle.Result {
        try swiftrun(["compose", "-f", dir + "/compose.yaml", "-p", project] + args)
    }

    let stack = """
    x-base: &base
      image: swiftrun.test/busybox-httpd:v1
      user: root
      init: true        # busybox httpd as PID 1 ignores SIGTERM: stop would wait 10 s
    services:
      db:
        <<: *base
        entrypoint: ["sh", "-c"]
        command: ["sleep 1; touch /tmp/ready; exec httpd -f -p 5432 -h /www"]
        healthcheck:
          test: ["CMD-SHELL", "test -f /tmp/ready"]
          interval: 300ms
          retries: 30
        volumes: [dbdata:/data]
      migrate:
        <<: *base
        entrypoint: sh -c "echo migrated > /data/migrated.txt && echo migration done"
        volumes: [dbdata:/data]
        depends_on:
          db: {condition: service_healthy}
      api:
        <<: *base
        environment:
          OPENAI_API_KEY: ${OPENAI_API_KEY:?set it in .env}
          DB_HOST: db
        ports: ["127.0.0.1:${API_PORT}:8080"]
        depends_on:
          db: {condition: service_healthy}
          migrate: {condition: service_completed_successfully}
    volumes:
      dbdata:
    """

    func testTheStackComesUpInOrderAndGoesWithoutATrace() throws {
        try write("compose.yaml", stack)
        try write(".env", "OPENAI_API_KEY=sk-from-dotenv\nAPI_PORT=18491\n")
        let up = try compose(["up", "-d"])
        XCTAssertEqual(up.code, 0, up.err)
        let lines = up.err.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let started = { (c: String) in lines.firstIndex(of: "Container \(self.project)-\(c)-1  Started") ?? -1 }
        XCTAssertTrue(started("db") >= 0 && started("db") < started("migrate") && started("migrate") < started("api"), up.err)
        XCTAssertTrue(lines.contains("Container \(project)-db-1  Healthy"), up.err)
        XCTAssertTrue(lines.contains("Network \(project)_default  Created") && lines.contains("Volume \(project)_dbdata  Created"), up.err)

        let ps = try compose(["ps", "-a"])
        XCTAssertTrue(ps.out.contains("\(project)-db-1") && ps.out.contains("(healthy)"), ps.out)
        XCTAssertTrue(ps.out.contains("Exited (0)"), "the migration ran once: \(ps.out)")
        XCTAssertTrue(ps.out.contains("127.0.0.1:18491->8080/tcp"), ps.out)
        let js = try compose(["ps", "--format", "json"]).out
        // One object per line, as compose v2 prints them.
        let rows = try js.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        XCTAssertEqual(rows.compactMap { $0["Service"] as? String }.sorted(), ["api", "db"], js)
        XCTAssertEqual(rows.first { $0["Service"] as? String == "db" }?["Health"] as? String, "healthy", js)
        let published = rows.first { $0["Service"] as? String == "api" }?["Publishers"] as? [[String: Any]]
        XCTAssertEqual(published?.first?["PublishedPort"] as? Int, 18491, js)
        XCTAssertEqual(try compose(["ps", "--format", "{{.Service}} {{.State}}"]).out.split(separator: "\n").sorted(), ["api running", "db running"])
        XCTAssertEqual(try compose(["ps", "--format", "{{.Bogus}}"]).code, 1, "a field it does not have")

        // The API sees its environment and reaches the db by its service name.
        let ex = try compose(["exec", "-T", "api", "sh", "-c", "echo $OPENAI_API_KEY; wget -q -O- http://db:5432/ | head -1; cat /etc/hostname >/dev/null"])
        XCTAssertEqual(ex.code, 0, ex.err)
        XCTAssertTrue(ex.out.hasPrefix("sk-from-dotenv\n<h1>"), ex.out)
        let got = try TestBundle.exec("/usr/bin/wget", ["-q", "-O-", "http://127.0.0.1:18491/"])
        XCTAssertTrue(got.out.contains("hello"), got.err)
        let logs = try compose(["logs", "migrate"])
        XCTAssertTrue(logs.out.contains("\(project)-migrate-1  | migration done"), logs.out)

        // Unchanged: nothing recreated. A changed service: only it.
        let again = try compose(["up", "-d", "api"])
        XCTAssertTrue(again.err.contains("Container \(project)-api-1  Running"), again.err)
        try write(".env", "OPENAI_API_KEY=sk-rotated\nAPI_PORT=18491\n")
        let changed = try compose(["up", "-d"])
        XCTAssertEqual(changed.code, 0, changed.err)
        XCTAssertTrue(changed.err.contains("Container \(project)-api-1  Recreate"), changed.err)
        XCTAssertTrue(changed.err.contains("Container \(project)-db-1  Running"), changed.err)
        let rotated = try compose(["exec", "-T", "api", "sh", "-c", "echo $OPENAI_API_KEY"])
        XCTAssertEqual(rotated.out, "sk-rotated\n", rotated.err)

        let down = try compose(["down", "-v"])
        XCTAssertEqual(down.code, 0, down.err)
        XCTAssertEqual(try swiftrun(["ps", "-a", "-q"]).out, "")
        XCTAssertFalse(try swiftrun(["network", "ls"]).out.contains(project))
        XCTAssertFalse(try swiftrun(["volume", "ls"]).out.contains(project))
    }

    func testAnUnhealthyDependencyStopsItsDependents() throws {
        try write("compose.yaml", """
        services:
          db:
            image: swiftrun.test/busybox-httpd:v1
            healthcheck: {test: ["CMD", "false"], interval: 200ms, retries: 2}
          api:
            image: swiftrun.test/busybox-httpd:v1
            depends_on: {db: {condition: service_healthy}}
          worker:
            image: swiftrun.test/busybox-httpd:v1
            healthcheck: {disable: true}
          web:
            image: swiftrun.test/busybox-httpd:v1
            depends_on: {worker: {condition: service_healthy}}
        """)
        let r = try compose(["up", "-d", "api"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("dependency failed to start: container \(project)-db-1 is unhealthy"), r.err)
        XCTAssertFalse(try swiftrun(["ps", "-a"]).out.contains("\(project)-api-1"), "the dependent was never created")
        let w = try compose(["up", "-d", "web"])
        XCTAssertEqual(w.code, 1)
        XCTAssertTrue(w.err.contains("dependency failed to start: container \(project)-worker-1 has no healthcheck configured"), w.err)
    }

    func testRunKillAndImages() throws {
        try write("compose.yaml", """
        services:
          db:
            image: swiftrun.test/busybox-httpd:v1
            init: true
          tool:
            image: swiftrun.test/busybox-httpd:v1
            entrypoint: ["sh", "-c"]
            depends_on: [db]
        """)
        let r = try compose(["run", "--rm", "-T", "tool", "echo one-off; wget -q -O- http://db:8080/ | head -1"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("one-off\n<h1>"), "the dependency was started and is reachable by name: \(r.out)")
        XCTAssertFalse(try swiftrun(["ps", "-a"]).out.contains("tool-run"), "--rm removed the one-off container")
        XCTAssertEqual(try compose(["run", "--rm", "-T", "tool", "exit 7"]).code, 7, "its exit code")
        XCTAssertTrue(try compose(["images"]).out.contains("swiftrun.test/busybox-httpd"))
        XCTAssertEqual(try compose(["kill", "db"]).code, 0)
        XCTAssertTrue(try compose(["ps", "-a"]).out.contains("Exited (137)"))
    }

    func testBuildAndWait() throws {
        try FileManager.default.createDirectory(atPath: dir + "/api", withIntermediateDirectories: true)
        try write("api/Dockerfile", """
        FROM swiftrun.test/busybox-httpd:v1
        USER root
        RUN echo built-by-compose > /www/index.html
        HEALTHCHECK --interval=300ms --retries=20 CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1
        """)
        try write("compose.yaml", """
        services:
          api:
            build: ./api
            ports: ["127.0.0.1:18492:8080"]
        """)
        let r = try compose(["up", "--wait"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("Container \(project)-api-1  Healthy"), r.err)
        XCTAssertTrue(try swiftrun(["images"]).out.contains("\(project)-api "), "the image is named PROJECT-SERVICE")
        let got = try TestBundle.exec("/usr/bin/wget", ["-q", "-O-", "http://127.0.0.1:18492/"])
        XCTAssertEqual(got.out, "built-by-compose\n", got.err)
        let cfg = try compose(["config", "--services"])
        XCTAssertEqual(cfg.out, "api\n")
        let bad = try swiftrun(["compose", "-f", dir + "/nope.yaml", "up"])
        XCTAssertEqual(bad.code, 1)
        // down --rmi local: the image compose built goes; the base it was built from stays.
        let down = try compose(["down", "--rmi", "local", "-t", "0"])
        XCTAssertEqual(down.code, 0, down.err)
        XCTAssertTrue(down.err.contains("Image \(project)-api  Removed"), down.err)
        XCTAssertEqual(try swiftrun(["images", "-q", "\(project)-api"]).out, "")
        XCTAssertNotEqual(try swiftrun(["images", "-q", "swiftrun.test/busybox-httpd:v1"]).out, "")
        XCTAssertEqual(try compose(["down", "--rmi", "some"]).code, 1)
    }

    /// `compose ARGS` in the background, its output into `out`; SIGKILLed (by pid) at teardown.
    func spawnCompose(_ args: [String], out: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestBundle.binDir + "/swiftrun")
        p.arguments = withRoot(["compose", "-f", dir + "/compose.yaml", "-p", project] + args)
        FileManager.default.createFile(atPath: out, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        p.standardOutput = h
        p.standardError = h
        try p.run()
        addTeardownBlock { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        return p
    }

    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func running(_ service: String) throws -> Bool {
        try swiftrun(["inspect", "--format", "{{.State.Running}}", "\(project)-\(service)-1"]).out == "true\n"
    }

    /// Attached `up`: every service's lines with its prefix; ^C stops the project, a second
    /// ^C kills what is still stopping (here a PID 1 that ignores SIGTERM, with 60 s of grace).
    func testAttachedUpAndCtrlCTwice() throws {
        try write("compose.yaml", """
        services:
          web:
            image: swiftrun.test/busybox-httpd:v1
            init: true
            entrypoint: ["sh", "-c", "while true; do echo web-line; sleep 0.2; done"]
          stubborn:
            image: swiftrun.test/busybox-httpd:v1
            entrypoint: ["sh", "-c", "while true; do echo stubborn-alive; sleep 0.2; done"]
            stop_grace_period: 60s
          once:
            image: swiftrun.test/busybox-httpd:v1
            entrypoint: ["sh", "-c", "echo once-ran; exit 3"]
        """)
        let out = dir + "/up.out"
        let p = try spawnCompose(["up"], out: out)
        waitUntil(30, "both services' lines, prefixed") {
            let t = self.text(out)
            return t.contains("\(self.project)-web-1       | web-line") && t.contains("\(self.project)-stubborn-1  | stubborn-alive")
        }
        waitUntil(10, "the one-shot's exit, after its line") { self.text(out).contains("\(self.project)-once-1 exited with code 3") }
        XCTAssertTrue(text(out).contains("| once-ran"), text(out))
        XCTAssertTrue(text(out).contains("Attaching to"), text(out))
        XCTAssertFalse(text(out).contains("\u{1b}["), "no colours when the output is not a terminal")
        kill(p.processIdentifier, SIGINT)
        waitUntil(10, "the graceful stop") { self.text(out).contains("Gracefully stopping... (press Ctrl+C again to force)") }
        waitUntil(10, "web to stop") { (try? self.running("web")) == false }
        XCTAssertTrue(try running("stubborn"), "it ignores SIGTERM: still in its grace period")
        kill(p.processIdentifier, SIGINT)
        waitUntil(15, "the second ^C to kill it and up to return") { !p.isRunning }
        XCTAssertFalse(try running("stubborn"))
        XCTAssertTrue(text(out).contains("Container \(project)-stubborn-1  Killed"), text(out))
        XCTAssertEqual(p.terminationStatus, 2, "compose's code for a forced stop")
    }

    /// `logs -f` follows every service until they stop; `top` lists each one's processes.
    func testLogsFollowAndTop() throws {
        try write("compose.yaml", """
        services:
          one:
            image: swiftrun.test/busybox-httpd:v1
            init: true
            entrypoint: ["sh", "-c", "while true; do echo one-tick; sleep 0.2; done"]
          two:
            image: swiftrun.test/busybox-httpd:v1
            init: true
            entrypoint: ["sh", "-c", "while true; do echo two-tick; sleep 0.2; done"]
        """)
        XCTAssertEqual(try compose(["up", "-d"]).code, 0)
        let out = dir + "/logs.out"
        let p = try spawnCompose(["logs", "-f"], out: out)
        waitUntil(10, "both services") { self.text(out).contains("| one-tick") && self.text(out).contains("| two-tick") }
        let before = text(out).components(separatedBy: "| two-tick").count
        waitUntil(10, "new lines as they come") { self.text(out).components(separatedBy: "| two-tick").count > before + 2 }

        let top = try compose(["top"])
        XCTAssertEqual(top.code, 0, top.err)
        XCTAssertTrue(top.out.hasPrefix("\(project)-one-1\nUID "), top.out)
        XCTAssertTrue(top.out.contains("\n\n\(project)-two-1\nUID "), top.out)
        XCTAssertTrue(top.out.contains("two-tick"), "the service's own command: \(top.out)")

        XCTAssertEqual(try compose(["stop", "-t", "1"]).code, 0)
        waitUntil(10, "logs -f to end with the containers") { !p.isRunning }
        XCTAssertEqual(p.terminationStatus, 0)
    }

    /// Files that cannot work: said before anything runs, or with who is in the way.
    func testBadFilesSayWhatIsWrong() throws {
        try write("compose.yaml", """
        services:
          a:
            image: swiftrun.test/busybox-httpd:v1
            env_file: [missing.env]
        """)
        let env = try compose(["up", "-d"])
        XCTAssertEqual(env.code, 1)
        XCTAssertTrue(env.err.contains("compose.yaml:4: services.a.env_file") && env.err.contains("missing.env not found"), env.err)

        // A port this test holds: the error names the holder (this process).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        XCTAssertEqual(listen(fd, 1), 0)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: sa.sin_port))
        try write("compose.yaml", """
        services:
          a:
            image: swiftrun.test/busybox-httpd:v1
            ports: ["127.0.0.1:\(port):8080"]
        """)
        let busy = try compose(["up", "-d"])
        XCTAssertEqual(busy.code, 1)
        XCTAssertTrue(busy.err.contains("Bind for 127.0.0.1:\(port)/tcp failed: port is already allocated (pid \(getpid()) "), busy.err)
    }

    /// secrets (a file, and one from the environment) and configs (inline) read-only at their
    /// targets with their modes and owners; ulimits, shm_size, sysctls; what compose wrote
    /// goes with `down`.
    func testSecretsConfigsAndUlimits() throws {
        try write("openai_key.txt", "sk-from-file\n")
        try write("compose.yaml", """
        services:
          api:
            image: swiftrun.test/busybox-httpd:v1
            user: root
            entrypoint: ["sleep", "300"]
            init: true
            secrets:
              - openai_key
              - source: db_pass
                target: db_password
                uid: "1000"
                mode: 0400
            configs:
              - source: app_conf
                target: /etc/app.conf
            ulimits:
              nofile: {soft: 2048, hard: 4096}
            shm_size: 128m
            sysctls:
              net.core.somaxconn: 1024
        secrets:
          openai_key: {file: ./openai_key.txt}
          db_pass: {environment: DB_PASS_FOR_TEST}
        configs:
          app_conf:
            content: "debug = false"
        """)
        setenv("DB_PASS_FOR_TEST", "hunter2", 1)
        defer { unsetenv("DB_PASS_FOR_TEST") }
        let up = try compose(["up", "-d"])
        XCTAssertEqual(up.code, 0, up.err)
        let look = try compose(["exec", "-T", "api", "sh", "-c",
                                "cat /run/secrets/openai_key /run/secrets/db_password; echo; cat /etc/app.conf; echo; stat -c '%u %a' /run/secrets/db_password; ulimit -n; echo x >> /run/secrets/openai_key || echo read-only; df -k /dev/shm | tail -1 | awk '{print $2}'; cat /proc/sys/net/core/somaxconn"])
        XCTAssertEqual(look.out, "sk-from-file\nhunter2\ndebug = false\n1000 400\n2048\nread-only\n131072\n1024\n", look.err)
        let inspect = try swiftrun(["inspect", "\(project)-api-1"]).out
        XCTAssertFalse(inspect.contains("hunter2"), "a secret is in no record")
        let cfg = try compose(["config"]).out
        XCTAssertTrue(cfg.contains("/run/secrets/db_password") && cfg.contains("soft: 2048"), cfg)
        XCTAssertFalse(cfg.contains("hunter2"), "nor in config's output")
        XCTAssertEqual(try compose(["down", "-t", "0"]).code, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/compose/\(project)"), "what compose wrote went with down")
    }

    /// deploy.replicas and up --scale: PROJECT-SERVICE-1...N, each reachable, exec --index,
    /// scaling down removes the highest numbers and leaves the rest running.
    func testScale() throws {
        try write("compose.yaml", """
        services:
          web:
            image: swiftrun.test/busybox-httpd:v1
            init: true
            deploy: {replicas: 2}
          client:
            image: swiftrun.test/busybox-httpd:v1
            init: true
            entrypoint: ["sleep", "300"]
        """)
        XCTAssertEqual(try compose(["up", "-d"]).code, 0)
        func names() throws -> [String] { lines(try compose(["ps", "--format", "{{.Name}}"]).out).sorted() }
        XCTAssertEqual(try names(), ["\(project)-client-1", "\(project)-web-1", "\(project)-web-2"])
        let h1 = try compose(["exec", "-T", "web", "hostname"]).out, h2 = try compose(["exec", "-T", "--index", "2", "web", "hostname"]).out
        XCTAssertFalse(h1.isEmpty)
        XCTAssertNotEqual(h1, h2, "two containers")
        XCTAssertEqual(try compose(["exec", "-T", "client", "sh", "-c", "wget -q -O- http://web:8080/ | head -c 4"]).out, "<h1>", "the service name reaches it")
        let id1 = try swiftrun(["inspect", "-f", "{{.Id}}", "\(project)-web-1"]).out
        XCTAssertEqual(try compose(["up", "-d", "--scale", "web=1"]).code, 0)
        XCTAssertEqual(try names(), ["\(project)-client-1", "\(project)-web-1"])
        XCTAssertEqual(try swiftrun(["inspect", "-f", "{{.Id}}", "\(project)-web-1"]).out, id1, "web-1 kept running, not recreated")
        XCTAssertEqual(try compose(["up", "-d", "--scale", "web=3"]).code, 0)
        XCTAssertEqual(try names().count, 4)
        XCTAssertEqual(try compose(["up", "-d", "--scale", "nope=2"]).code, 1)
    }
}
