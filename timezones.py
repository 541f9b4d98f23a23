"""Japan Standard Time: times are stored in UTC and shown, or read when they come without a zone, in JST.
A leaf module (imports nothing of the project), so every layer of the code may use it."""
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
