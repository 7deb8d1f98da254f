"""The `flowpool` command line: one Typer app per noun, all speaking HTTP to the API."""
