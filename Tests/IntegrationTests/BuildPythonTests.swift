import Foundation
import XCTest

/// The tutorials' Dockerfiles as users write them, on the Python base image made in Sysroot
/// (python-image.sh) with the FastAPI wheels downloaded once (wheels.sh): build, run with a
/// published port, curl, and the health check reaches healthy.
final class BuildPythonTests: EngineTestCase {
    var ctx = ""
    let base = "swiftrun.test/python:3.11-slim"

    override func setUpWithError() throws {
        try super.setUpWithError()
        ctx = root + "-py"
        try loadSysrootImages(["python-image.tar"], wheelsInto: ctx)
        try write("requirements.txt", "fastapi\nuvicorn\n")
        try write("main.py", """
        import os
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/health")
        def health():
            return {"status": "ok", "key_set": bool(os.environ.get("OPENAI_API_KEY"))}

        @app.get("/version")
        def version():
            return {"version": "v1"}
        """)
        try write(".dockerignore", "__pycache__\n*.pyc\n.env\n.git\n")
        try write(".env", "OPENAI_API_KEY=sk-from-dotenv\n")
    }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        if !ctx.isEmpty { try? FileManager.default.removeItem(atPath: ctx) }
    }

    func write(_ rel: String, _ text: String) throws {
        try text.write(toFile: ctx + "/" + rel, atomically: true, encoding: .utf8)
    }

    func build(_ args: [String]) throws -> TestBundle.Result {
        try swiftrun(["build", "--progress", "plain"] + args + [ctx])
    }

    func serveAndCheck(_ image: String, port: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let id = try runDetached(["-p", "127.0.0.1:\(port):8000", "-e", "OPENAI_API_KEY=sk-test", image], file: file, line: line)
        waitUntil(60, "healthy", file: file, line: line) { (try? health(id)?["Status"] as? String) == "healthy" }
        let got = try TestBundle.exec("/usr/bin/curl", ["-fsS", "http://127.0.0.1:\(port)/health"])
        XCTAssertEqual(got.out, #"{"status":"ok","key_set":true}"#, got.err, file: file, line: line)
        XCTAssertEqual(try swiftrun(["stop", "-t", "2", id]).code, 0, file: file, line: line)
    }

    func testSingleStageTutorial() throws {
        try write("Dockerfile", """
        FROM swiftrun.test/python:3.11-slim
        WORKDIR /app
        COPY wheels/ /wheels/
        COPY requirements.txt .
        RUN pip install --no-cache-dir --no-index --find-links /wheels -r requirements.txt
        COPY . .
        RUN useradd -m appuser && chown -R appuser /app
        USER appuser
        EXPOSE 8000
        HEALTHCHECK --interval=1s --timeout=3s --start-period=20s CMD curl -f http://localhost:8000/health || exit 1
        CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]
        """)
        let r = try build(["-t", "chatbot-api:v1"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("Successfully installed"), r.err)
        try serveAndCheck("chatbot-api:v1", port: 18461)
        let files = try swiftrun(["run", "--rm", "chatbot-api:v1", "ls", "-a", "/app"])
        XCTAssertFalse(files.out.contains(".env"), ".dockerignore keeps the secret out: \(files.out)")

        // Editing the code leaves the dependency layer cached.
        try write("main.py", (try String(contentsOfFile: ctx + "/main.py", encoding: .utf8)).replacingOccurrences(of: "v1", with: "v2"))
        let again = try build(["-t", "chatbot-api:v1"])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertFalse(again.err.contains("Successfully installed"), "pip install stayed cached: \(again.err)")
        XCTAssertTrue(again.err.contains("COPY . .\n#") && again.err.contains("chown -R appuser"), again.err)
    }

    func testMultiStageTargets() throws {
        try write("Dockerfile", """
        FROM swiftrun.test/python:3.11-slim AS base
        RUN groupadd -r appgroup && useradd -r -g appgroup -m appuser
        WORKDIR /app

        FROM base AS builder
        COPY wheels/ /wheels/
        COPY requirements.txt .
        RUN pip install --user --no-index --find-links /wheels -r requirements.txt

        FROM base AS prefix-builder
        COPY wheels/ /wheels/
        COPY requirements.txt .
        RUN pip install --prefix=/install --no-index --find-links /wheels -r requirements.txt

        FROM base AS development
        COPY --from=builder /root/.local /root/.local
        ENV PATH=/root/.local/bin:$PATH
        COPY . .
        CMD ["uvicorn", "main:app", "--reload", "--host", "0.0.0.0", "--port", "8000"]

        FROM base AS production
        # Debian's python puts a --prefix install under PREFIX/local (python.org's: PREFIX).
        COPY --from=prefix-builder /install/local /usr/local
        COPY --chown=appuser:appgroup . .
        USER appuser
        HEALTHCHECK --interval=1s --timeout=3s --start-period=20s CMD curl -f http://localhost:8000/health || exit 1
        CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]
        """)
        let dev = try build(["-t", "chatbot-api:dev", "--target", "development"])
        XCTAssertEqual(dev.code, 0, dev.err)
        XCTAssertFalse(dev.err.contains("--prefix=/install"), "only the stages the target needs: \(dev.err)")
        let imp = try swiftrun(["run", "--rm", "chatbot-api:dev", "python", "-c", "import fastapi, uvicorn; print('ok')"])
        XCTAssertEqual(imp.out, "ok\n", imp.err)

        let prod = try build(["-t", "chatbot-api:prod", "--target", "production"])
        XCTAssertEqual(prod.code, 0, prod.err)
        XCTAssertFalse(prod.err.contains("pip install --user"), prod.err)
        let owner = try swiftrun(["run", "--rm", "chatbot-api:prod", "stat", "-c", "%U:%G", "/app/main.py"])
        XCTAssertEqual(owner.out, "appuser:appgroup\n", owner.err)
        try serveAndCheck("chatbot-api:prod", port: 18462)
    }
}
