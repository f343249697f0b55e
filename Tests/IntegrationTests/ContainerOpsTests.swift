import Foundation
import XCTest

/// pause/unpause, top, container prune, exec -u NAME, rmi of an image in use.
final class ContainerOpsTests: EngineTestCase {
    /// A pause that lands while the supervisor is starting a probe (probes every 20 ms
    /// here) freezes the probe's exec init half way: the supervisor gives that probe up and
    /// records the pause at once. Before, it waited for the thaw, and `pause` returned with
    /// the container shown running. Giving up must not leave the probe's forked process a
    /// zombie child of the supervisor: the container's init would then never finish dying
    /// and `rm -f` would hang (a stress run of 300 cycles at 10 ms met that about 12 times).
    func testPauseDuringProbeStartsIsRecorded() throws {
        _ = try runDetached(["--name", "busy", "--network", "none", "--health-cmd", "true", "--health-interval", "20ms",
                             "--health-start-period", "0s", image])
        waitUntil(10, "healthy") { (try? self.health("busy")?["Status"] as? String) == "healthy" }
        for i in 0..<60 {
            usleep(UInt32.random(in: 0..<40_000)) // land anywhere in the cycle
            XCTAssertEqual(try swiftrun(["pause", "busy"]).code, 0)
            XCTAssertEqual((try inspect("busy")["State"] as? [String: Any])?["Paused"] as? Bool, true, "pause \(i) recorded")
            XCTAssertEqual(try swiftrun(["unpause", "busy"]).code, 0)
        }
        waitUntil(10, "healthy after the last thaw") { (try? self.health("busy")?["Status"] as? String) == "healthy" }
        let rm = try TestBundle.exec("/usr/bin/timeout", ["30", TestBundle.binDir + "/swiftrun"] + withRoot(["rm", "-f", "busy"]))
        XCTAssertEqual(rm.code, 0, "rm -f finished: \(rm.err)")
    }

    func testPauseFreezesAndHealthFollows() throws {
        let id = try runDetached(["--name", "web", "--network", "none", "--health-cmd", "true", "--health-interval", "500ms", image])
        waitUntil(10, "healthy") { (try? self.health("web")?["Status"] as? String) == "healthy" }
        XCTAssertEqual(try swiftrun(["pause", "web"]).out, "web\n")
        let st = try inspect("web")["State"] as? [String: Any] ?? [:]
        XCTAssertEqual(st["Status"] as? String, "paused")
        XCTAssertEqual(st["Paused"] as? Bool, true)
        XCTAssertEqual((st["Health"] as? [String: Any])?["Status"] as? String, "unhealthy", "Docker: a paused container is unhealthy")
        let probes = ((st["Health"] as? [String: Any])?["Log"] as? [Any])?.count ?? 0
        usleep(500_000)
        XCTAssertEqual(((try health("web"))?["Log"] as? [Any])?.count ?? 0, probes, "no probe runs while paused")
        XCTAssertTrue(try swiftrun(["ps"]).out.contains("(Paused)"))
        let again = try swiftrun(["pause", "web"])
        XCTAssertEqual(again.code, 1)
        XCTAssertTrue(again.err.contains("is already paused"), again.err)
        XCTAssertEqual(try swiftrun(["unpause", "web"]).code, 0)
        waitUntil(10, "healthy again") { (try? self.health("web")?["Status"] as? String) == "healthy" }
        XCTAssertEqual((try inspect("web")["State"] as? [String: Any])?["Status"] as? String, "running")
        // A paused container still stops.
        try swiftrun(["pause", "web"])
        XCTAssertEqual(try swiftrun(["stop", "-t", "1", "web"]).code, 0)
        XCTAssertEqual((try inspect("web")["State"] as? [String: Any])?["Status"] as? String, "exited")
        let actions = try events(id).map(\.0)
        XCTAssertTrue(actions.contains("pause") && actions.contains("unpause"), "\(actions)")
        XCTAssertEqual(try swiftrun(["unpause", "web"]).code, 1)
        try swiftrun(["rm", id])
    }

