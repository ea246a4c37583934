"""Deleting materials removes their files (finding F12): an event deleted through the API or the admin, or one
material deleted on its own, leaves no file behind in MEDIA_ROOT — after the deletion commits, never before,
and never a file outside the materials' folder."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone

from events import services
from events.models import Attachment, Event
from tests.admin_forms import admin_form_data
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 " + b"0" * 100


def _event(organizer, title="法学研讨会") -> Event:
    start = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)
    return services.event_create(data=services.EventData(
        title=title, kind="seminar", start=start, end=start + timedelta(hours=2)), actor=organizer, force=True)


def _upload(organizer, event: Event, name: str) -> Path:
    response = api_for(organizer).upload(f"/api/v1/events/{event.pk}/attachments",
                                         {"file": SimpleUploadedFile(name, PDF)})
    assert response.status_code == 201, response.content
    return Path(Attachment.objects.get(pk=response.json()["id"]).file.path)


def _files(settings) -> set[str]:
    folder = Path(settings.MEDIA_ROOT) / "events"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _admin(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_deleting_an_event_through_the_api_removes_its_materials_files(organizer, settings,
                                                                        django_capture_on_commit_callbacks):
    event, other = _event(organizer), _event(organizer, "读者沙龙")
    mine = {_upload(organizer, event, "议程.pdf"), _upload(organizer, event, "讲义.pdf")}
    kept = _upload(organizer, other, "另一场.pdf")
    assert all(p.exists() for p in mine)

    with django_capture_on_commit_callbacks(execute=True):
        assert api_for(organizer).delete(f"/api/v1/events/{event.pk}").status_code == 204

    assert not any(p.exists() for p in mine)
    assert _files(settings) == {kept.name}
    assert Attachment.objects.count() == 1


def test_files_stay_until_the_deletion_commits_and_stay_if_it_rolls_back(organizer,
                                                                          django_capture_on_commit_callbacks):
    event = _event(organizer)
    pk, path = event.pk, _upload(organizer, event, "议程.pdf")

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.event_delete(event=event)
            assert path.exists()  # not before the commit
            raise RuntimeError("the deletion's transaction fails")

    assert path.exists() and Event.objects.filter(pk=pk).exists()
    assert Attachment.objects.filter(event_id=pk).count() == 1


def test_deleting_an_event_in_the_admin_removes_its_materials_files(organizer, settings,
                                                                     django_capture_on_commit_callbacks):
    """Both of the admin's ways: the event's delete page (``delete_model``) and the list's delete action
    (``delete_queryset``)."""
    one, two, three = _event(organizer, "一"), _event(organizer, "二"), _event(organizer, "三")
    paths = {e.pk: _upload(organizer, e, f"{e.title}.pdf") for e in (one, two, three)}
    client = _admin(organizer)

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"/admin/events/event/{one.pk}/delete/", {"post": "yes"})
    with django_capture_on_commit_callbacks(execute=True):
        action = client.post("/admin/events/event/", {"action": "delete_selected", "_selected_action": [two.pk],
                                                       "post": "yes"})

    assert (page.status_code, action.status_code) == (302, 302)
    assert list(Event.objects.values_list("title", flat=True)) == ["三"]
    assert (paths[one.pk].exists(), paths[two.pk].exists(), paths[three.pk].exists()) == (False, False, True)
    assert _files(settings) == {paths[three.pk].name}


def test_deleting_one_material_removes_its_file_through_the_api_and_the_admin(organizer, settings,
                                                                               django_capture_on_commit_callbacks):
    event = _event(organizer)
    by_api, by_admin, kept = (_upload(organizer, event, n) for n in ("甲.pdf", "乙.pdf", "丙.pdf"))
    first = Attachment.objects.get(event=event, name="甲.pdf")

    with django_capture_on_commit_callbacks(execute=True):
        assert api_for(organizer).delete(f"/api/v1/events/{event.pk}/attachments/{first.pk}").status_code == 204
    assert not by_api.exists() and by_admin.exists()

    client = _admin(organizer)
    url = f"/admin/events/event/{event.pk}/change/"
    form = admin_form_data(client, url)
    index = next(k for k, v in form.items() if k.startswith("attachments-") and k.endswith("-id")
                 and v == [str(Attachment.objects.get(name="乙.pdf").pk)]).split("-")[1]
    form[f"attachments-{index}-DELETE"] = ["on"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(Attachment.objects.filter(event=event).values_list("name", flat=True)) == ["丙.pdf"]
    assert not by_admin.exists() and kept.exists()
    assert _files(settings) == {kept.name}


@pytest.mark.parametrize("name", ["papers/paper-1.pdf", "../outside.txt", "events/../papers/paper-1.pdf"])
def test_a_row_naming_a_file_elsewhere_never_deletes_that_file(organizer, settings, name,
                                                                django_capture_on_commit_callbacks):
    """A tampered row: deleting it must not delete a paper's file or anything outside MEDIA_ROOT."""
    media = Path(settings.MEDIA_ROOT)
    (media / "papers").mkdir(parents=True)
    paper_file = media / "papers" / "paper-1.pdf"
    paper_file.write_bytes(PDF)
    outside = media.parent / "outside.txt"
    outside.write_text("not a material")
    event = _event(organizer)
    Attachment.objects.create(event=event, name="x.pdf", file=name, size=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert api_for(organizer).delete(f"/api/v1/events/{event.pk}").status_code == 204

    assert paper_file.exists() and outside.exists()


def test_a_file_another_row_still_uses_is_kept(organizer, django_capture_on_commit_callbacks):
    event = _event(organizer)
    attachment = Attachment(event=event, name="议程.pdf", size=len(PDF))
    attachment.file.save("upload", ContentFile(PDF), save=True)
    twin = Attachment.objects.create(event=_event(organizer, "读者沙龙"), name="议程.pdf", file=attachment.file.name,
                                     size=len(PDF))

    with django_capture_on_commit_callbacks(execute=True):
        services.attachment_delete(attachment=attachment)

    assert Path(twin.file.path).exists()



def test_a_material_added_to_an_event_deleted_meanwhile_is_a_404_and_keeps_no_file(organizer, settings):
    """The thirteenth attack: an upload racing its event's deletion failed at commit with a foreign key
    error, a 500."""
    from core.errors import DomainError

    event = _event(organizer)
    stale = Event.objects.get(pk=event.pk)  # what the upload's request loaded before the delete committed
    services.event_delete(event=event)

    with pytest.raises(DomainError) as refused:
        services.attachment_add(event=stale, data=b"%PDF-1.4 test", filename="讲义.pdf")

    assert (refused.value.status, refused.value.code) == (404, "not_found")
    assert _files(settings) == set()
