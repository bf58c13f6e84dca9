"""The engine fixtures of tests/unit/engine, for the engine's metrics."""

from tests.unit.engine.conftest import conf, database, engine

__all__ = ["conf", "database", "engine"]
