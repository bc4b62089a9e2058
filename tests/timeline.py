"""When the integration tests' tickets are dated.

Yesterday (UTC): every hour of it has ended, and its records are recent enough for the source
topic's time retention (days). Tickets dated further back would be deleted by the broker within
minutes of being written (time retention compares with a segment's newest record timestamp).
"""

from datetime import UTC, datetime, timedelta

RECENT_DAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
