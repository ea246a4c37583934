"""The subscribe buttons of a calendar feed: ``{% load subscribe %}{% subscribe_buttons url name key=… %}``
renders templates/subscribe.html — webcal://, Google Calendar, Outlook.com, Microsoft 365, the address to copy
and a QR code, each with one line on how that client goes on."""

from django import template

from core.links import qr_svg, subscription_links

register = template.Library()


@register.inclusion_tag("subscribe.html")
def subscribe_buttons(url: str, name: str, key: str = "feed", label: str = "", expanded: bool = False) -> dict:
    """``url``: the feed's https (or http) address; ``name``: the calendar's name offered to Outlook; ``key``:
    unique on the page (element ids); ``label``: what the feed holds, after the summary; ``expanded``: unfolded."""
    links = subscription_links(url, name=name)
    return {"sub": {"url": url, **links, "qr": qr_svg(links["webcal_url"])}, "key": key, "label": label,
            "open": expanded}
