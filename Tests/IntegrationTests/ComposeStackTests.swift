import Foundation
import XCTest

/// The tutorials' stack: a FastAPI API built from its Dockerfile, PostgreSQL and Redis, on
/// images made in Sysroot from Debian's packages (services-image.sh, python-image.sh).
/// `up --wait` brings the databases up healthy before the API, the API reaches both by
/// service name, the database's named volume outlives `down`, and `down -v` removes it.
final class ComposeStackTests: EngineTestCase {
    var dir = ""
    var project = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        dir = root + "-stack"
        project = "s" + String(UUID().uuidString.prefix(8).lowercased())
        try loadSysrootImages(["python-image.tar", "services-image.tar"], wheelsInto: dir)
        try write("requirements.txt", "fastapi\nuvicorn\npsycopg[binary]\nredis\n")
        try write("main.py", """
        import os
        import psycopg
        import redis
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/ready")
        def ready():
            return {"status": "ok"}

        @app.get("/health")
        def health():
            with psycopg.connect(os.environ["DATABASE_URL"]) as c:
                c.execute("CREATE TABLE IF NOT EXISTS visits (n int)")
                c.execute("INSERT INTO visits VALUES (1)")
                visits = c.execute("SELECT count(*) FROM visits").fetchone()[0]
            hits = redis.Redis.from_url(os.environ["REDIS_URL"]).incr("hits")
            return {"db": "ok", "visits": visits, "hits": hits}
        """)
        try write("Dockerfile", """
        FROM swiftrun.test/python:3.11-slim
        WORKDIR /app
        COPY wheels/ /wheels/
        COPY requirements.txt .
        RUN pip install --no-cache-dir --no-index --find-links /wheels -r requirements.txt
        COPY main.py .
        CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]
        """)
        try write(".dockerignore", ".env\n")
        try write(".env", "POSTGRES_PASSWORD=pg-secret\nOPENAI_API_KEY=sk-test\n")
        try write("compose.yaml", """
        services:
          api:
            build: .
            ports: ["127.0.0.1:18495:8000"]
            environment:
              DATABASE_URL: postgresql://chatbot:${POSTGRES_PASSWORD}@db:5432/chatbot
              REDIS_URL: redis://cache:6379/0
              OPENAI_API_KEY: ${OPENAI_API_KEY}
            depends_on:
              db: {condition: service_healthy}
              cache: {condition: service_healthy}
            healthcheck:
              test: ["CMD", "curl", "-f", "http://localhost:8000/ready"]
              interval: 1s
              retries: 60
          db:
            image: swiftrun.test/postgres:15
            environment:
              POSTGRES_USER: chatbot
              POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
              POSTGRES_DB: chatbot
            volumes: [pgdata:/var/lib/postgresql/data]
            healthcheck:
              test: ["CMD-SHELL", "pg_isready -U chatbot -d chatbot -h 127.0.0.1"]
              interval: 1s
              retries: 120
          cache:
            image: swiftrun.test/redis:7
            command: ["redis-server"]
            healthcheck:
              test: ["CMD", "redis-cli", "ping"]
              interval: 1s
              retries: 60
        volumes:
          pgdata:
        """)
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { _ = try? compose(["down", "-v", "-t", "5"]) }
        try super.tearDownWithError()
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func compose(_ args: [String]) throws -> TestBundle.Result {
        try swiftrun(["compose", "-f", dir + "/compose.yaml", "-p", project] + args)
    }

    func health() throws -> [String: Any] {
        let r = try TestBundle.exec("/usr/bin/curl", ["-fsS", "http://127.0.0.1:18495/health"])
        XCTAssertEqual(r.code, 0, r.err + "\n" + ((try? compose(["logs", "--tail", "8", "api"]).out) ?? ""))
        return (try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]) ?? [:]
    }

    func testApiPostgresRedisUpHealthyAndDownWithoutATrace() throws {
        let up = try compose(["up", "-d", "--wait", "--wait-timeout", "180"])
        XCTAssertEqual(up.code, 0, up.err)
        let lines = up.err.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let healthyDB = lines.firstIndex(of: "Container \(project)-db-1  Healthy") ?? -1
        let apiCreated = lines.firstIndex(of: "Container \(project)-api-1  Creating") ?? -1
        XCTAssertTrue(healthyDB >= 0 && healthyDB < apiCreated, "the API is created after the db is healthy: \(up.err)")
        XCTAssertTrue(lines.contains("Container \(project)-api-1  Healthy"), up.err)
        var h = try health()
        XCTAssertEqual(h["db"] as? String, "ok")
        XCTAssertEqual(h["visits"] as? Int, 1)
        XCTAssertEqual(h["hits"] as? Int, 1)
        let ps = try compose(["ps"])
        XCTAssertEqual(ps.out.components(separatedBy: "(healthy)").count - 1, 3, ps.out)

        // down keeps the named volume: the data is there after the next up.
        XCTAssertEqual(try compose(["down"]).code, 0)
        XCTAssertTrue(try swiftrun(["volume", "ls", "-q"]).out.contains("\(project)_pgdata"))
        XCTAssertEqual(try compose(["up", "-d", "--wait", "--wait-timeout", "180"]).code, 0)
        h = try health()
        XCTAssertEqual(h["visits"] as? Int, 2, "the database kept its rows in the volume: \(h)")
        XCTAssertEqual(h["hits"] as? Int, 1, "redis kept nothing (no volume)")

        let down = try compose(["down", "-v"])
        XCTAssertEqual(down.code, 0, down.err)
        XCTAssertEqual(try swiftrun(["ps", "-a", "-q"]).out, "")
        XCTAssertFalse(try swiftrun(["volume", "ls", "-q"]).out.contains(project))
        XCTAssertFalse(try swiftrun(["network", "ls"]).out.contains(project))
    }
}
