import ArgumentParser
import Build
import Registry
import OS
#if canImport(Glibc)
import Glibc
#endif

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Create an image from a root file system tarball (a file, an http(s) URL, or - for standard input).")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "A Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR); repeatable.") var change: [String] = []
    @Option(name: [.short, .long], help: "Commit message (the history's comment).") var message: String?
    @Option(help: "Only linux/amd64.") var platform: String?
    @Argument(help: "file|URL|-") var source: String
    @Argument(help: "REPOSITORY[:TAG]") var repository: String?

    func run() throws {
        try containerCommand {
            if let p = platform, p != "linux/amd64" && p != "linux" {
                throw Failure("--platform \(p): this machine runs linux/amd64 only")
            }
            let store = try s.store()
            var path = Files.absolute(source)
            let spool = s.root + "/tmp/import-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { unlink(spool) }
            if source == "-" {
                guard isatty(0) == 0 else { throw Failure("no input: pipe a tarball into standard input, or give a file or URL") }
                try store.ingestStdin(to: spool)
                path = spool
            } else if Download.isURL(source) {
                _ = try Download.get(source, to: try FD.open(spool, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600))
                path = spool
            } else {
                var st = stat()
                guard stat(path, &st) == 0 else { throw SysError("open", source) }
                guard (st.st_mode & S_IFMT) == S_IFREG else { throw Failure("\(source): not a file (import takes a tarball, a URL, or -)") }
            }
            let id = try ContainerImage.importTarball(store, path: path, source: source, name: repository, message: message, changes: change)
            stdoutWrite(id + "\n")
        }
    }
}
