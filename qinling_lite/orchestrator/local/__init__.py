"""The local orchestrator: runtime servers as sandboxed processes on the engine's host."""