    func testTopAndPrune() throws {
        let id = try runDetached(["--name", "sleeper", "--network", "none", "--no-healthcheck", "--entrypoint", "sh", image, "-c", "sleep 1000 & exec sleep 999"])
        waitUntil(5, "two processes") { (try? self.swiftrun(["top", "sleeper"]).out.split(separator: "\n").count) == 3 }
        let top = try swiftrun(["top", "sleeper"]).out
        XCTAssertTrue(top.hasPrefix("UID"), top)
        XCTAssertTrue(top.contains("sleep 999") && top.contains("sleep 1000"), top)
        let pid = try swiftrun(["top", "sleeper", "-o", "pid,comm"]).out
        XCTAssertEqual(pid.split(separator: "\n").map { $0.split(separator: " ").last ?? "" }, ["COMMAND", "sleep", "sleep"], pid)
        let exited = try swiftrun(["run", "--name", "done", "--network", "none", "--no-healthcheck", "--entrypoint", "true", image])
        XCTAssertEqual(exited.code, 0)
        try swiftrun(["create", "--name", "fresh", "--network", "none", image])
        let prune = try swiftrun(["container", "prune", "-f"])
        XCTAssertTrue(prune.out.hasPrefix("Deleted Containers:\n"), prune.out)
        let left = try swiftrun(["ps", "-a", "--format", "{{.Names}}"]).out
        XCTAssertEqual(left, "sleeper\n", "prune took the exited and the created one, not the running one")
        try swiftrun(["rm", "-f", id])
    }

    func testExecUserByName() throws {
        let id = try runDetached(["--network", "none", "--no-healthcheck", "-u", "root", "--entrypoint", "sleep", image, "1000"])
        XCTAssertEqual(try swiftrun(["exec", "-u", "appuser", id, "id", "-u"]).out, "1000\n")
        XCTAssertEqual(try swiftrun(["exec", "-u", "root:daemon", id, "id", "-g"]).out, "1\n")
        let ghost = try swiftrun(["exec", "-u", "ghost", id, "true"])
        XCTAssertEqual(ghost.code, 126, "Docker's: the command could not run")
        XCTAssertTrue(ghost.err.contains("unable to find user ghost"), ghost.err)
        try swiftrun(["rm", "-f", id])
    }

