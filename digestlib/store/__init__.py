"""Floor 2, the embedded SQLite store: schema, named append-only migrations, and the queries every stage
uses, so a killed run resumes where it stopped and nothing is paid twice.

``Store`` (in ``store.py``) is the one door; the modules beside it group its queries by concern.
Must not: render anything.
"""

from .store import (MIGRATIONS, SCHEMA_VERSION, EditRecord, EditVersion, FulltextRecord, ResultRecord, ReviewRecord,
                    StaleSave, Store, check_store_file, timestamp)

__all__ = [
    "MIGRATIONS", "SCHEMA_VERSION", "EditRecord", "EditVersion", "FulltextRecord", "ResultRecord", "ReviewRecord",
    "StaleSave", "Store", "check_store_file", "timestamp",
]
