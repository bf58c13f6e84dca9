"""Sphinx configuration of the qinling-lite documentation."""

project = "qinling-lite"
copyright = "qinling-lite developers"
author = "qinling-lite developers"

extensions = []

master_doc = "index"
exclude_patterns = []

html_theme = "alabaster"