    func testRmiRefusesAnImageAContainerUses() throws {
        let id = try swiftrun(["create", "--network", "none", "--no-healthcheck", "--entrypoint", "true", image]).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try swiftrun(["rmi", image])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("conflict: unable to remove repository reference") && r.err.contains(String(id.prefix(12))), r.err)
        let f = try swiftrun(["rmi", "-f", image])
        XCTAssertEqual(f.code, 0, f.err)
        XCTAssertTrue(f.out.contains("Untagged: \(image)"), f.out)
        // The layers stayed: the container still starts.
        let start = try swiftrun(["start", "-a", id])
        XCTAssertEqual(start.code, 0, start.err)
        try swiftrun(["rm", "-f", id])
    }

    /// `version` and `info`, as scripts ask them.
    func testVersionAndInfo() throws {
        XCTAssertEqual(try swiftrun(["version", "--format", "{{.Server.Version}}"]).out, try swiftrun(["version", "--format", "{{.Client.Version}}"]).out)
        XCTAssertTrue(try swiftrun(["version"]).out.contains("swiftrun-runc"))
        _ = try runDetached(["--network", "none", "--no-healthcheck", "--entrypoint", "sleep", image, "60"])
        let info = try JSONSerialization.jsonObject(with: Data(try swiftrun(["info", "--format", "json"]).out.utf8)) as! [String: Any]
        XCTAssertEqual(info["ContainersRunning"] as? Int, 1)
        XCTAssertEqual(info["Images"] as? Int, 1)
        XCTAssertEqual(info["DockerRootDir"] as? String, root)
        XCTAssertEqual(info["CgroupVersion"] as? String, FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.controllers") ? "1" : "2")
        XCTAssertEqual(try swiftrun(["info", "--format", "{{.Containers}}"]).out, "1\n")
        XCTAssertEqual(try swiftrun(["info", "--format", "{{.Nope}}"]).code, 1)
    }

    /// `image prune` takes dangling images no container uses; `system prune -a --volumes`
    /// stopped containers, every unused image and unused anonymous volumes.
    func testImageAndSystemPrune() throws {
        let dir = root + "-archives"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(try TestBundle.exec("/usr/bin/env", ["python3", TestBundle.packageRoot + "/Tests/Fixtures/make-archives.py", dir]).code, 0)
        for a in ["name-long-form.tar", "gzip-layer.tar", "volume-image.tar"] { XCTAssertEqual(try swiftrun(["load", "-i", dir + "/" + a]).code, 0) }
        XCTAssertEqual(try swiftrun(["tag", "gzipped:v1", "chatbot:v1"]).code, 0) // the first chatbot:v1 is dangling now
        XCTAssertEqual(try swiftrun(["images", "--filter", "dangling=true", "-q"]).out.split(separator: "\n").count, 1)
        XCTAssertEqual(try swiftrun(["create", "--name", "keep", "--network", "none", image]).code, 0)
        XCTAssertEqual(try swiftrun(["create", "--name", "vol", "--network", "none", "withvolume:v1"]).code, 0)
        XCTAssertEqual(try swiftrun(["rm", "vol"]).code, 0) // its anonymous volumes stay
        let pruned = try swiftrun(["image", "prune", "-f"])
        XCTAssertTrue(pruned.out.hasPrefix("Deleted Images:\n"), pruned.out)
        XCTAssertEqual(try swiftrun(["images", "--filter", "dangling=true", "-q"]).out, "")
        XCTAssertEqual(lines(try swiftrun(["images", "-q"]).out).count, 3, "the named ones stay")
        let all = try swiftrun(["system", "prune", "-a", "--volumes", "-f"])
        XCTAssertEqual(all.code, 0, all.err)
        XCTAssertEqual(try swiftrun(["ps", "-aq"]).out, "")
        XCTAssertEqual(try swiftrun(["images", "-q"]).out, "", "no container uses any now")
        XCTAssertEqual(try swiftrun(["volume", "ls", "-q"]).out, "")
    }

    /// A renamed running container's later events (its supervisor's) carry the new name.
    func testEventsAfterRenameCarryTheNewName() throws {
        let id = try runDetached(["--name", "before", "--network", "none", "--no-healthcheck", "--entrypoint", "sleep", image, "300"])
        XCTAssertEqual(try swiftrun(["rename", "before", "after"]).code, 0)
        XCTAssertEqual(try swiftrun(["kill", "after"]).code, 0)
        waitUntil(10, "the die event") { (try? self.events(id).contains { $0.0 == "die" }) == true }
        let text = (try? String(contentsOfFile: root + "/events.log", encoding: .utf8)) ?? ""
        let die = lines(text).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["Action"] as? String == "die" && $0["id"] as? String == id }
        XCTAssertEqual((die?["Actor"] as? [String: Any]).flatMap { ($0["Attributes"] as? [String: Any])?["name"] as? String }, "after")
    }

    /// `system df`: Docker's four rows, what is active and what a prune would give back.
    func testSystemDf() throws {
        func rows() throws -> [String: [String: String]] {
            let r = try swiftrun(["system", "df", "--format", "json"])
            XCTAssertEqual(r.code, 0, r.err)
            var out: [String: [String: String]] = [:]
            for l in lines(r.out) {
                let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: String]
                out[o["Type"]!] = o
            }
            return out
        }
        var df = try rows()
        XCTAssertEqual(df.keys.sorted(), ["Build Cache", "Containers", "Images", "Local Volumes"])
        XCTAssertEqual(df["Images"]?["TotalCount"], "1")
        XCTAssertEqual(df["Images"]?["Active"], "0")
        XCTAssertTrue(df["Images"]?["Reclaimable"]?.hasSuffix("(100%)") == true, "\(df)")

        _ = try runDetached(["--name", "writer", "-u", "root", "-v", "dfdata:/data", "--network", "none", "--no-healthcheck",
                             "--entrypoint", "sh", image, "-c", "head -c 200000 /dev/zero > /data/z; head -c 50000 /dev/zero > /z; sleep 300"])
        XCTAssertEqual(try swiftrun(["volume", "create", "dfidle"]).code, 0)
        waitUntil(10, "the writes") { (try? swiftrun(["exec", "writer", "test", "-s", "/z"]).code) == 0 }
        df = try rows()
        XCTAssertEqual(df["Images"]?["Active"], "1")
        XCTAssertEqual(df["Images"]?["Reclaimable"], "0B (0%)")
        XCTAssertEqual(df["Containers"]?["Size"], "50kB", "the container's writable layer")
        XCTAssertEqual(df["Containers"]?["Reclaimable"], "0B (0%)", "it runs")
        XCTAssertEqual(df["Local Volumes"]?["TotalCount"], "2")
        XCTAssertEqual(df["Local Volumes"]?["Active"], "1")
        XCTAssertEqual(df["Local Volumes"]?["Size"], "200kB")
        XCTAssertEqual(try swiftrun(["stop", "-t", "0", "writer"]).code, 0)
        XCTAssertEqual(try rows()["Containers"]?["Reclaimable"], "50kB (100%)", "a stopped container's layer is reclaimable")
        let table = try swiftrun(["system", "df"])
        XCTAssertTrue(table.out.hasPrefix("TYPE "), table.out)
        let v = try swiftrun(["system", "df", "-v"])
        XCTAssertTrue(v.out.contains("Containers space usage:") && v.out.contains("writer") && v.out.contains("dfidle"), v.out)
    }

    /// Every list takes Docker's --format: a template, json, or 'table TEMPLATE'.
    func testListsTakeTemplates() throws {
        XCTAssertEqual(try swiftrun(["volume", "create", "tplvol"]).code, 0)
        XCTAssertEqual(try swiftrun(["network", "create", "tplnet"]).code, 0)
        defer {
            _ = try? swiftrun(["network", "rm", "tplnet"])
            _ = try? swiftrun(["volume", "rm", "tplvol"])
        }
        XCTAssertEqual(try swiftrun(["volume", "ls", "--format", "{{.Name}}:{{.Driver}}"]).out, "tplvol:local\n")
        XCTAssertTrue(lines(try swiftrun(["network", "ls", "--format", "{{.Name}}"]).out).contains("tplnet"))
        XCTAssertEqual(lines(try swiftrun(["network", "ls", "--format", "table {{.Name}}"]).out).first, "NAME")
        let json = try JSONSerialization.jsonObject(with: Data(try swiftrun(["volume", "ls", "--format", "json"]).out.utf8)) as? [String: Any]
        XCTAssertEqual(json?["Name"] as? String, "tplvol")
        XCTAssertEqual(try swiftrun(["volume", "ls", "--format", "{{.Bogus}}"]).code, 1)
        _ = try runDetached(["--name", "listed", "--network", "none", "--no-healthcheck", "--entrypoint", "sleep", image, "60"])
        XCTAssertEqual(try swiftrun(["ps", "--format", "{{.Names}} {{.State}}"]).out, "listed running\n")
        XCTAssertEqual(lines(try swiftrun(["ps", "--format", "table {{.Names}}"]).out), ["NAMES", "listed"])
    }
}
