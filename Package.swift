// swift-tools-version:6.0
import PackageDescription

// One module per concern, each using only the ones above it in this list:
//   CShim (C: clone3, syscalls Glibc lacks, libseccomp, libcap)
//   OCI (Codable runtime-spec types and the JSON coder, no I/O) · OS (Swift wrappers over syscalls)
//   Template (Go's text/template over OCI's JSON tree, for --format)
//   CArchive (C: layer unpacking with libarchive, by fd) · ImageStore (the store's layout and index)
//   ImageImport (blobs hashed in, layers unpacked, load, save)
//   Runtime (bundle → running container) · Network (bridges, addresses, nftables, hosts files)
//   CHTTP (C: libcurl) · Registry (references, the distribution API, pull, login)
//   Engine (image + flags → container)
//   Build (Dockerfile → image: RUN steps are containers of the engine)
//   Compose (a compose file → networks, volumes, images and containers, in dependency order)
//   RuncCLI (runc's command line, over Runtime only) · CLI (Docker's commands, one file each)
//   ComposeCLI (the compose commands, in their own binary: swiftrun-compose)
// CShim is reached only through OS, Runtime and Network: the engine and the CLI import none of it.
// swiftrun-init, the container's first program, is plain C built static by the Makefile.
// Metadata accessors instead of mangled names for concrete generic types: the runtime
// otherwise demangles each one on first use (and looks up its conformances by scanning
// every record in the binary). Measured by --debug phase timings, medians of 60 runs of
// `swiftrun-runc run`: 7.6 -> 7.2 ms, 0.2 ms of it in decoding config.json.
let v5: [SwiftSetting] = [
    .swiftLanguageMode(.v5),
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
]

// The supervisor execs itself back from swiftrun-idle at every wake: linked static-pie (no
// dynamic loader, no symbol lookups; ASLR kept) it starts in 0.7 ms instead of 1.8 and a
// wake costs 2.9 ms of CPU instead of 4.9 (docs/benchmarks.md). glibc's static-pie start
// refuses a RUNPATH, which SwiftPM adds unless given --disable-local-rpath: so only when the
// Makefile asks (it passes both); a plain `swift build` links it as the others. (The linker
// warns of dlopen in a static program: the Swift runtime's optional prespecializations
// library, which it does without.)
let staticSupervisor: [LinkerSetting] = Context.environment["SWIFTRUN_STATIC_SUPERVISOR"] == "1"
    ? [.unsafeFlags(["-static-executable", "-use-ld=bfd", "-Xclang-linker", "-static-pie"])] : []

let package = Package(
    name: "swiftrun",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "swiftrun", targets: ["swiftrun"]),
        .executable(name: "swiftrun-runc", targets: ["swiftrun-runc"]),
        .executable(name: "swiftrun-supervise", targets: ["swiftrun-supervise"]),
        .executable(name: "swiftrun-compose", targets: ["swiftrun-compose"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .target(name: "CShim", linkerSettings: [.linkedLibrary("seccomp"), .linkedLibrary("cap")]),
        .target(name: "CArchive"), // libarchive by dlopen on first use
        .target(name: "CHTTP"), // libcurl by dlopen on first use
        .target(name: "OCI", swiftSettings: v5),
        // Go's text/template over a JSON tree: no Swift library speaks its syntax.
        .target(name: "Template", dependencies: ["OCI", "OS"], swiftSettings: v5),
        .target(name: "OS", dependencies: ["CShim"], swiftSettings: v5),
        .target(name: "Runtime", dependencies: ["OCI", "OS", "CShim"], swiftSettings: v5),
        // runc's command line over the runtime alone: swiftrun-runc links nothing else.
        .target(name: "RuncCLI", dependencies: ["Runtime", "OCI", "OS"], swiftSettings: v5),
        .target(name: "ImageStore", dependencies: ["OCI", "OS"], swiftSettings: v5),
        // Filling the store (hashing, unpacking) apart from reading it: the supervisor links
        // only the latter, so neither swift-crypto (and the Foundation it brings) nor libarchive.
        .target(name: "ImageImport", dependencies: [
            "ImageStore", "OCI", "OS", "CArchive", .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: v5),
        .target(name: "Network", dependencies: ["OCI", "OS", "CShim"], swiftSettings: v5),
        .target(name: "Registry", dependencies: ["ImageStore", "ImageImport", "OCI", "OS", "CHTTP"], swiftSettings: v5),
        .target(name: "Engine", dependencies: ["ImageStore", "Runtime", "Network", "OCI", "OS"], swiftSettings: v5),
        .target(name: "Build", dependencies: ["Engine", "Runtime", "ImageStore", "ImageImport", "Registry", "OCI", "OS", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: v5),
        // compose files: YAML by Yams (libyaml), decoded with compose-spec's meanings.
        .target(name: "Compose", dependencies: ["Build", "Engine", "Network", "ImageStore", "OCI", "OS",
                                                .product(name: "Yams", package: "Yams")], swiftSettings: v5),
        .target(name: "CLI", dependencies: [
            "Build", "Runtime", "RuncCLI", "OCI", "OS", "ImageStore", "ImageImport", "Engine", "Network", "Registry", "Template",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),
        .executableTarget(name: "swiftrun", dependencies: ["CLI"], swiftSettings: v5),
        // `swiftrun compose` execs it, as Docker's CLI runs its compose plugin: Yams and the
        // Foundation it brings stay out of every other command.
        .target(name: "ComposeCLI", dependencies: [
            "CLI", "Compose", "Engine", "Runtime", "Registry", "OS", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),
        .executableTarget(name: "swiftrun-compose", dependencies: ["ComposeCLI"], swiftSettings: v5),
        .executableTarget(name: "swiftrun-runc", dependencies: ["RuncCLI"], swiftSettings: v5),
        // The per-container supervisor, started by `swiftrun run/start`: the engine alone.
        .executableTarget(name: "swiftrun-supervise", dependencies: ["Engine", "ImageStore", "Network"], swiftSettings: v5,
                         linkerSettings: staticSupervisor),
        .testTarget(name: "UnitTests", dependencies: ["OCI", "Runtime", "RuncCLI", "OS", "CLI", "CShim", "ImageStore", "ImageImport", "Engine", "Network", "Registry", "Template", "Build", "Compose", "ComposeCLI"], swiftSettings: v5),
        .testTarget(name: "IntegrationTests", dependencies: ["OCI", "OS", "ImageStore", "ImageImport", "CShim", "SeccompAgent"], swiftSettings: v5),
        // The seccomp notify agent the tests run at a listenerPath.
        .target(name: "SeccompAgent", path: "Tests/Fixtures/SeccompAgent"),
    ]
)
