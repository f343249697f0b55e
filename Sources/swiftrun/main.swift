import CLI
SwiftrunRoot.entry()
