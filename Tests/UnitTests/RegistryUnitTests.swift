import XCTest
@testable import Registry
@testable import ImageStore

final class RegistryUnitTests: XCTestCase {
    func testReferencesNormaliseAsDockers() throws {
        var r = try Reference.parse("redis")
        XCTAssertEqual(r.description, "docker.io/library/redis:latest")
        XCTAssertEqual(r.familiar, "redis:latest")
        XCTAssertEqual(r.host, "registry-1.docker.io")
        r = try Reference.parse("user/app:1.2")
        XCTAssertEqual(r.path, "user/app")
        XCTAssertEqual(r.familiar, "user/app:1.2")
        r = try Reference.parse("localhost:5000/app:1")
        XCTAssertEqual(r.domain, "localhost:5000")
        XCTAssertTrue(r.isLoopback)
        XCTAssertEqual(r.familiar, "localhost:5000/app:1")
        let d = "sha256:" + String(repeating: "a", count: 64)
        r = try Reference.parse("ghcr.io/org/tool@" + d)
        XCTAssertNil(r.tag)
        XCTAssertEqual(r.digest, d)
        XCTAssertEqual(try Reference.parse("index.docker.io/library/redis:7").familiar, "redis:7")
        for bad in ["Redis", "redis:", "a//b", "redis@sha256:12", "redis:-x", "../../../x", "Hostile/UPPER", "bad tag",
                    "Busy Box", "x@sha256:bad", "new\nline", "a..b", "a-", "-a", "a/b/", "host:/x", "", String(repeating: "a", count: 64),
                    "x:" + String(repeating: "t", count: 129), String(repeating: "a/", count: 128) + "a"] {
            XCTAssertThrowsError(try Reference.parse(bad), bad.debugDescription) { e in
                XCTAssertTrue("\(e)".hasPrefix("invalid reference format"), "\(e)")
            }
        }
        XCTAssertThrowsError(try Reference.parse("Redis")) {
            XCTAssertEqual("\($0)", "invalid reference format: repository name (library/Redis) must be lowercase")
        }
        for good in ["a__b", "a---b", "a.b_c", "x:_tag", "x:V1.0-rc", "[::1]:5000/a", "my-reg.io:443/team/app:1"] {
            XCTAssertNoThrow(try Reference.parse(good), good)
        }
        // One image, however it is spelled.
        for spelling in ["chatbot:v1", "docker.io/library/chatbot:v1", "index.docker.io/library/chatbot:v1", "library/chatbot:v1"] {
            XCTAssertEqual(try Reference.parse(spelling).familiar, "chatbot:v1", spelling)
        }
        XCTAssertEqual(try Reference.parse("docker.io/user/app").familiar, "user/app:latest")
        XCTAssertEqual(try Reference.parse("docker.io/library/a/b:1").familiar, "library/a/b:1", "library/ is implied for one component only")
        XCTAssertTrue(Reference.isID(String(repeating: "a", count: 64)))
    }

    func testChallengeParameters() {
        let p = RegistryClient.challengeParams(#" realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/redis:pull,push""#)
        XCTAssertEqual(p["realm"], "https://auth.docker.io/token")
        XCTAssertEqual(p["service"], "registry.docker.io")
        XCTAssertEqual(p["scope"], "repository:library/redis:pull,push")
        XCTAssertEqual(RegistryClient.percent("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull")
    }

    func testBase64() {
        XCTAssertEqual(Base64.encode(Array("alice:s3cret".utf8)), "YWxpY2U6czNjcmV0")
        XCTAssertEqual(Base64.encode(Array("ab".utf8)), "YWI=")
        XCTAssertEqual(Base64.decode("YWxpY2U6czNjcmV0").map { String(decoding: $0, as: UTF8.self) }, "alice:s3cret")
    }
}
