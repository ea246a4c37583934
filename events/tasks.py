"""Background jobs of the events app (``jobs.tasks.job_task``; enqueued with ``jobs.services.job_enqueue``).

``refresh_listed_occurrences`` runs hourly (events.listing); ``send_hour_reminders_job`` every few minutes
(settings.EVENTS_HOUR_REMINDER_EVERY); ``send_daily_notices`` runs once a day at NOTICES_AT (settings.JOBS_SCHEDULE); ``warm_feeds`` runs after any
change to an event a feed shows (events.receivers), one queued job (key ``feeds.warm``) for however many
changes, so a request that edits events only writes rows.
"""

from django.utils.translation import gettext_lazy as _

from events.feeds import refresh_all_fragments
from events.listing import refresh_due
from events.notices import send_daily, send_hour_reminders
from jobs.services import job_enqueue
from jobs.tasks import job_task

#: Coalescing key of a follow-up run of the listing job.
LISTED_KEY = "events.listed"
#: Coalescing key of the feed-warming job.
WARM_FEEDS_KEY = "feeds.warm"


@job_task(label=_("每日通知与提醒"))
def send_daily_notices(job, progress) -> dict:
    """Expire unclaimed holds, then record and mail the day's notices and tomorrow's event reminders."""
    return send_daily()


@job_task(label=_("活动开始前一小时提醒"))
def send_hour_reminders_job(job, progress) -> dict:
    """Record the hour-before reminders of occurrences starting within the hour (recording queues their sending)."""
    return {"event_reminder_hour": send_hour_reminders()}


@job_task(label=_("活动场次索引"))
def refresh_listed_occurrences(job, progress) -> dict:
    """Write the stored occurrences of events changed by other means than the services, and roll every
    open series' window forward (events.listing); runs hourly, and again at once while more are due."""
    done = refresh_due()
    if done["more"]:
        job_enqueue(refresh_listed_occurrences, key=LISTED_KEY)
    return done


@job_task(label=_("日历订阅预生成"))
def warm_feeds(job, progress) -> dict:
    """Serialise and store the feed entry of every event whose entry is missing or stale."""
    built, events = refresh_all_fragments(progress=progress)
    return {"rebuilt": built, "events": events}
