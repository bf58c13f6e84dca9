"""The revisions, one module each; alembic reads them from this directory."""
