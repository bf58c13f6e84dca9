"""Prometheus metrics of qinling-lite (``[metrics]``, off by default).

``definitions``: the metrics the API and the engine count, and the one call that
records a finished execution. ``triggers``: what started an execution. ``collectors``:
the gauges read at scrape time (backlog, workers). ``exposition``: the registry a scrape
reads, ``/metrics`` in front of the API, and the engines' own HTTP port.

A leaf: it imports nothing of qinling-lite; the API and the engine hand it what it reads.
"""
