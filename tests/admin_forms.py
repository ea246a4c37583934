"""Submitting admin forms as a browser would: the fields of the page's form with their current values."""

import lxml.html
from django.test import Client


def admin_form_data(client: Client, url: str) -> dict[str, list[str]]:
    """The fields of the admin form on ``url`` (``<model>_form``) as a browser would submit them unchanged;
    empty if the page is refused.  File inputs and submit buttons are left out (the admin then saves)."""
    response = client.get(url)
    if response.status_code != 200:
        return {}
    page = lxml.html.fromstring(response.content.decode())
    form = next(f for f in page.forms if f.get("id", "").endswith("_form"))
    data: dict[str, list[str]] = {}
    for name, value in form.form_values():
        data.setdefault(name, []).append(value)
    return data
