"""One module per family of TOML sections, each reading its tables with a config.reader.Reader."""
