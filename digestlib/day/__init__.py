"""Floor 4, one announcement day end to end: which papers, in what order, at what cost, with what outcome.

``pipeline`` (fetch -> select -> full text + LLM tasks, resumable), ``selection`` (what the day shows and
the ``DayDigest`` rebuilt from the store), ``dispatch`` (task order on the worker threads), ``spend`` (the
day's LLM budget), ``interests`` (the reader's relevance scores), ``outcome`` (exit status and summary
line), ``freshness`` (whether a finished day's files are still current).

Must not: format text for readers (that is ``post/``).
"""
