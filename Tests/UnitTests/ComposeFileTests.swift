@testable import Compose
import Engine
import ImageStore
import XCTest

/// Compose files read as `docker compose` reads them: discovery, interpolation, merging,
/// YAML 1.2 strings, strict keys and types with file and line, project names, ordering.
final class ComposeFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "swiftrun-compose-unit-" + String(UInt32.random(in: 0...UInt32.max))
        try FileManager.default.createDirectory(atPath: dir + "/My_App-1", withIntermediateDirectories: true)
        dir += "/My_App-1"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    }

    func load(env: [String: String] = [:], files: [String] = [], name: String? = nil) throws -> Project {
        var l = Loader()
        l.environment = env
        l.files = files.map { dir + "/" + $0 }
        l.projectName = name
        return try l.load(cwd: dir)
    }

    func testDiscoveryOverrideAndProjectName() throws {
        try write("docker-compose.yml", "services:\n  api:\n    image: app:v1\n    ports: ['8000:8000']\n    environment: [A=1]\n")
        try write("compose.override.yaml", "services:\n  api:\n    ports: ['9000:9000']\n    environment: [B=2]\n    command: serve --reload\n")
        let p = try load()
        XCTAssertEqual(p.name, "my_app-1", "the directory's name, lowercased")
        let api = try XCTUnwrap(p.service("api"))
        XCTAssertEqual(api.ports, ["8000:8000", "9000:9000"])
        XCTAssertEqual(api.environment, ["A=1", "B=2"])
        XCTAssertEqual(api.command, ["serve", "--reload"])
        XCTAssertEqual(try load(env: ["COMPOSE_PROJECT_NAME": "fromenv"]).name, "fromenv")
        XCTAssertEqual(try load(env: ["COMPOSE_PROJECT_NAME": "fromenv"], name: "flag").name, "flag")
        XCTAssertThrowsError(try load(name: "Bad Name"))
    }

    func testInterpolationFromShellThenDotEnv() throws {
        try write(".env", "# comment\nTAG=v2\nexport PORT=8001\nQUOTED=\"a b\"\nKEY=from-dotenv\n")
        try write("compose.yaml", """
        services:
          api:
            image: "app:${TAG}"
            ports: ["${PORT:-8000}:8000", "${MISSING:-7000}:7000"]
            environment:
              KEY: ${KEY}
              Q: $QUOTED
              LITERAL: $$HOME
              EMPTY: ${NOPE-}
              ALT: ${TAG:+set}
        """)
        let p = try load(env: ["KEY": "from-shell"])
        let api = try XCTUnwrap(p.service("api"))
        XCTAssertEqual(api.image, "app:v2")
        XCTAssertEqual(api.ports, ["8001:8000", "7000:7000"])
        XCTAssertEqual(api.environment, ["KEY=from-shell", "Q=a b", "LITERAL=$HOME", "EMPTY=", "ALT=set"])
        try write("compose.yaml", "services:\n  api:\n    image: x\n    environment:\n      K: ${SECRET:?set SECRET in .env}\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("compose.yaml:5: required variable SECRET is missing a value: set SECRET in .env"), "\($0)") }
    }

    func testYAMLStringsStayStringsAndAnchorsMerge() throws {
        try write("compose.yaml", """
        x-base: &base
          image: base:v1
          restart: unless-stopped
          environment: {MODE: "on"}
        services:
          ssh:
            <<: *base
            ports: [22:22]
            environment: {ENABLED: on, YES_: yes, N: 010}
          web:
            <<: *base
            restart: "no"
        """)
        let p = try load()
        XCTAssertEqual(p.service("ssh")?.ports, ["22:22"], "not sexagesimal 1342")
        XCTAssertEqual(p.service("ssh")?.environment, ["ENABLED=on", "YES_=yes", "N=010"])
        XCTAssertEqual(p.service("ssh")?.restart, "unless-stopped", "merged from the anchor")
        XCTAssertEqual(p.service("web")?.restart, "no", "its own key wins")
    }

    func testUnknownKeysAndWrongTypesNameFileAndLine() throws {
        try write("compose.yaml", "services:\n  api:\n    image: x\n    imagee: y\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("compose.yaml:4: services.api additional property \"imagee\" is not allowed"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    image: x\n    tty: maybe\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("compose.yaml:4: services.api.tty must be a boolean"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    image: x\n    ports: 8000\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("services.api.ports must be a list"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    build: .\n    pid: host\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("services.api.pid is not supported by swiftrun yet"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    build: .\n    secrets: [k]\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("compose.yaml:4: services.api.secrets refers to undefined secret k"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    build: .\nsecrets:\n  k:\n    file: ./nope.txt\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("secrets.k.file") && "\($0)".contains("nope.txt not found"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    build: .\nsecrets:\n  k:\n    external: true\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("external secrets are swarm's"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    command: x\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("neither an image nor a build context"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    image: x\n    volumes: [data:/d]\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("undefined volume data"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    image: [x\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("compose.yaml:4:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 3, column 12)"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n\timage: x\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("compose.yaml:3:1: invalid YAML: found character that cannot start any token"), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    image: x\n    depends_on: [db]\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("compose.yaml:3: service \"api\" depends on undefined service \"db\""), "\($0)") }
        try write("compose.yaml", "services:\n  api:\n    image: x\n    container_name: one\n    scale: 2\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("container_name \"one\" names one container, but the service scales to 2"), "\($0)") }
        try write("compose.yaml", "x-anything: [1]\nservices:\n  api:\n    image: x\n    x-note: ignored\n")
        XCTAssertNoThrow(try load())
    }

    func testServiceShapes() throws {
        try write("creds.env", "DB_PASSWORD=secret\nDEBUG=0\n")
        try write("compose.yaml", """
        services:
          api:
            build:
              context: ./api
              dockerfile: Dockerfile.prod
              target: production
              args: {VERSION: "1.0"}
            env_file: [creds.env]
            environment: [DEBUG=1, FROM_SHELL]
            ports:
              - target: 8000
                published: "8080"
                host_ip: 127.0.0.1
            volumes:
              - ./src:/app/src:ro
              - data:/var/lib/data
              - /cache
              - {type: tmpfs, target: /tmp, tmpfs: {size: 64m}}
            depends_on:
              db: {condition: service_healthy}
              cache:
                condition: service_started
                required: false
            healthcheck:
              test: curl -f http://localhost:8000/health || exit 1
              interval: 30s
              start_period: 1m30s
              retries: 3
            networks:
              back: {aliases: [api.internal]}
            stop_grace_period: 1m
          db:
            image: postgres:16
            healthcheck: {test: [CMD, pg_isready], interval: 1s}
        volumes: {data: {}}
        networks: {back: {}}
        """)
        let p = try load(env: ["FROM_SHELL": "yes"])
        let api = try XCTUnwrap(p.service("api"))
        XCTAssertEqual(api.build, BuildDef(context: dir + "/api", dockerfile: "Dockerfile.prod", target: "production", args: ["VERSION": "1.0"]))
        XCTAssertEqual(api.environment, ["DB_PASSWORD=secret", "DEBUG=1", "FROM_SHELL=yes"], "environment wins over env_file")
        XCTAssertEqual(api.ports, ["127.0.0.1:8080:8000/tcp"])
        XCTAssertEqual(api.volumes, [dir + "/src:/app/src:ro", p.name + "_data:/var/lib/data", "/cache"])
        XCTAssertEqual(api.tmpfs, ["/tmp:size=64m"])
        XCTAssertEqual(api.dependsOn, [DependsOn(service: "db", condition: .healthy, required: true),
                                       DependsOn(service: "cache", condition: .started, required: false)])
        XCTAssertEqual(api.healthcheck?.test, ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"])
        XCTAssertEqual(api.healthcheck?.startPeriod, 90_000_000_000)
        XCTAssertEqual(api.networks, [ServiceNetwork(name: "back", aliases: ["api.internal"])])
        XCTAssertEqual(api.stopGracePeriod, 60_000_000_000)
        XCTAssertEqual(p.networks["back"]?.name, p.name + "_back")
        XCTAssertEqual(p.service("db")?.healthcheck?.test, ["CMD", "pg_isready"])
        XCTAssertEqual(p.service("db")?.networks, [ServiceNetwork(name: "default", aliases: [])])
        XCTAssertEqual(p.networks["default"]?.name, p.name + "_default")
    }

    /// secrets and configs in their forms (file, environment, inline content; short and long
    /// syntax), and ulimits.
    func testSecretsConfigsAndUlimits() throws {
        try write("openai.txt", "sk-file\n")
        try write("compose.yaml", """
        services:
          api:
            image: x
            secrets:
              - openai_key
              - source: db_pass
                target: db_password
                uid: "1000"
                mode: 0440
            configs:
              - app_conf
              - source: app_conf
                target: /etc/app/app.conf
            ulimits:
              nproc: 65535
              nofile: {soft: 20000, hard: 40000}
            devices: ["/dev/fuse:/dev/fuse"]
        secrets:
          openai_key: {file: ./openai.txt}
          db_pass: {environment: DB_PASS}
        configs:
          app_conf:
            content: |
              debug = false
        """)
        let api = try load(env: ["DB_PASS": "hunter2"]).services[0]
        XCTAssertEqual(api.files.map(\.target), ["/run/secrets/openai_key", "/run/secrets/db_password", "/app_conf", "/etc/app/app.conf"])
        XCTAssertEqual(api.files[0].source, .file(dir + "/openai.txt"))
        XCTAssertEqual(api.files[1].source, .content("hunter2"))
        XCTAssertEqual(api.files[1].uid, 1000)
        XCTAssertEqual(api.files[1].mode, 0o440)
        XCTAssertEqual(api.files[2].source, .content("debug = false"))
        XCTAssertEqual(api.ulimits.sorted(), ["nofile=20000:40000", "nproc=65535"])
        XCTAssertEqual(api.devices, ["/dev/fuse:/dev/fuse"])
        XCTAssertThrowsError(try load(env: [:])) { XCTAssertTrue("\($0)".contains("the environment has no DB_PASS"), "\($0)") }
    }

    /// extends: from this file and from another (relative to the project directory), merged
    /// as an override file would be; depends_on is never inherited; cycles are errors.
    func testExtends() throws {
        try write("common.yaml", """
        services:
          pybase:
            image: python-base:v1
            environment: {PYTHONUNBUFFERED: "1", LEVEL: info}
            ports: ["8000:8000"]
            depends_on: [db]
        """)
        try write("compose.yaml", """
        services:
          api:
            extends: {file: common.yaml, service: pybase}
            environment: {LEVEL: debug}
            command: ["uvicorn", "main:app"]
          worker:
            extends: api
            command: ["python", "worker.py"]
            ports: !!seq []
          db: {image: postgres}
        """)
        let p = try load()
        let api = try XCTUnwrap(p.service("api")), worker = try XCTUnwrap(p.service("worker"))
        XCTAssertEqual(api.image, "python-base:v1")
        XCTAssertEqual(api.environment.sorted(), ["LEVEL=debug", "PYTHONUNBUFFERED=1"])
        XCTAssertEqual(api.ports, ["8000:8000"])
        XCTAssertEqual(api.dependsOn.map(\.service), [], "depends_on is never inherited")
        XCTAssertEqual(worker.command, ["python", "worker.py"], "a command is replaced, not added to")
        XCTAssertEqual(worker.environment.sorted(), ["LEVEL=debug", "PYTHONUNBUFFERED=1"], "through api, from common.yaml")
        try write("compose.yaml", "services:\n  a: {extends: b}\n  b: {extends: a, image: x}\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("extends cycle"), "\($0)") }
        try write("compose.yaml", "services:\n  a: {extends: nope}\n")
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("extends: no service nope"), "\($0)") }
    }

    func testProfilesAndOrder() throws {
        try write("compose.yaml", """
        services:
          api: {image: a, depends_on: [db, cache]}
          db: {image: d}
          cache: {image: c, depends_on: [db]}
          debug: {image: x, profiles: [debug]}
        """)
        let p = try load()
        XCTAssertEqual(p.services.map(\.name), ["api", "db", "cache"], "a profile's service is off unless enabled")
        XCTAssertEqual(try load(env: ["COMPOSE_PROFILES": "debug"]).services.count, 4)
        let o = Orchestrator(engine: Engine(store: try ImageStore(root: dir + "/store")), project: p)
        XCTAssertEqual(try o.ordered([]).map(\.name), ["db", "cache", "api"])
        XCTAssertEqual(try o.ordered(["cache"]).map(\.name), ["db", "cache"])
        XCTAssertEqual(try o.ordered(["api"], noDeps: true).map(\.name), ["api"])
        try write("compose.yaml", "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n")
        let cyc = Orchestrator(engine: o.engine, project: try load())
        XCTAssertThrowsError(try cyc.ordered([])) { XCTAssertTrue("\($0)".contains("dependency cycle detected"), "\($0)") }
    }
}
