"""Japan Standard Time: times are stored in UTC and shown, or read when they come without a zone, in JST.
A leaf module (imports nothing of the project), so every layer of the code may use it."""
from datetime import datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
# Japan keeps no summer time, so one offset holds all year: SQL that buckets times by JST days
# (store/series.py) adds these seconds to a UTC epoch.
JST_OFFSET_SECONDS = int(JST.utcoffset(datetime(2000, 1, 1)).total_seconds())
