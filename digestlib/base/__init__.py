"""Floor 1, what every room stands on: plain data, the one error hierarchy, the settings, the calendar.

``models`` (dataclasses and status enums), ``errors`` (every public exception, with its exit status),
``config`` (parameters + environment, read once), ``calendar`` (arXiv's mailing schedule), ``http`` (the
one HTTP layer: deadlines, backoff, ``Retry-After``, host guard), ``redaction``, ``atomic`` files,
``locks`` and ``safe_yaml``.

Must not: import anything above it.
"""
