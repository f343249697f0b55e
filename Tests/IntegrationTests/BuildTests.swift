import Foundation
import XCTest

/// `swiftrun build`: the tutorials' Dockerfile shapes on the busybox test image, the image
/// they make run, the cache, and failures that leave nothing behind.
final class BuildTests: EngineTestCase {
    var ctx = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        ctx = root + "-ctx"
        try? FileManager.default.removeItem(atPath: ctx)
        try FileManager.default.createDirectory(atPath: ctx + "/app", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        try? FileManager.default.removeItem(atPath: ctx)
    }

    func write(_ rel: String, _ text: String) throws {
        let path = ctx + "/" + rel
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func build(_ args: [String]) throws -> TestBundle.Result {
        try swiftrun(["build", "--progress", "plain"] + args + [ctx])
    }

    /// The tutorial shape: a builder stage, a runtime stage with a user, files copied from
    /// both, ignored files left out, a health check; then it runs and becomes healthy.
    let multiStage = """
    # syntax=docker/dockerfile:1
    ARG BASE=swiftrun.test/busybox-httpd:v1
    FROM ${BASE} AS builder
    USER root
    ARG TITLE=hello
    WORKDIR /src
    COPY requirements.txt .
    RUN echo "$TITLE from $(pwd)" > built.txt \\
        && cat requirements.txt

    FROM ${BASE} AS production
    USER root
    ENV APP_HOME=/app PORT=8000
    WORKDIR $APP_HOME
    COPY --from=builder /src/built.txt ./
    COPY --chown=appuser:appuser app/ ./
    RUN rm -f /www/index.html && echo ok > /app/health
    USER appuser
    EXPOSE ${PORT}
    LABEL org.example.tier=api
    HEALTHCHECK --interval=1s --timeout=2s --start-period=5s --retries=3 CMD wget -q -O- http://127.0.0.1:8000/health || exit 1
    ENTRYPOINT ["httpd", "-f", "-p", "8000"]
    CMD ["-h", "/app"]
    """

    func prepareTutorial() throws {
        try write("Dockerfile", multiStage)
        try write("requirements.txt", "fastapi\nuvicorn\n")
        try write("app/main.py", "print('v1')\n")
        try write("app/__pycache__/main.cpython-311.pyc", "compiled")
        try write(".env", "OPENAI_API_KEY=sk-secret\n")
        try write(".dockerignore", "# comment\n.env\n**/__pycache__\n")
    }

    func testMultiStageTutorialBuildsRunsAndIsHealthy() throws {
        try prepareTutorial()
        let r = try build(["-t", "chatbot:v1", "--build-arg", "TITLE=bonjour"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("cat requirements.txt"), r.err)
        XCTAssertTrue(r.err.contains(" fastapi"), "RUN's output is shown: \(r.err)")
        XCTAssertTrue(try swiftrun(["images"]).out.contains("chatbot "), "tagged")

        let config = (try JSONSerialization.jsonObject(with: Data(try swiftrun(["image", "inspect", "chatbot:v1"]).out.utf8)) as! [[String: Any]])[0]["Config"] as! [String: Any]
        XCTAssertEqual(config["User"] as? String, "appuser")
        XCTAssertEqual(config["WorkingDir"] as? String, "/app")
        XCTAssertEqual(config["Entrypoint"] as? [String], ["httpd", "-f", "-p", "8000"])
        XCTAssertEqual(config["Cmd"] as? [String], ["-h", "/app"])
        XCTAssertEqual((config["ExposedPorts"] as? [String: Any])?.keys.sorted(), ["8000/tcp", "8080/tcp"])
        XCTAssertEqual((config["Labels"] as? [String: String])?["org.example.tier"], "api")
        let env = config["Env"] as? [String] ?? []
        XCTAssertTrue(env.contains("APP_HOME=/app") && env.contains("PORT=8000"), "\(env)")
        XCTAssertFalse(env.contains { $0.hasPrefix("TITLE=") || $0.hasPrefix("BASE=") }, "ARGs never reach the image: \(env)")
        let hc = config["Healthcheck"] as? [String: Any] ?? [:]
        XCTAssertEqual(hc["Test"] as? [String], ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8000/health || exit 1"])
        XCTAssertEqual(hc["Interval"] as? Int, 1_000_000_000, "durations in nanoseconds")
        XCTAssertEqual(hc["StartPeriod"] as? Int, 5_000_000_000)

        // The files as a user of the image sees them.
        let look = try swiftrun(["run", "--rm", "--entrypoint", "sh", "chatbot:v1", "-c",
                                 "cat built.txt; stat -c '%U %n' main.py; ls -a /app; test -e /www/index.html && echo still-there; id -un"])
        XCTAssertEqual(look.code, 0, look.err)
        XCTAssertTrue(look.out.contains("bonjour from /src"), "--build-arg reached RUN: \(look.out)")
        XCTAssertTrue(look.out.contains("appuser main.py"), "--chown by name: \(look.out)")
        XCTAssertFalse(look.out.contains("__pycache__"), ".dockerignore: \(look.out)")
        XCTAssertFalse(look.out.contains(".env"), ".dockerignore: \(look.out)")
        XCTAssertFalse(look.out.contains("still-there"), "a file deleted by RUN is a whiteout: \(look.out)")
        XCTAssertTrue(look.out.hasSuffix("appuser\n"), look.out)

        // It serves and its health check passes.
        let id = try runDetached(["-p", "127.0.0.1:18431:8000", "chatbot:v1"])
        waitUntil(20, "healthy") { (try? health(id)?["Status"] as? String) == "healthy" }
        let got = try TestBundle.exec("/usr/bin/wget", ["-q", "-O-", "http://127.0.0.1:18431/health"])
        XCTAssertEqual(got.out, "ok\n", got.err)
    }

    func testTheCacheFollowsContentNotTime() throws {
        try prepareTutorial()
        XCTAssertEqual(try build(["-t", "chatbot:v1"]).code, 0)
        let again = try build(["-t", "chatbot:v1"])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertFalse(again.err.contains("#") && again.err.contains(" fastapi"), "nothing ran: \(again.err)")
        XCTAssertEqual(again.err.components(separatedBy: "CACHED").count - 1, 16, again.err)
        let id1 = try swiftrun(["images", "-q", "chatbot:v1"]).out

        // Touching a file changes nothing; editing app code reruns only from its COPY.
        try write("requirements.txt", "fastapi\nuvicorn\n")
        try write("app/main.py", "print('v2')\n")
        let edited = try build(["-t", "chatbot:v1"])
        XCTAssertEqual(edited.code, 0, edited.err)
        XCTAssertFalse(edited.err.contains(" fastapi"), "the builder stage stayed cached: \(edited.err)")
        XCTAssertTrue(edited.err.contains("COPY --chown=appuser:appuser app/ ./\n#") && !edited.err.contains("app/ ./\n#16 CACHED"), edited.err)
        XCTAssertNotEqual(try swiftrun(["images", "-q", "chatbot:v1"]).out, id1)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "chatbot:v1", "main.py"]).out, "print('v2')\n")

        // A --build-arg a RUN uses reruns it.
        let arg = try build(["-t", "chatbot:v1", "--build-arg", "TITLE=hola"])
        XCTAssertTrue(arg.err.contains(" fastapi"), "RUN ran again: \(arg.err)")

        // The cache outlives rmi of the image, until builder prune.
        XCTAssertEqual(try swiftrun(["rmi", "chatbot:v1"]).code, 0)
        let back = try build(["-t", "chatbot:v1", "--build-arg", "TITLE=hola"])
        XCTAssertFalse(back.err.contains(" fastapi"), back.err)
        XCTAssertEqual(try swiftrun(["rmi", "chatbot:v1"]).code, 0)
        XCTAssertEqual(try swiftrun(["builder", "prune", "-f"]).code, 0)
        XCTAssertEqual(try swiftrun(["images", "-a", "-q"]).out.split(separator: "\n").count, 1, "only the base image is left")
        let cold = try build(["-t", "chatbot:v1", "--no-cache"])
        XCTAssertEqual(cold.code, 0, cold.err)
        XCTAssertFalse(cold.err.contains("CACHED"), cold.err)
    }

