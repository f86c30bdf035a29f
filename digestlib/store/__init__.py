"""Floor 2, the embedded SQLite store: schema, named append-only migrations, and the queries every stage
uses, so a killed run resumes where it stopped and nothing is paid twice.

Must not: render anything.
"""
