"""The database: one SQLite index (schema and numbered migrations in db.py), one module per table
family. Only services/, record/ and the workers use it; api/ and cli/ go through services/
(design/architecture.md, design/storage.md)."""
