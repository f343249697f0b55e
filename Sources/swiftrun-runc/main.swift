import RuncCLI

Runc.main(Array(CommandLine.arguments.dropFirst()), program: "swiftrun-runc", usageExit: 1)
