"""The `eqdash` commands, one module per job; dashboard/cli.py puts them on the command line."""
