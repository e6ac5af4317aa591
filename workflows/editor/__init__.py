"""Diagrams as data: check, draft, deploy as a new version, and move waiting applications between versions."""
