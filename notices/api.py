"""A reader's own notices: every notice ever recorded for them (what was mailed, and what could not be), read
or unread."""

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from accounts.auth import LOGGED_IN
from core.errors import error_responses
from core.pagination import Pagination
from notices import selectors, services
from notices.schemas import MarkReadIn, MarkReadOut, NoticeFilters, NoticeOut

router = Router(tags=["notices"])


@router.get("/me/notices", response={200: list[NoticeOut], **error_responses(400, 401, 422)}, auth=LOGGED_IN,
            summary="我的通知（最新在前）")
@paginate(Pagination)
def my_notices(request: HttpRequest, filters: Query[NoticeFilters]):
    return selectors.notice_list(patron=request.auth, unread=filters.unread)


@router.post("/me/notices/read", response={200: MarkReadOut, **error_responses(400, 401, 422)}, auth=LOGGED_IN,
             summary="标为已读（指定的或全部）")
def mark_read(request: HttpRequest, payload: MarkReadIn):
    marked = services.mark_read(patron=request.auth, ids=payload.ids)
    return {"marked": marked, "unread": selectors.unread_count(patron=request.auth)}
