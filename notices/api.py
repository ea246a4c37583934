"""A reader's own notices (every notice ever recorded for them, read or unread) and where they go (the
channels of each kind)."""

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from accounts.auth import LOGGED_IN
from core.errors import error_responses
from core.pagination import Pagination
from notices import selectors, services
from notices.schemas import MarkReadIn, MarkReadOut, NoticeFilters, NoticeOut, NoticePreferencesIn, NoticePreferencesOut

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


def _preferences(user) -> dict:
    current = selectors.preferences_get(user=user)
    return {"channels": current.channels, "webhook_url": current.webhook_url, "remind_before": current.remind_before,
            **selectors.preference_options()}


@router.get("/me/notice-preferences", response={200: NoticePreferencesOut, **error_responses(401)}, auth=LOGGED_IN,
            summary="我的通知偏好：每类通知经哪些渠道送达，活动何时提醒")
def my_notice_preferences(request: HttpRequest):
    return _preferences(request.auth)


@router.put("/me/notice-preferences", response={200: NoticePreferencesOut, **error_responses(400, 401, 422)},
            auth=LOGGED_IN, summary="设置通知偏好（整体替换）")
def set_notice_preferences(request: HttpRequest, payload: NoticePreferencesIn):
    services.preference_update(user=request.auth, channels=payload.channels, webhook_url=payload.webhook_url,
                               remind_before=payload.remind_before)
    return _preferences(request.auth)
