"""Commands: one module per command, each wiring the layers below for the CLI."""
