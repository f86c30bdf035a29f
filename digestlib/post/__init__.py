"""Floor 5, what readers get: the post in the seed's layout, its words per language, sanitising, BibTeX,
the nbconvert exporters, the report's tables, the for-you block, and the venue, links and math shown.

Must not: fetch or call anything (every function here is over data the store already holds).
"""
