"""Floor 1, what every room stands on: plain data, the one error hierarchy, the settings, the calendar.

``models`` (dataclasses and status enums), ``errors`` (every public exception, with its exit status),
``config`` (parameters + environment -> ``Config``: the one door to ``settings``, the dataclasses;
``environment``, the one reader of ``os.environ`` and the clock; ``taxonomy``, arXiv's categories and the
post-tag rule), ``calendar`` (arXiv's mailing schedule), ``http`` (the one HTTP layer: deadlines, backoff,
``Retry-After``, host guard), ``redaction`` (imports nothing of the project), ``atomic`` files, ``locks``
and ``safe_yaml``.

Must not: import anything above it.
"""
