"""Report outputs shared by the bot and the command line: charts, data exports, the CLI."""
