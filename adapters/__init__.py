"""Built-in model adapters, one module per model family (installed as ``posebench.adapters``).

The predict API and the adapters themselves arrive with the runner; this package exists now so
that the layout fixed by the design (top-level ``adapters/`` mapped into the posebench namespace)
is in place and tested from the first release.
"""
