"""Downloads of event materials never hand the reader a file named like a web page."""

import pytest
from django.core.files.base import ContentFile

from events.models import Attachment, Event
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


def test_material_named_freely_in_the_admin_downloads_as_binary(organizer, anon_api):
    """The admin's inline lets a librarian type any name: evil.html is served as evil.html.bin."""
    org = api_for(organizer)
    venue = org.post("/api/v1/venues", {"name": "法官书苑阅览室", "capacity": 30}).json()
    event = org.post("/api/v1/events", {"title": "法官茶座", "kind": "tea_talk", "venue": venue["id"],
                                        "start": "2030-01-04T15:00:00+08:00", "end": "2030-01-04T16:30:00+08:00"}).json()
    attachment = Attachment(event=Event.objects.get(pk=event["id"]), name="evil.html", size=9)
    attachment.file.save("upload", ContentFile(b"<script>"), save=True)

    download = anon_api.get(f"/api/v1/events/{event['id']}/attachments/{attachment.pk}")

    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="evil.html.bin"'
    assert (download["Content-Type"], download["X-Content-Type-Options"]) == ("application/octet-stream", "nosniff")
