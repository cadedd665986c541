"""SQLite store of runs and their samples."""
