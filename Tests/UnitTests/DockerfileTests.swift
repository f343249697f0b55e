@testable import Build
import XCTest

/// The Dockerfile parser, substitution and .dockerignore, case by case from BuildKit's and
/// moby's documented semantics.
final class DockerfileParserTests: XCTestCase {
    func parse(_ s: String) throws -> Dockerfile { try Dockerfile.parse(s, file: "Dockerfile") }

    func testContinuationsDropCommentsAndEmptyLines() throws {
        let d = try parse("""
        FROM busybox
        RUN echo a \\
        # a comment inside
            && echo b \\

            && echo c
        """)
        XCTAssertEqual(d.instructions.count, 2)
        XCTAssertEqual(d.instructions[1].args, "echo a     && echo b     && echo c")
        XCTAssertEqual(d.instructions[1].line, 2)
    }

    func testTrailingBlanksAfterTheEscapeStillContinue() throws {
        let d = try parse("RUN a \\  \n b")
        XCTAssertEqual(d.instructions[0].args, "a  b")
    }

    func testEscapeDirectiveOnlyAtTheTop() throws {
        let d = try parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo")
        XCTAssertEqual(d.escape, "`")
        XCTAssertEqual(d.instructions[1].args, "dir c:\\   && echo")
        let late = try parse("FROM x\n# escape=`\nRUN a `\n")
        XCTAssertEqual(late.escape, "\\", "a directive after an instruction is a comment")
        XCTAssertEqual(try parse("# syntax=docker/dockerfile:1\n# escape=\\\nFROM x").directives["syntax"], "docker/dockerfile:1")
        XCTAssertThrowsError(try parse("# escape=x\nFROM a"))
        XCTAssertThrowsError(try parse("# escape=`\n# escape=`\nFROM a"))
    }

    func testJSONFormAndItsFallback() throws {
        let d = try parse("""
        CMD ["python3", "app.py"]
        CMD [not json
        ENTRYPOINT ["a", "b c"]
        """)
        XCTAssertEqual(d.instructions[0].json, ["python3", "app.py"])
        XCTAssertNil(d.instructions[1].json, "invalid JSON is shell form")
        XCTAssertEqual(d.instructions[2].json, ["a", "b c"])
        XCTAssertThrowsError(try parse("CMD [\"a\", 1]")) {
            XCTAssertEqual(($0 as? DockerfileError)?.line, 1)
        }
    }

    func testFlagsAndKeywordsAnyCase() throws {
        let d = try parse("copy --from=builder --chown=app:app /root/.local /root/.local\nfrom python AS base")
        XCTAssertEqual(d.instructions[0].keyword, "COPY")
        XCTAssertEqual(d.instructions[0].flag("from"), "builder")
        XCTAssertEqual(d.instructions[0].flag("chown"), "app:app")
        XCTAssertEqual(d.instructions[0].args, "/root/.local /root/.local")
        XCTAssertEqual(d.instructions[1].keyword, "FROM")
    }

    func testUnknownInstructionNamesFileAndLine() {
        XCTAssertThrowsError(try parse("FROM a\n\nRUNN x")) {
            XCTAssertEqual("\($0)", "Dockerfile:3: unknown instruction: RUNN")
        }
    }

    func testHeredocs() throws {
        let d = try parse("""
        FROM a
        RUN <<EOF
        echo one
        echo two
        EOF
        COPY <<-"END" /etc/conf
        \tkey=$HOME
        \tEND
        RUN python3 <<PY > /out
        print(1)
        PY
        """)
        XCTAssertEqual(d.instructions.count, 4)
        XCTAssertEqual(d.instructions[1].heredocs, [.init(name: "EOF", content: "echo one\necho two\n", expand: true, chomp: false)])
        XCTAssertEqual(d.instructions[2].heredocs, [.init(name: "END", content: "key=$HOME\n", expand: false, chomp: true)])
        XCTAssertEqual(d.instructions[3].heredocs.first?.content, "print(1)\n")
        XCTAssertThrowsError(try parse("RUN <<EOF\necho"))
    }
}

final class ShellLexTests: XCTestCase {
    let env = ["A": "apple", "E": "", "P": "/usr/bin"]
    func x(_ s: String) throws -> String { try ShellLex().process(s) { self.env[$0] } }

