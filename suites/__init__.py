"""Declarative suite files (YAML), installed as package data of ``posebench.suites``."""
