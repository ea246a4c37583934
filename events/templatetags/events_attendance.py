"""The check-in section of /me: the reader's personal check-in code as a QR code, and their attendance.

An inclusion tag, so /me (web.views.me) shows it without knowing how codes are made or attendance read."""

from django import template
from django.utils import timezone

from events import attendance, selectors

register = template.Library()

#: Sessions the history lists on /me (the API lists them all).
HISTORY_SHOWN = 50


@register.inclusion_tag("events/me_attendance.html", takes_context=True)
def attendance_section(context) -> dict:
    import segno

    user = context["request"].user
    code = attendance.personal_code(user)
    history = selectors.attendance_history(user)
    year = timezone.localdate().year
    return {
        "code": code,
        "qr_svg": segno.make(code, error="m").svg_inline(scale=5),
        "history": history[:HISTORY_SHOWN],
        "more": max(0, len(history) - HISTORY_SHOWN),
        "this_year": sum(1 for item in history if timezone.localtime(item["start"]).year == year),
        "year": year,
        "csrf_token": context.get("csrf_token"),
    }
