"""The `flowpool` command line: one Typer app per noun, all speaking HTTP to the API (the
`deploy` and `init` commands come from `orchestrator.deploy`)."""
