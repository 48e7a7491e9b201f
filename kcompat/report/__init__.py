"""Renderers of one Report model: json, text (and html, sarif as they land)."""
