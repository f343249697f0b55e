import XCTest
import OCI
@testable import Template

final class TemplateTests: XCTestCase {
    func testFields() throws {
        let v = JSONValue.object([("Name", .string("/bot")), ("State", .object([("Status", .string("running")), ("Pid", .number(42)),
                                                                                  ("Health", .object([("Status", .string("healthy"))]))]))])
        XCTAssertEqual(try Template("{{.Name}} {{.State.Status}} {{.State.Pid}}").render(v), "/bot running 42")
        XCTAssertEqual(try Template("{{json .State.Health}}").render(v), #"{"Status":"healthy"}"#)
        let t = try Template("table {{.Name}}\\t{{.State.Status}}")
        XCTAssertTrue(t.table)
        XCTAssertEqual(try t.render(v), "/bot\trunning")
        XCTAssertEqual(try Template("{{.Nope}}").render(v), "<no value>", "a missing key, as Go prints it")
        XCTAssertThrowsError(try Template("{{.Nope}}").render(v, fieldsOf: "*formatter.ContainerContext"), "a struct has no such field") {
            XCTAssertEqual("\($0)", "template: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.ContainerContext")
        }
        XCTAssertEqual(try Template("{{.State.Nope}}").render(v, fieldsOf: "T"), "<no value>", "inside, maps as before")
        XCTAssertThrowsError(try Template("{{.Name.Sub}}").render(v), "a field of a string")
        XCTAssertThrowsError(try Template("{{if .Name}}x"))
        XCTAssertThrowsError(try Template("{{nope .Name}}").render(v))
    }

    /// What Docker's documentation and tutorials write.
    func testDockerIdioms() throws {
        let v = try JSON.parse(Array(#"""
            {"Name": "/api",
             "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "10.88.0.2"}, "backend": {"IPAddress": "10.89.1.3"}},
                                 "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8443"}]}},
             "Config": {"Env": ["A=1", "B=2"], "Labels": {"tier": "web"}},
             "State": {"Running": true, "ExitCode": 0}}
            """#.utf8), what: "test")
        func r(_ t: String) throws -> String { try Template(t).render(v) }
        XCTAssertEqual(try r("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"), "10.89.1.3 10.88.0.2 ", "map values in key order")
        XCTAssertEqual(try r("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}"), "backend=10.89.1.3;bridge=10.88.0.2;")
        XCTAssertEqual(try r(#"{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}"#), "8080")
        XCTAssertEqual(try r(#"{{index .Config.Labels "tier"}}"#), "web")
        XCTAssertEqual(try r(#"{{join .Config.Env ","}}"#), "A=1,B=2")
        XCTAssertEqual(try r("{{len .Config.Env}}"), "2")
        XCTAssertEqual(try r("{{.Name | upper}}"), "/API")
        XCTAssertEqual(try r("{{if .State.Running}}up{{else}}down{{end}}"), "up")
        XCTAssertEqual(try r("{{if eq .State.ExitCode 1}}one{{else if eq .State.ExitCode 0}}zero{{else}}other{{end}}"), "zero")
        XCTAssertEqual(try r("{{with .Config.Labels}}{{.tier}}{{end}}"), "web")
        XCTAssertEqual(try r("{{range .Config.Env}}{{println .}}{{end}}"), "A=1\nB=2\n")
        XCTAssertEqual(try r(#"{{printf "%s:%v" .Name .State.ExitCode}}"#), "/api:0")
        XCTAssertEqual(try r("{{- range .Config.Env }} {{ . -}} {{ end }}"), " A=1 B=2")
        XCTAssertEqual(try r("{{$n := .Name}}{{$n}}"), "/api")
        XCTAssertEqual(try r("{{range .Nope}}x{{else}}none{{end}}"), "none")
    }
}
