import XCTest
@testable import OCI
@testable import Runtime

/// JSON.decodeSpec (the Codable-free reader) must give what the Codable decoder gives.
final class SpecReaderTests: XCTestCase {
    /// Every field of the spec set, so that a key the reader misses shows as a difference.
    static let everything = #"""
    {"ociVersion":"1.2.0","hostname":"h","domainname":"d","annotations":{"a":"b"},
     "root":{"path":"rootfs","readonly":true},
     "process":{"terminal":true,"consoleSize":{"height":24,"width":80},
       "user":{"uid":1,"gid":2,"umask":18,"additionalGids":[3,4],"username":"u"},
       "args":["sh"],"commandLine":"sh","env":["A=1"],"cwd":"/",
       "capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"inheritable":[],"permitted":["CAP_KILL"],"ambient":[]},
       "rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":512}],"noNewPrivileges":true,
       "apparmorProfile":"p","oomScoreAdj":-500,"selinuxLabel":"l"},
     "mounts":[{"destination":"/x","type":"bind","source":"/y","options":["rbind"],
       "uidMappings":[{"containerID":0,"hostID":1000,"size":1}],"gidMappings":[{"containerID":0,"hostID":1000,"size":1}]}],
     "hooks":{"prestart":[{"path":"/p","args":["p"],"env":["E=1"],"timeout":5}],"createRuntime":[{"path":"/c","args":["x"],"env":["E=2"],"timeout":1}],
       "createContainer":[{"path":"/cc","args":["x"],"env":["E=2"],"timeout":1}],"startContainer":[{"path":"/s","args":["x"],"env":["E=2"],"timeout":1}],"poststart":[{"path":"/ps","args":["x"],"env":["E=2"],"timeout":1}],"poststop":[{"path":"/pp","args":["x"],"env":["E=2"],"timeout":1}]},
     "linux":{"uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
       "gidMappings":[{"containerID":0,"hostID":100000,"size":65536}],"sysctl":{"net.ipv4.ip_forward":"1"},
       "cgroupsPath":"/c","namespaces":[{"type":"pid","path":"/proc/1/ns/pid"},{"type":"network","path":"/proc/1/ns/net"}],
       "devices":[{"type":"c","path":"/dev/fuse","major":10,"minor":229,"fileMode":384,"uid":0,"gid":0}],
       "rootfsPropagation":"rslave","maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"],"mountLabel":"m",
       "personality":{"domain":"LINUX","flags":[]},
       "resources":{"devices":[{"allow":false,"type":"a","major":-1,"minor":-1,"access":"rwm"}],
         "memory":{"limit":1,"reservation":2,"swap":3,"kernel":4,"kernelTCP":5,"swappiness":6,"disableOOMKiller":true,
                   "useHierarchy":true,"checkBeforeUpdate":true},
         "cpu":{"shares":1,"quota":2,"burst":3,"period":4,"realtimeRuntime":5,"realtimePeriod":6,"cpus":"0","mems":"0","idle":0},
         "pids":{"limit":10},"blockIO":{"weight":10,"leafWeight":20},"hugepageLimits":[{"pageSize":"2MB","limit":0}],
         "unified":{"memory.high":"1"}},
       "seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
         "flags":["SECCOMP_FILTER_FLAG_LOG"],"listenerPath":"/l","listenerMetadata":"m",
         "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":2,
                      "args":[{"index":0,"value":1,"valueTwo":2,"op":"SCMP_CMP_EQ"}]}]}},
     "unknownField":{"ignored":[1,2,3]}}
    """#

    func codable(_ s: String) throws -> Spec { try JSON.decode(Spec.self, from: Array(s.utf8), what: "t") }
    func reader(_ s: String) -> Spec? {
        guard case .object(let d, _)? = try? JSON.Parser.parse(Array(s.utf8)) else { return nil }
        return try? Spec(SpecObject(d))
    }

    func testEveryFieldReadsAsCodableReadsIt() throws {
        let want = try codable(Self.everything)
        XCTAssertEqual(unsetOptionals(want, "spec"), [], "the fixture must set every field")
        XCTAssertEqual(reader(Self.everything), want, "the reader took the fast path and agrees")
        XCTAssertEqual(try JSON.decodeSpec(Array(Self.everything.utf8), what: "t"), want)
        // runc's default spec, as `spec` writes it.
        let def = try JSON.encode(DefaultSpec.make(args: ["sh"], terminal: true))
        XCTAssertEqual(reader(String(decoding: def, as: UTF8.self)), try codable(String(decoding: def, as: UTF8.self)))
    }

    func testNullsAndErrorsAsCodable() throws {
        let nulls = #"{"ociVersion":"1","hostname":null,"process":{"user":{"uid":0,"gid":0},"cwd":"/","args":null}}"#
        XCTAssertEqual(reader(nulls), try codable(nulls))
        // What the reader refuses goes to the Codable decoder, whose error names the field.
        for bad in [#"{"ociVersion":"1","process":{"user":{"uid":"x","gid":0},"cwd":"/"}}"#,
                    #"{"ociVersion":"1","process":{"user":{"gid":0},"cwd":"/"}}"#,
                    #"{"process":{}}"#, #"{"ociVersion":"1","mounts":[{"type":"bind"}]}"#, "{nope"] {
            XCTAssertNil(reader(bad), bad)
            var fast = "", slow = ""
            do { _ = try JSON.decodeSpec(Array(bad.utf8), what: "t") } catch { fast = "\(error)" }
            do { _ = try codable(bad) } catch { slow = "\(error)" }
            XCTAssertFalse(fast.isEmpty, bad)
            XCTAssertEqual(fast, slow)
            if bad.contains(#""uid":"x""#) { XCTAssertTrue(fast.contains("process.user.uid"), fast) }
        }
    }

    /// Paths of optionals left nil anywhere in a value.
    func unsetOptionals(_ v: Any, _ path: String) -> [String] {
        let m = Mirror(reflecting: v)
        if m.displayStyle == .optional {
            guard let (_, inner) = m.children.first else { return [path] }
            return unsetOptionals(inner, path)
        }
        if m.displayStyle == .collection { return m.children.enumerated().flatMap { unsetOptionals($1.value, "\(path)[\($0)]") } }
        guard m.displayStyle == .struct else { return [] }
        return m.children.flatMap { unsetOptionals($0.value, path + "." + ($0.label ?? "?")) }
    }
}
