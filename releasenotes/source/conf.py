"""Sphinx configuration of the qinling-lite release notes (reno)."""

project = "qinling-lite release notes"
copyright = "qinling-lite developers"
author = "qinling-lite developers"

extensions = ["reno.sphinxext"]

master_doc = "index"
exclude_patterns = []

html_theme = "alabaster"
