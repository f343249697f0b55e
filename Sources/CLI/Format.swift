import OCI
import OS
import RuncCLI
import Template

/// Docker's list output, as `ps`, `images`, `volume ls` and `network ls` give it: the default
/// table (`columns`: header and field), `json` (one object per line), or a Go template over
/// each row (`table TEMPLATE`: with a header row). Rows are Go structs of `type`: a field
/// they do not have is an error.
package func printRows(_ rows: [JSONValue], format: String?, columns: [(header: String, field: String)], type: String,
               headers: [String: String] = [:]) throws {
    switch format {
    case nil, "table":
        stdoutWrite(Table.render([columns.map(\.header)] + rows.map { r in columns.map { r[$0.field]?.text ?? "" } }))
    case "json":
        rows.forEach { stdoutWrite($0.json + "\n") }
    case let f?:
        let t = try Template(f)
        if t.table {
            var names = headers
            for c in columns where names[c.field] == nil { names[c.field] = c.header }
            stdoutWrite(t.header(names) + "\n")
        }
        for r in rows { stdoutWrite(try t.render(r, fieldsOf: type) + "\n") }
    }
}
