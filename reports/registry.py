"""Every report, by slug, in the order the index lists them.  A new report module lists its reports in its own
``REPORTS`` and is added here."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from reports import event_reports, library_reports, reader_reports
from reports.base import Report

REPORTS: dict[str, Report] = {report.slug: report for report in (*library_reports.REPORTS, *event_reports.REPORTS,
                                                                   *reader_reports.REPORTS)}


def report_get(slug: str) -> Report | None:
    return REPORTS.get(slug)


def reports_for(user: AbstractBaseUser | AnonymousUser) -> list[Report]:
    """The reports ``user`` may read."""
    return [report for report in REPORTS.values() if report.allowed(user)]
