import ComposeCLI
ComposeGroup.entry()
