"""Embedded sample data, shipped inside the package; see ``samples.py`` for the names."""
