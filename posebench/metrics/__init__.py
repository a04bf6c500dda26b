"""Metrics: pure functions over arrays (one module per metric family)."""
