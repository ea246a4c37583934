from django.contrib import admin
from django.urls import path, re_path
from django.views.generic import RedirectView

from events.feeds import event_feed, personal_feed, public_feed
from shuyuan.api import api, api_not_found

admin.site.site_header = "法官书苑 管理"
admin.site.site_title = "法官书苑"
admin.site.index_title = "馆藏与用户管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<path>.*)$", api_not_found),
    path("calendar/events.ics", public_feed, name="feed-events"),
    path("calendar/events/<int:event_id>.ics", event_feed, name="feed-event"),
    path("calendar/u/<str:token>.ics", personal_feed, name="feed-personal"),
    path("", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
]

# MEDIA_ROOT is never served directly: paper files go out through the API,
# which checks who may read them.
