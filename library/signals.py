"""Signals that library sends for others to follow.

``circulation_changed`` goes out after every circulation action (checkout, renewal, return, holds),
whose conditional ``UPDATE``s send no model signals.  The search index (search_index.receivers) listens to
it, since availability, the earliest due date and the queue length are indexed; so do the calendar feeds
(events.receivers), since personal feeds show due dates and pickup deadlines.
"""

from django.dispatch import Signal

circulation_changed = Signal()  # kwargs: book_id
