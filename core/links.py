"""Calendar subscription links: one feed as https, webcal:// (Apple Calendar, Thunderbird, Outlook for
Windows), Google Calendar's add-by-URL address, and the add-from-web addresses of Outlook.com and of
Microsoft 365 (Outlook on the web for work and school accounts)."""

import functools
from urllib.parse import quote, urlencode

GOOGLE_ADD = "https://calendar.google.com/calendar/r"
OUTLOOK_COM_ADD = "https://outlook.live.com/calendar/0/addfromweb"
OFFICE_365_ADD = "https://outlook.office.com/calendar/0/addfromweb"


def subscription_links(url: str, *, name: str = "法官书苑") -> dict[str, str]:
    """The ways to subscribe to the feed served at ``url`` (https or http), each a complete address:

    * ``webcal_url``: the same address with the webcal scheme; the system's calendar app subscribes.
    * ``google_url``: ``…/calendar/r?cid=webcal://…``; Google asks to confirm, then polls the feed.
    * ``outlook_url``, ``office365_url``: ``…/calendar/0/addfromweb?url=<https URL>&name=<name>``; Outlook on the
      web shows the subscription form filled in.
    """
    webcal = "webcal://" + url.split("://", 1)[1]
    outlook_query = urlencode({"url": url, "name": name}, quote_via=quote)
    return {
        "webcal_url": webcal,
        "google_url": f"{GOOGLE_ADD}?cid=" + quote(webcal, safe=":/"),
        "outlook_url": f"{OUTLOOK_COM_ADD}?{outlook_query}",
        "office365_url": f"{OFFICE_365_ADD}?{outlook_query}",
    }


@functools.lru_cache(maxsize=512)
def qr_svg(text: str) -> str:
    """A QR code of ``text`` as an inline SVG element (no size attributes: the style sheet sizes it).  Cached in
    the process: a code takes ~10 ms to make, and a page may show a few on every view."""
    import segno

    return segno.make(text, error="m").svg_inline(scale=4, omitsize=True, svgclass=None, lineclass=None)
