"""SQLite store: numbered migrations, WAL mode, one connection per thread."""
