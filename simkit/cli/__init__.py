"""The ``simkit`` command line: one small module per subcommand (see main.COMMANDS)."""
