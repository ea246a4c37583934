"""Calendar subscription links: the same feed as https, webcal:// and Google Calendar's subscribe address."""

from urllib.parse import quote


def subscription_links(url: str) -> dict[str, str]:
    """``webcal_url`` and ``google_url`` for a feed served at ``url`` (Google takes ``…/r?cid=webcal://…``)."""
    webcal = "webcal://" + url.split("://", 1)[1]
    return {"webcal_url": webcal, "google_url": "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe=":/")}