    func testTargetBuildsOnlyTheStagesItNeeds() throws {
        try write("Dockerfile", """
        FROM swiftrun.test/busybox-httpd:v1 AS base
        USER root
        RUN echo base > /base
        FROM base AS development
        RUN echo dev > /mode
        FROM base AS production
        RUN echo prod > /mode
        """)
        let r = try build(["-t", "app:dev", "--target", "development"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertFalse(r.err.contains("echo prod"), "production not built: \(r.err)")
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "app:dev", "/base", "/mode"]).out, "base\ndev\n")
        let bad = try build(["--target", "nope"])
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.err.contains("target stage \"nope\" could not be found"), bad.err)
    }

    func testAFailingRunStopsTheBuildAndLeavesNothing() throws {
        try write("Dockerfile", """
        FROM swiftrun.test/busybox-httpd:v1
        USER root
        RUN echo partial > /made-by-the-failing-step && echo 'pip: no matching distribution' && exit 3
        """)
        let before = try swiftrun(["images", "-a", "-q"]).out
        let r = try build(["-t", "broken:v1"])
        XCTAssertEqual(r.code, 1, r.err)
        XCTAssertTrue(r.err.contains("Dockerfile:3"), r.err)
        XCTAssertTrue(r.err.contains("did not complete successfully: exit code: 3"), r.err)
        XCTAssertTrue(r.err.contains("> pip: no matching distribution"), "the last lines: \(r.err)")
        XCTAssertFalse(try swiftrun(["images"]).out.contains("broken"), "nothing tagged")
        XCTAssertEqual(try swiftrun(["ps", "-a", "-q"]).out, "", "no container left")
        // The steps before it are cache; nothing of the failed one is.
        XCTAssertEqual(try swiftrun(["images", "-a", "-q"]).out.split(separator: "\n").count, before.split(separator: "\n").count + 1)
        let tmp = (try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp")) ?? []
        XCTAssertEqual(tmp.filter { $0 != "lock" }, [], "no temporary file left")
    }

    func testSyntaxErrorsNameTheFileAndLine() throws {
        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\n\nRUNN echo\n")
        let r = try build([])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("Dockerfile:3: unknown instruction: RUNN"), r.err)
        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\nCOPY missing.txt /\n")
        let m = try build([])
        XCTAssertEqual(m.code, 1)
        XCTAssertTrue(m.err.contains("Dockerfile:2") && m.err.contains("\"/missing.txt\": not found"), m.err)
        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\nCOPY *.nothing /\nCOPY ../outside /x\n")
        let o = try build([])
        XCTAssertTrue(o.err.contains("Dockerfile:3") && o.err.contains("outside the build context"), "an unmatched wildcard is no error; ../ is: \(o.err)")
    }

    func testContextSymlinksAreCopiedAsLinksNeverFollowed() throws {
        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\nCOPY . /ctx/\n")
        try FileManager.default.createSymbolicLink(atPath: ctx + "/shadow", withDestinationPath: "/etc/shadow")
        try FileManager.default.createSymbolicLink(atPath: ctx + "/up", withDestinationPath: "../../../../etc")
        let r = try build(["-t", "links:v1"])
        XCTAssertEqual(r.code, 0, r.err)
        let look = try swiftrun(["run", "--rm", "--entrypoint", "sh", "links:v1", "-c", "readlink /ctx/shadow; readlink /ctx/up; ls /ctx"])
        XCTAssertEqual(look.out, "/etc/shadow\n../../../../etc\nDockerfile\napp\nshadow\nup\n", look.err)
    }

    func testHeredocsAndShellAndOnbuild() throws {
        try write("Dockerfile", """
        FROM swiftrun.test/busybox-httpd:v1 AS parent
        USER root
        ARG NAME=world
        COPY <<EOF /greeting
        hello $NAME
        EOF
        RUN <<EOF
        echo one > /steps
        echo two >> /steps
        EOF
        SHELL ["/bin/sh", "-ec"]
        RUN cat <<'END' > /literal
        $NAME stays
        END
        ONBUILD RUN echo triggered > /onbuild
        RUN <<EOF
        #!/usr/bin/awk -f
        BEGIN { print "by awk, not by SHELL" > "/shebang" }
        EOF
        """)
        let r = try build(["-t", "here:v1"])
        XCTAssertEqual(r.code, 0, r.err)
        let look = try swiftrun(["run", "--rm", "--entrypoint", "cat", "here:v1", "/greeting", "/steps", "/literal", "/shebang"])
        XCTAssertEqual(look.out, "hello world\none\ntwo\n$NAME stays\nby awk, not by SHELL\n", look.err)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "ls", "here:v1", "/dev/pipes"]).code, 1, "the script is in no layer")
        // ONBUILD fires in a child build, not in the image that declares it.
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "here:v1", "/onbuild"]).code, 1)
        try write("Dockerfile", "FROM here:v1\n")
        XCTAssertEqual(try build(["-t", "child:v1"]).code, 0)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "child:v1", "/onbuild"]).out, "triggered\n")
    }

    func testAddExtractsLocalArchivesAndCopyDoesNot() throws {
        try write("src/pkg/a.txt", "A\n")
        try write("src/pkg/b.txt", "B\n")
        for (name, flag) in [("pkg.tar.gz", "-z"), ("pkg.tar.xz", "-J"), ("pkg.tar.bz2", "-j")] {
            let t = try TestBundle.exec("/usr/bin/tar", ["-C", ctx + "/src", flag, "-cf", ctx + "/" + name, "pkg"])
            XCTAssertEqual(t.code, 0, t.err)
        }
        // By content, as moby decides: a tar.gz named payload.bin is extracted, a text file
        // named notes.tar.gz is copied.
        try FileManager.default.copyItem(atPath: ctx + "/pkg.tar.gz", toPath: ctx + "/payload.bin")
        try write("notes.tar.gz", "just text\n")
        try write("Dockerfile", """
        FROM swiftrun.test/busybox-httpd:v1
        ADD pkg.tar.gz /gz/
        ADD pkg.tar.xz /xz
        ADD pkg.tar.bz2 /bz2/
        COPY pkg.tar.gz /copied/
        ADD --chmod=600 src/pkg/a.txt /plain/
        ADD payload.bin /bin-named/
        ADD notes.tar.gz /notes/
        """)
        let r = try build(["-t", "add:v1"])
        XCTAssertEqual(r.code, 0, r.err)
        let look = try swiftrun(["run", "--rm", "--entrypoint", "sh", "add:v1", "-c",
                                 "cat /gz/pkg/a.txt /xz/pkg/b.txt /bz2/pkg/a.txt; ls /copied; stat -c %a /plain/a.txt; cat /bin-named/pkg/b.txt /notes/notes.tar.gz"])
        XCTAssertEqual(look.out, "A\nB\nA\npkg.tar.gz\n600\nB\njust text\n", look.err)
        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\nADD git@github.com:moby/moby.git /src\n")
        let git = try build([])
        XCTAssertEqual(git.code, 1)
        XCTAssertTrue(git.err.contains("ADD of a git repository is not supported"), git.err)
    }

    /// ADD of http(s) URLs (a server on loopback): the file under the URL's name, 0600, with
    /// the server's Last-Modified, never extracted; --checksum checked; cached on content.
    func testAddFetchesURLs() throws {
        let files = root + "-files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: files) }
        try "setting=1\n".write(toFile: files + "/config.txt", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000_000)], ofItemAtPath: files + "/config.txt")
        try write("src/tool/bin.sh", "echo tool\n")
        XCTAssertEqual(try TestBundle.exec("/usr/bin/tar", ["-C", ctx + "/src", "-czf", files + "/tool.tar.gz", "tool"]).code, 0)
        let sum = try TestBundle.exec("/usr/bin/sha256sum", [files + "/tool.tar.gz"]).out.prefix(64)
        let base = try serveFiles(files)
        let dockerfile = """
        FROM swiftrun.test/busybox-httpd:v1
        ADD \(base)/config.txt /etc/app/
        ADD --checksum=sha256:\(sum) \(base)/tool.tar.gz /opt/tool.tar.gz
        ADD --chown=1234:1234 \(base)/config.txt?v=2 /renamed.txt
        ADD \(base)/ /listing/
        """
        try write("Dockerfile", dockerfile)
        let r = try build(["-t", "fetched:v1"])
        XCTAssertEqual(r.code, 0, r.err)
        let look = try swiftrun(["run", "--rm", "-u", "root", "--entrypoint", "sh", "fetched:v1", "-c",
                                 "cat /etc/app/config.txt; stat -c '%a %Y' /etc/app/config.txt; ls /opt; stat -c '%u' /renamed.txt; ls /listing"])
        XCTAssertEqual(look.out, "setting=1\n600 1000000000\ntool.tar.gz\n1234\n__unnamed__\n", look.err)
        let again = try build(["-t", "fetched:v1"])
        XCTAssertEqual(again.err.components(separatedBy: "CACHED").count - 1 + again.out.components(separatedBy: "CACHED").count - 1, 4,
                       "fetched again, the same content: cached: \(again.err)")
        try "setting=2\n".write(toFile: files + "/config.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try build(["-t", "fetched:v1"]).code, 0)
        XCTAssertEqual(try swiftrun(["run", "--rm", "-u", "root", "--entrypoint", "cat", "fetched:v1", "/etc/app/config.txt"]).out, "setting=2\n", "new content, new layer")

        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\nADD --checksum=sha256:\(String(repeating: "0", count: 64)) \(base)/tool.tar.gz /t\n")
        let wrong = try build([])
        XCTAssertEqual(wrong.code, 1)
        XCTAssertTrue(wrong.err.contains("digest mismatch sha256:\(sum)"), wrong.err)
        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\nADD \(base)/nope.txt /n\n")
        let missing = try build([])
        XCTAssertEqual(missing.code, 1)
        XCTAssertTrue(missing.err.contains("the server answered 404"), missing.err)
    }

    /// Two builds at once on one store, sharing their first steps: both finish, each image
    /// is what its Dockerfile says, and the cache serves a third build of either.
    func testTwoBuildsAtOnce() throws {
        var procs: [(Process, String)] = []
        for name in ["one", "two"] {
            let dir = ctx + "-" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try """
            FROM swiftrun.test/busybox-httpd:v1
            USER root
            RUN sleep 0.3; echo shared > /shared
            RUN echo \(name) > /which
            """.write(toFile: dir + "/Dockerfile", atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestBundle.binDir + "/swiftrun")
            p.arguments = withRoot(["build", "--progress", "plain", "-t", "both:\(name)", dir])
            let log = dir + ".log"
            FileManager.default.createFile(atPath: log, contents: nil)
            p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            p.standardError = p.standardOutput
            procs.append((p, dir))
        }
        defer { for (_, dir) in procs { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".log") } }
        for (p, _) in procs { try p.run() }
        for (p, dir) in procs {
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, (try? String(contentsOfFile: dir + ".log", encoding: .utf8)) ?? "")
        }
        for name in ["one", "two"] {
            let r = try swiftrun(["run", "--rm", "--entrypoint", "cat", "both:\(name)", "/shared", "/which"])
            XCTAssertEqual(r.out, "shared\n\(name)\n", r.err)
        }
        let again = try swiftrun(["build", "--progress", "plain", "-t", "both:one", procs[0].1])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertEqual(again.err.components(separatedBy: "CACHED").count - 1, 3, again.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/tmp/transaction"), "no transaction left open")
        XCTAssertEqual(try swiftrun(["ps", "-aq"]).out, "", "no RUN container left")
    }

    /// A base image the store lacks is pulled (Docker's way); --pull fetches it again even
    /// when the store has one. A registry on loopback holds a newer v1 than the store.
    func testBaseImagesArePulledWhenMissingAndWithPull() throws {
        let addr = try startDistributionRegistry(root + "-registry")
        let base = "\(addr)/lib/base:v1"
        XCTAssertEqual(try swiftrun(["tag", image, base]).code, 0)
        XCTAssertEqual(try swiftrun(["push", base]).code, 0)
        XCTAssertEqual(try swiftrun(["rmi", base]).code, 0)
        try write("Dockerfile", "FROM \(base)\nUSER root\nRUN cat /version 2>/dev/null || echo none > /seen\n")
        let missing = try build(["-t", "pulled:v1"])
        XCTAssertEqual(missing.code, 0, missing.err)
        XCTAssertTrue(missing.err.contains("pulling \(base)"), missing.err)

        // A newer v1 in the registry; the store keeps the old one.
        let newer = ctx + "-newer"
        try FileManager.default.createDirectory(atPath: newer, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: newer) }
        try "FROM \(image)\nUSER root\nRUN echo 2 > /version\n".write(toFile: newer + "/Dockerfile", atomically: true, encoding: .utf8)
        XCTAssertEqual(try swiftrun(["build", "-q", "-t", base, newer]).code, 0)
        XCTAssertEqual(try swiftrun(["push", base]).code, 0)
        XCTAssertEqual(try swiftrun(["tag", image, base]).code, 0)
        try write("Dockerfile", "FROM \(base)\nUSER root\nRUN (cat /version 2>/dev/null || echo none) > /seen\n")
        XCTAssertEqual(try build(["-t", "local:v1"]).code, 0)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "local:v1", "/seen"]).out, "none\n", "the store's v1")
        let pulled = try build(["--pull", "-t", "fresh:v1"])
        XCTAssertEqual(pulled.code, 0, pulled.err)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "fresh:v1", "/seen"]).out, "2\n", "--pull took the registry's v1")
    }

    /// On a terminal (a pty from script(1)) the live view: redrawn in place, the running
    /// step's lines under it, CACHED steps, FINISHED; plain lines when not on a terminal.
    func testProgressLiveViewOnATerminal() throws {
        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\nUSER root\nRUN for i in 1 2 3; do echo line $i; sleep 0.2; done\n")
        func onTTY() throws -> String {
            let cmd = "\(TestBundle.binDir)/swiftrun build --root \(root) -t live:v1 \(ctx)"
            let r = try TestBundle.exec("/usr/bin/script", ["-qfec", cmd, "/dev/null"])
            XCTAssertEqual(r.code, 0, r.out)
            return r.out
        }
        let first = try onTTY()
        XCTAssertTrue(first.contains("[+] Building") && first.contains("FINISHED"), first)
        XCTAssertTrue(first.contains(" => => # line 2"), "the running step's output under it: \(first)")
        XCTAssertTrue(first.contains("\u{1b}[2K") && first.contains("A\r"), "redrawn in place")
        XCTAssertFalse(first.contains("#3 0."), "no plain lines")
        XCTAssertTrue(try onTTY().contains(" => CACHED [stage-0 3/3] RUN"), "a cached step says so")
        let plain = try swiftrun(["build", "-t", "live:v1", ctx])
        XCTAssertTrue(plain.err.contains("#3 CACHED") && !plain.err.contains("[+] Building"), "auto without a terminal: plain: \(plain.err)")
    }

    /// BuildKit's platform ARGs (the cross-compiling shape, FROM --platform=$BUILDPLATFORM);
    /// another platform is refused with the line.
    func testPlatformArgs() throws {
        try write("Dockerfile", """
        FROM --platform=$BUILDPLATFORM swiftrun.test/busybox-httpd:v1 AS build
        ARG TARGETOS
        ARG TARGETARCH
        USER root
        RUN echo "$TARGETOS/$TARGETARCH [$BUILDARCH]" > /arch
        FROM swiftrun.test/busybox-httpd:v1
        COPY --from=build /arch /arch
        """)
        let r = try build(["-t", "arch:v1"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "arch:v1", "/arch"]).out, "linux/amd64 []\n", "BUILDARCH undeclared in the stage")
        try write("Dockerfile", "FROM swiftrun.test/busybox-httpd:v1\nFROM --platform=linux/arm64 swiftrun.test/busybox-httpd:v1\n")
        let arm = try build([])
        XCTAssertEqual(arm.code, 1)
        XCTAssertTrue(arm.err.contains("Dockerfile:2: FROM --platform=linux/arm64: only linux/amd64"), arm.err)
    }

    /// COPY --exclude (.dockerignore's patterns) and --parents (paths kept, from the context
    /// or from a /./ pivot), as Dockerfile 1.7 has them.
    func testCopyExcludeAndParents() throws {
        for f in ["src/app/main.py", "src/app/test_main.py", "src/lib/util.py", "README.md", "docs/x.md"] { try write(f, f + "\n") }
        try write("Dockerfile", """
        FROM swiftrun.test/busybox-httpd:v1
        COPY --exclude=*.md --exclude=**/test_* --exclude=docs . /all/
        COPY --parents src/app/main.py src/lib/ /p/
        COPY --parents ./src/./app/main.py /pivot/
        """)
        let r = try build(["-t", "copyflags:v1"])
        XCTAssertEqual(r.code, 0, r.err)
        let files = try swiftrun(["run", "--rm", "--entrypoint", "find", "copyflags:v1", "/all", "/p", "/pivot", "-type", "f"])
        XCTAssertEqual(lines(files.out).sorted(), ["/all/Dockerfile", "/all/src/app/main.py", "/all/src/lib/util.py",
                                                    "/p/src/app/main.py", "/p/src/lib/util.py", "/pivot/app/main.py"], files.err)
        // An edit of an excluded file changes nothing: every step cached.
        try write("README.md", "changed\n")
        let again = try build(["-t", "copyflags:v1"])
        XCTAssertEqual(again.err.components(separatedBy: "CACHED").count - 1, 3, again.err)
    }

    func testRunMountsCacheSecretBindAndNetwork() throws {
        try write("data/input.txt", "from-bind\n")
        let secretFile = ctx + "-secret.txt"
        try "s3cr3t-value\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        try write("Dockerfile", """
        FROM swiftrun.test/busybox-httpd:v1
        USER root
        RUN --mount=type=cache,target=/var/cache/app date +%s%N >> /var/cache/app/runs && wc -l < /var/cache/app/runs > /runs-seen
        RUN --mount=type=secret,id=api_key wc -c < /run/secrets/api_key > /secret-check
        RUN --mount=type=bind,source=data,target=/mnt/data cp /mnt/data/input.txt /copied.txt
        RUN --network=none cat /sys/class/net/*/operstate | wc -l > /interfaces
        """)
        let r = try build(["-t", "mounts:v1", "--secret", "id=api_key,src=" + secretFile])
        XCTAssertEqual(r.code, 0, r.err)
        let look = try swiftrun(["run", "--rm", "--entrypoint", "sh", "mounts:v1", "-c",
                                 "cat /runs-seen /secret-check /copied.txt /interfaces; ls /run/secrets /var/cache/app /mnt/data 2>&1 | grep -c 'No such file'"])
        XCTAssertEqual(look.out, "1\n13\nfrom-bind\n1\n3\n", "only lo with --network=none; no mount stub left: \(look.err)")
        let leaked = try TestBundle.exec("/usr/bin/grep", ["-rl", "s3cr3t-value", root + "/layers", root + "/blobs"])
        XCTAssertEqual(leaked.out, "", "the secret is in no layer or blob")
        // The cache mount outlives the build.
        let again = try build(["-t", "mounts:v1", "--no-cache", "--secret", "id=api_key,src=" + secretFile])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "mounts:v1", "/runs-seen"]).out, "2\n")
        XCTAssertEqual(try swiftrun(["builder", "prune", "-f"]).code, 0)
        XCTAssertEqual(try build(["-t", "mounts:v1", "--no-cache", "--secret", "id=api_key,src=" + secretFile]).code, 0)
        XCTAssertEqual(try swiftrun(["run", "--rm", "--entrypoint", "cat", "mounts:v1", "/runs-seen"]).out, "1\n", "builder prune emptied the cache mount")
        let missing = try build([])
        XCTAssertEqual(missing.code, 1, "a RUN that needs the secret fails without it")
    }

    func testBuiltImagesSaveAndLoadElsewhere() throws {
        try prepareTutorial()
        XCTAssertEqual(try build(["-t", "chatbot:v1"]).code, 0)
        let tar = ctx + "/../" + (root as NSString).lastPathComponent + "-save.tar"
        defer { try? FileManager.default.removeItem(atPath: tar) }
        XCTAssertEqual(try swiftrun(["save", "-o", tar, "chatbot:v1"]).code, 0)
        let other = root + "-other"
        defer { try? FileManager.default.removeItem(atPath: other) }
        let l = try TestBundle.exec(TestBundle.binDir + "/swiftrun", ["load", "--root", other, "-i", tar])
        XCTAssertEqual(l.code, 0, l.err)
        let run = try TestBundle.exec(TestBundle.binDir + "/swiftrun", ["run", "--root", other, "--rm", "--entrypoint", "sh", "chatbot:v1", "-c", "cat /app/built.txt; test -e /www/index.html || echo gone"])
        XCTAssertEqual(run.out, "hello from /src\ngone\n", run.err)
        let history = try swiftrun(["history", "chatbot:v1"])
        XCTAssertTrue(history.out.contains("COPY --chown=appuser:appuser app/ ./"), history.out)
    }
}

/// Ctrl-C and kill -9 of a build in its RUN step.
final class BuildInterruptTests: EngineTestCase {
    func startBuild(_ ctx: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestBundle.binDir + "/swiftrun")
        p.arguments = ["build", "--root", root, "-t", "slow:v1", ctx]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        try waitUntil(20, "the RUN container") { !(try swiftrun(["ps", "-q"]).out.isEmpty) }
        return p
    }

    func context() throws -> String {
        let ctx = root + "-ctx"
        try FileManager.default.createDirectory(atPath: ctx, withIntermediateDirectories: true)
        try "FROM swiftrun.test/busybox-httpd:v1\nUSER root\nRUN echo started && sleep 60\n".write(toFile: ctx + "/Dockerfile", atomically: true, encoding: .utf8)
        return ctx
    }

    func testCtrlCStopsTheStepAndCleansUp() throws {
        let ctx = try context()
        defer { try? FileManager.default.removeItem(atPath: ctx) }
        let p = try startBuild(ctx)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        XCTAssertEqual(try swiftrun(["ps", "-a", "-q"]).out, "", "no container left")
        XCTAssertFalse(try swiftrun(["images"]).out.contains("slow"))
    }

    func testAKilledBuildIsSweptByTheNext() throws {
        let ctx = try context()
        defer { try? FileManager.default.removeItem(atPath: ctx) }
        let p = try startBuild(ctx)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertFalse(try swiftrun(["ps", "-a", "-q"]).out.isEmpty, "its container outlives it")
        try "FROM swiftrun.test/busybox-httpd:v1\nLABEL x=y\n".write(toFile: ctx + "/Dockerfile", atomically: true, encoding: .utf8)
        let r = try swiftrun(["build", ctx])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try swiftrun(["ps", "-a", "-q"]).out, "", "the next build removed it")
    }
}
