"""Recording: segment files, their SQLite index, crash recovery and retention (the I/O shells)."""
