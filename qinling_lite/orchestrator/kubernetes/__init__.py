"""Kubernetes orchestrator: worker pods taken from per-runtime Deployments."""
