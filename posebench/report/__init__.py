"""Leaderboard reports from run folders: ``posebench report RUN... --output PATH``.

- :mod:`posebench.report.leaderboard`: run folders -> comparable tables (rank, CI, mPC/rPC/mRR,
  reported numbers, signatures) and the sections below them;
- :mod:`posebench.report.markdown`: GitHub-flavoured Markdown (deterministic, golden-testable);
- :mod:`posebench.report.html`: one self-contained HTML page (escaped, plots inlined, offline);
- :mod:`posebench.report.plots`: matplotlib (Agg) figures as PNG bytes, byte-stable;
- :mod:`posebench.report.modelindex`: Hugging Face ``model-index`` metadata;
- :mod:`posebench.report.examiner`: failure searches (``posebench examine`` runs), not ranked:
  a section each with the success rate, region size and a gallery of failure modes.
"""
