from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from accounts.forms import ThrottledAuthenticationForm
from events import views as event_views
from events.feeds import event_feed, occurrence_feed, personal_feed, public_feed
from interop import views as interop_views
from library import views as library_views
from reports import views as report_views
from shuyuan.api import api, api_not_found
from shuyuan.health import healthz, readyz
from web import views as web_views

admin.site.site_header = _("法官书苑 管理")
admin.site.site_title = _("法官书苑")
admin.site.index_title = _("馆藏与用户管理")
admin.site.login_form = ThrottledAuthenticationForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Browsers and feed readers ask for /favicon.ico whatever the page says: the page's own icon.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True), name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<path>.*)$", api_not_found),
    path("calendar/events.ics", public_feed, name="feed-events"),
    path("calendar/events/<int:event_id>.ics", event_feed, name="feed-event"),
    path("calendar/events/<int:event_id>/<str:occurrence>.ics", occurrence_feed, name="feed-occurrence"),
    path("calendar/u/<str:token>.ics", personal_feed, name="feed-personal"),
    # The catalogue for other libraries' systems (docs/api.md, "SRU and OAI-PMH").
    path("sru", interop_views.sru_view, name="sru"),
    path("oai", interop_views.oai_view, name="oai"),
    path("opendata", interop_views.opendata_page, name="opendata"),  # the same for people
    path("", web_views.search_page, name="search"),
    path("books/<int:pk>", web_views.book_page, name="book-detail"),
    path("books/<int:pk>/hold", library_views.place_hold, name="book-hold"),
    path("papers/<int:pk>", web_views.paper_page, name="paper-detail"),
    path("browse", web_views.browse, name="browse"),
    path("me", web_views.me, name="me"),
    path("me/papers", library_views.my_papers, name="my-papers"),
    path("me/papers/<int:pk>", library_views.my_paper, name="my-paper"),
    path("borrow", library_views.self_checkout, name="self-checkout"),
    path("desk", library_views.desk, name="desk"),
    path("desk/pull", library_views.pull_list, name="desk-pull"),
    path("desk/transit", library_views.transit, name="desk-transit"),
    path("desk/slips/hold/<int:hold_id>", library_views.hold_slip, name="hold-slip"),
    path("desk/slips/receipt", library_views.loan_receipt, name="loan-receipt"),
    path("desk/labels", library_views.labels, name="labels"),
    path("desk/cards", library_views.cards, name="cards"),
    path("catalog/import", library_views.catalog_import, name="catalog-import"),
    path("catalog/import/template.csv", library_views.catalog_import_template, name="catalog-import-template"),
    path("catalog/copy", library_views.copy_catalog, name="copy-catalog"),
    path("catalog/copy/import", library_views.copy_catalog_import, name="copy-catalog-import"),
    path("catalog/import/<int:import_id>", library_views.catalog_import_detail, name="catalog-import-detail"),
    path("catalog/import/<int:import_id>/records/<int:position>/decision", library_views.catalog_import_decide,
         name="catalog-import-decide"),
    path("catalog/import/<int:import_id>/commit", library_views.catalog_import_commit, name="catalog-import-commit"),
    path("me/loans/<int:loan_id>/renew", library_views.renew, name="loan-renew"),
    path("me/holds/<int:hold_id>/cancel", library_views.cancel_hold, name="hold-cancel"),
    path("me/calendar-link", web_views.calendar_link, name="calendar-link"),
    path("me/calendar-links/<int:pk>", web_views.calendar_link_edit, name="calendar-link-edit"),
    path("me/notices", web_views.my_notices, name="my-notices"),
    path("me/contact", web_views.contact, name="contact"),
    path("me/notice-preferences", web_views.notice_preferences, name="notice-preferences"),
    path("events", event_views.event_list, name="event-list"),
    path("events/<int:pk>", event_views.event_page, name="event-detail"),
    path("events/<int:pk>/register", event_views.register, name="event-register"),
    path("events/<int:pk>/check-in", event_views.self_check_in, name="event-check-in"),
    path("events/<int:pk>/attendance.csv", event_views.attendance_export, {"fmt": "csv"}, name="event-attendance-csv"),
    path("events/<int:pk>/attendance.xlsx", event_views.attendance_export, {"fmt": "xlsx"},
         name="event-attendance-xlsx"),
    path("me/check-in-code", event_views.check_in_code_rotate, name="check-in-code"),
    path("organize", event_views.organize, name="organize"),
    path("organize/<int:pk>", event_views.manage, name="event-manage"),
    path("organize/<int:pk>/edit", event_views.edit, name="event-edit"),
    path("organize/<int:pk>/attendees", event_views.attendees, name="event-attendees"),
    path("registrations/<int:pk>/cancel", event_views.cancel_registration, name="registration-cancel"),
    path("reports/", report_views.report_index, name="reports"),
    # The annual report has one page, /reports/annual (printable); the old address of that page redirects to it.
    path("reports/annual", report_views.annual_summary, name="report-annual"),
    path("reports/annual/", RedirectView.as_view(pattern_name="report-annual", permanent=True, query_string=True)),
    path("me/reading", report_views.my_year, name="my-year"),
    path("reports/<slug:slug>", report_views.report_page, name="report"),
    path("reports/<slug:slug>/records", report_views.report_records, name="report-records"),
    # Before the tables' exports, which would read "records" as a table's name.
    path("reports/<slug:slug>/records.xlsx", report_views.report_records_export, {"fmt": "xlsx"},
         name="report-records-xlsx"),
    path("reports/<slug:slug>/records.csv", report_views.report_records_export, {"fmt": "csv"},
         name="report-records-csv"),
    path("reports/<slug:slug>/<slug:table>.xlsx", report_views.report_export, {"fmt": "xlsx"}, name="report-xlsx"),
    path("reports/<slug:slug>/<slug:table>.csv", report_views.report_export, {"fmt": "csv"}, name="report-csv"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]

# MEDIA_ROOT is never served directly: paper files go out through the API,
# which checks who may read them.

handler500 = "shuyuan.views.server_error"
