import base64
import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from core.text import validate_single_line


class Role(models.TextChoices):
    """The roles of the library, kept as Django groups of the same name."""

    JUDGE = "judge", _("法官")
    LIBRARIAN = "librarian", _("馆员")
    ORGANIZER = "organizer", _("活动组织者")
    #: The court's leadership (院领导): reads the library-wide reports, by division, never a person's reading.
    MANAGER = "manager", _("院领导")


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


class CalendarLink(models.Model):
    """One named address of a person's calendar feed (/calendar/u/<token>.ics), e.g. 手机 or 办公室 Outlook.

    ``fgcal_<lookup>_<secret>``: the lookup (a random id) finds the row; the secret is not stored but derived,
    HMAC-SHA256 of the owner and the lookup under a key derived from SECRET_KEY (``salted_hmac``), so the link
    can be shown again at any time while a copy of the database alone gives no working URL.  Verification
    accepts SECRET_KEY_FALLBACKS, so rotating the key keeps links working while the old key is listed.
    Revoking deletes the row.  Links carried over from the one hashed token per person of before
    (``legacy_hash``: SHA-256 of the whole token) still verify but cannot be shown again.
    """

    PREFIX = "fgcal"
    #: The key salt of the derivation: changing it invalidates every link.
    KEY_SALT = "accounts.CalendarLink"

    class Scope(models.TextChoices):
        MINE = "mine", _("我的日程")
        ALL = "all", _("全部活动 + 我的日程")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_links")
    name = models.CharField(_("名称"), max_length=64, validators=[validate_single_line])
    scope = models.CharField(_("内容"), max_length=8, choices=Scope.choices, default=Scope.MINE)
    lookup = models.CharField(max_length=16, unique=True)
    legacy_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Not auto_now_add: the migration from CalendarToken keeps each token's own creation time.
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    # Updated by feed fetches at most every CALENDAR_LINK_TOUCH_SECONDS, never a write per request.
    last_fetched_at = models.DateTimeField(_("最近获取"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("日历订阅链接")
        verbose_name_plural = _("日历订阅链接")
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(scope__in=["mine", "all"]),
                                              name="calendarlink_scope_valid")]

    def __str__(self) -> str:
        return f"{self.PREFIX}_{self.lookup}_…"

    @property
    def showable(self) -> bool:
        """Whether the token can be derived again (False for a link carried over from a stored hash)."""
        return not self.legacy_hash

    def _secret(self, key: str | bytes) -> str:
        mac = salted_hmac(self.KEY_SALT, f"{self.user_id}:{self.lookup}", secret=key, algorithm="sha256")
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def token(self) -> str:
        """The raw token of this link (the secret derived under the current SECRET_KEY)."""
        if not self.showable:
            raise ValueError("a link carried over from a stored hash cannot be shown again")
        return f"{self.PREFIX}_{self.lookup}_{self._secret(settings.SECRET_KEY)}"

    def matches(self, raw: str) -> bool:
        """Whether ``raw`` is this link's token under SECRET_KEY or one of SECRET_KEY_FALLBACKS."""
        if self.legacy_hash:
            return hmac.compare_digest(self.legacy_hash, hash_token(raw))
        secret = raw.split("_", 2)[-1].encode()
        found = False
        for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
            # Every key is tried (no early exit), so the time taken says nothing about which one matched.
            found |= hmac.compare_digest(self._secret(key).encode(), secret)
        return found and raw == f"{self.PREFIX}_{self.lookup}_{secret.decode()}"


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
