import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.text import validate_single_line


class Role(models.TextChoices):
    """The roles of the library, kept as Django groups of the same name."""

    JUDGE = "judge", _("法官")
    LIBRARIAN = "librarian", _("馆员")
    ORGANIZER = "organizer", _("活动组织者")


#: Roles whose holders may borrow, place holds and register for events for themselves.
PATRON_ROLES = (Role.JUDGE, Role.LIBRARIAN, Role.ORGANIZER)


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # A name is one line: it titles the person's calendar feed and heads their e-mails.
    display_name = models.CharField(_("姓名"), max_length=64, blank=True, validators=[validate_single_line])
    division = models.CharField(_("部门"), max_length=64, blank=True, validators=[validate_single_line],
                                help_text=_("例如 民事审判庭、执行局、棋盘井法庭"))
    phone = models.CharField(_("电话"), max_length=32, blank=True, validators=[validate_single_line])
    #: The barcode on the reader's library card, scanned at the desk.
    card_number = models.CharField(_("读者证号"), max_length=32, blank=True, validators=[validate_single_line])

    class Meta:
        verbose_name = _("用户资料")
        verbose_name_plural = _("用户资料")
        constraints = [models.UniqueConstraint(fields=["card_number"], condition=~models.Q(card_number=""),
                                               name="profile_card_number_unique")]

    def __str__(self) -> str:
        return self.display_name or f"profile {self.user_id}"


def hash_token(raw: str) -> str:
    """SHA-256 of a token; tokens carry 256 bits of randomness, so no salt or slow hash is needed."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the API.  Only the hash is stored; the token is shown once."""

    PREFIX = "fgsy"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=64, blank=True, validators=[validate_single_line])
    # The public part of the token, used to find the row; the secret part is
    # checked against key_hash with hmac.compare_digest.
    lookup = models.CharField(_("标识"), max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.PREFIX}_{self.lookup}_…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_token(raw))


class CalendarToken(models.Model):
    """The secret in a person's calendar-feed URL (/calendar/u/<token>.ics).

    ``fgcal_<lookup>_<secret>``: the lookup finds the row, the secret (256 bits) is checked against
    its SHA-256 with hmac.compare_digest.  One per user; rotating replaces it, so the old URL stops
    working at once.  Only the hash is stored; the URL is shown once, when created.
    """

    PREFIX = "fgcal"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token")
    lookup = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("日历订阅令牌")
        verbose_name_plural = _("日历订阅令牌")

    def __str__(self) -> str:
        return f"{self.PREFIX}_{self.lookup}_…"

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_token(raw))


class FailedLogin(models.Model):
    """One failed password login; recent rows throttle further attempts."""

    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("登录失败记录")
        verbose_name_plural = _("登录失败记录")
        indexes = [
            # login_throttled(): recent failures per username and per address.
            models.Index(fields=["username", "at"], name="failedlogin_user_at"),
            models.Index(fields=["ip", "at"], name="failedlogin_ip_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username} @ {self.at:%Y-%m-%d %H:%M}"
