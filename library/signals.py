"""Signals that library sends for others to follow.

``circulation_changed`` goes out after every circulation action (checkout, renewal, return, holds),
whose conditional ``UPDATE``s send no model signals; the calendar feeds (events) listen to it, since
personal feeds show due dates and pickup deadlines.
"""

from django.dispatch import Signal

circulation_changed = Signal()  # kwargs: book_id
