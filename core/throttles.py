"""Per-user rate limits of django-ninja operations (and the pages that share their budget)."""

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import UserRateThrottle


class HourlyUploadThrottle(UserRateThrottle):
    """At most ``settings.<setting>`` uploads of one kind per user an hour, shared by all workers through the
    cache and read on every request (tests and operators may change it)."""

    def __init__(self, scope: str, setting: str) -> None:
        self.scope, self.setting = scope, setting
        super().__init__(rate="1/h")

    def allow_request(self, request: HttpRequest) -> bool:
        self.num_requests, self.duration = getattr(settings, self.setting), 60 * 60
        return super().allow_request(request)
