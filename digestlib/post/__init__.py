"""Floor 5, what readers get: the post in the seed's layout (render, labels, markup, venue, links, mathml),
BibTeX, the nbconvert exporters, and the report: one per-day ``view`` read from the store once, its
``tables`` (pandas) and ``charts`` (matplotlib), the page (``report``) and the for-you block (``foryou``);
``show`` is the one door to the notebook's displays.

Must not: fetch or call anything (every function here is over data the store already holds; only
``view.read_day`` reads it, from a store the caller opened).
"""
