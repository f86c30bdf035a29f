"""Floor 2, the OpenAI-compatible endpoint: one chat completion at a time, validated, cached, accounted.

Must not: know about papers (the prompts and what an answer means are ``tasks/``).
"""
