"""arxiv-digest: one arXiv announcement day -> a reviewed Chinese digest post."""

__version__ = "0.1.0"
