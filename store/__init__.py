"""The schema and the functions that read and write it (SQLAlchemy 2).

Every function takes a Session first; callers own the transaction (`db.session()` commits on
success and rolls back on error, so a failure leaves stored data as it was).
"""
from store.db import Database, get_db, utcnow  # noqa: F401
