"""The alembic migrations, installed as ``qinling_lite.migrations`` (see setup.py)."""
