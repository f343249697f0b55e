import CLI
RuncRoot.entry()