    func testEveryForm() throws {
        XCTAssertEqual(try x("$A"), "apple")
        XCTAssertEqual(try x("${A}s"), "apples")
        XCTAssertEqual(try x("$A/$B/x"), "apple//x")
        XCTAssertEqual(try x("${B:-dflt}"), "dflt")
        XCTAssertEqual(try x("${E:-dflt}"), "dflt", ":- also for empty")
        XCTAssertEqual(try x("${E-dflt}"), "", "- only for unset")
        XCTAssertEqual(try x("${B-dflt}"), "dflt")
        XCTAssertEqual(try x("${A:+set}"), "set")
        XCTAssertEqual(try x("${E:+set}"), "")
        XCTAssertEqual(try x("${E+set}"), "set")
        XCTAssertEqual(try x("${B:-$P/x}"), "/usr/bin/x", "the default is expanded")
        XCTAssertThrowsError(try x("${B:?needs B}")) { XCTAssertEqual("\($0)", "B: needs B") }
        XCTAssertThrowsError(try x("${E:?}"))
        XCTAssertEqual(try x("${E?}"), "")
        XCTAssertThrowsError(try x("${A"))
    }

    func testQuotesAndEscapes() throws {
        XCTAssertEqual(try x("'$A'"), "$A")
        XCTAssertEqual(try x("\"$A b\""), "apple b")
        XCTAssertEqual(try x("\\$A"), "$A")
        XCTAssertEqual(try x("\"a\\\"b\\$A\\x\""), "a\"b$A\\x", "in double quotes only \", $ and the escape are escaped")
        XCTAssertEqual(try x("a\\ b"), "a b")
        XCTAssertEqual(try x("$"), "$")
        XCTAssertEqual(try x("a$-"), "a$-")
        XCTAssertEqual(try ShellLex(escape: "`").process("`$A\\x") { self.env[$0] }, "$A\\x")
    }

    func testWordsAndPairs() throws {
        let l = ShellLex()
        XCTAssertEqual(l.words(#"a "b c" 'd e'  f\ g"#), ["a", "\"b c\"", "'d e'", "f\\ g"])
        let p = try l.pairs(#"X=1 Y="two words" Z=$A"#, legacy: true) { self.env[$0] }
        XCTAssertEqual(p.map { "\($0.0)=\($0.1 ?? "-")" }, ["X=1", "Y=two words", "Z=apple"])
        let legacy = try l.pairs("PATH $P:/x  y", legacy: true) { self.env[$0] }
        XCTAssertEqual(legacy.map { "\($0.0)=\($0.1 ?? "-")" }, ["PATH=/usr/bin:/x  y"])
    }
}

final class DockerIgnoreTests: XCTestCase {
    func testMobyRules() {
        let d = DockerIgnore("""
        # comment
         # not a comment: a pattern
        *.pyc
        /build
        **/__pycache__
        docs/*.md
        !docs/README.md
        .git
        .env*
        !.env.example
        """)
        XCTAssertTrue(d.ignores("a.pyc"))
        XCTAssertFalse(d.ignores("pkg/a.pyc"), "* never crosses /")
        XCTAssertTrue(d.ignores("build"))
        XCTAssertTrue(d.ignores("build/lib/x.so"), "a matched directory covers what is under it")
        XCTAssertTrue(d.ignores("__pycache__"))
        XCTAssertTrue(d.ignores("app/sub/__pycache__/m.pyc"))
        XCTAssertTrue(d.ignores("docs/guide.md"))
        XCTAssertFalse(d.ignores("docs/README.md"), "the last match wins")
        XCTAssertFalse(d.ignores("docs/x/guide.md"))
        XCTAssertTrue(d.ignores(".git/config"))
        XCTAssertTrue(d.ignores(".env"))
        XCTAssertFalse(d.ignores(".env.example"))
        XCTAssertFalse(d.ignores("app.py"))
    }

    func testDoubleStarAndClean() {
        let d = DockerIgnore("a/**/z\n**\n!keep/**\n")
        XCTAssertTrue(d.ignores("anything"))
        XCTAssertFalse(d.ignores("keep/x/y"))
        XCTAssertEqual(DockerIgnore.clean("/a/./b/../c/"), "a/c")
        XCTAssertEqual(DockerIgnore("a/**/z").ignores("a/z"), true, "** is zero or more directories")
        XCTAssertEqual(DockerIgnore("a/**/z").ignores("a/b/c/z"), true)
    }
}
