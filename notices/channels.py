"""The ways a notice reaches a person besides their notice list: pluggable backends, as Django's
EMAIL_BACKEND is.  ``settings.NOTICE_CHANNELS`` maps a channel's name (stored in preferences and
deliveries) to a class here or in any importable module:

* ``EmailChannel``  Django's mail, so EMAIL_BACKEND (SMTP, console, file, locmem in tests) applies;
* ``FileSmsChannel`` each SMS written to a file of its own under NOTICE_SMS_FILE_PATH (development, or a
  spool directory an SMS gateway reads); a provider's adapter subclasses ``SmsChannel`` and implements
  ``send_text`` (docs/deploy.md shows one);
* ``WebhookChannel`` a 企业微信/政务微信-style group robot: ``{"msgtype": "text", "text": {"content": …}}``
  posted to the reader's robot URL through ``core.net.post_json`` (allowed hosts only, never into the
  internal network, no redirects, a timeout).

A channel says where it reaches a person (``address``; empty: the delivery is skipped, not failed) and
sends (``send``): returning means delivered; ``Undeliverable`` means it never will be (not retried); any
other exception is a failure tried again later (notices.services).
"""

import json
import os
import re
import secrets
import tempfile
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from core.net import OutboundRefused, post_json


class Undeliverable(Exception):
    """A failure that trying again cannot mend (a robot URL the installation no longer allows)."""


class Channel:
    """A way notices reach people.  ``label`` names it (``short_label`` heads its column on /me, where a
    phone has little room); ``missing`` says why a delivery was skipped when ``address`` finds nothing.
    One instance per process serves every send: keep no per-send state."""

    label = _("渠道")
    short_label = None
    missing = _("没有联系方式")

    def __init__(self, name: str) -> None:
        self.name = name
        self.short_label = self.short_label or self.label

    def address(self, person, preference) -> str:
        """Where this channel reaches ``person`` (``preference``: their NoticePreference or None); "" if it
        cannot, and the delivery is skipped."""
        raise NotImplementedError

    def send(self, notice, *, to: str) -> None:
        """Deliver ``notice`` (its ``subject``, ``body``, ``kind``, ``key``) to ``to``, or raise."""
        raise NotImplementedError


class EmailChannel(Channel):
    label = _("电子邮件")
    short_label = _("邮件")
    missing = _("没有填写邮箱")

    def address(self, person, preference) -> str:
        return person.email or ""

    def send(self, notice, *, to: str) -> None:
        send_mail(notice.subject, notice.body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)


#: A mainland mobile number, with or without +86 / 86 in front, once spaces and dashes are removed.
_MAINLAND_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
#: Any other number in international form.
_INTERNATIONAL = re.compile(r"\+[1-9]\d{6,14}")


def mobile_number(phone: str) -> str:
    """The number an SMS goes to, from the contact field (``手机或电话``): a mainland mobile as its 11 digits,
    another country's in international form; "" for a landline or anything else."""
    digits = re.sub(r"[\s\-]", "", phone or "")
    if match := _MAINLAND_MOBILE.fullmatch(digits):
        return match.group(1)
    return digits if _INTERNATIONAL.fullmatch(digits) and not digits.startswith("+86") else ""


class SmsChannel(Channel):
    """The base of SMS backends: the reader's mobile number and the text (the subject and where to read the
    whole notice); a provider's adapter implements ``send_text`` only."""

    label = _("短信")
    missing = _("没有填写手机号")

    def address(self, person, preference) -> str:
        profile = getattr(person, "profile", None)
        return mobile_number(profile.phone if profile is not None else "")

    def text(self, notice) -> str:
        return _("%(subject)s（详见 %(url)s）") % {"subject": notice.subject, "url": f"{settings.SITE_URL}/me/notices"}

    def send(self, notice, *, to: str) -> None:
        self.send_text(to=to, text=str(self.text(notice)), notice=notice)

    def send_text(self, *, to: str, text: str, notice) -> None:
        raise NotImplementedError


class FileSmsChannel(SmsChannel):
    """Writes each SMS to a file of its own in NOTICE_SMS_FILE_PATH: ``To:`` and ``Notice:`` lines, a blank
    line, the text.  The file appears whole (written under a hidden name, then renamed), so a gateway that
    watches the directory never reads half a message."""

    def send_text(self, *, to: str, text: str, notice) -> None:
        directory = Path(settings.NOTICE_SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{notice.pk}-{secrets.token_hex(4)}.txt"
        handle, partial = tempfile.mkstemp(dir=directory, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(f"To: {to}\nNotice: {notice.key}\n\n{text}\n")
            os.replace(partial, directory / name)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise


#: 企业微信's limit on a text message's content, in bytes of UTF-8.
WEBHOOK_TEXT_BYTES = 2048


class WebhookFailed(Exception):
    """The robot's server answered, but not with success."""


class WebhookChannel(Channel):
    """A chat group robot (企业微信; 政务微信 and others that take the same JSON): the reader's robot URL
    from their preference.  Success is a 2xx answer whose JSON, if any, has ``errcode`` 0 (企业微信 answers
    200 with an error code for a bad key or a flood); anything else is a failure tried again."""

    label = _("企业微信/政务微信机器人")
    short_label = _("群机器人")
    missing = _("没有填写机器人地址")

    def address(self, person, preference) -> str:
        return preference.webhook_url if preference is not None else ""

    def content(self, notice) -> str:
        text = f"{notice.subject}\n\n{notice.body}".strip()
        return text.encode()[:WEBHOOK_TEXT_BYTES].decode(errors="ignore")

    def send(self, notice, *, to: str) -> None:
        payload = {"msgtype": "text", "text": {"content": self.content(notice)}}
        try:
            response = post_json(to, payload, allowed_hosts=settings.NOTICE_WEBHOOK_HOSTS,
                                 timeout=settings.NOTICE_WEBHOOK_TIMEOUT)
        except OutboundRefused as exc:
            raise Undeliverable(str(exc)) from None
        # The URL holds the robot's secret key: no message here names it.
        if 300 <= response.status < 400:
            raise WebhookFailed(f"HTTP {response.status} (redirects are not followed)")
        if not 200 <= response.status < 300:
            raise WebhookFailed(f"HTTP {response.status}")
        try:
            answer = json.loads(response.body or b"{}")
        except ValueError:
            return  # a robot that answers 2xx without JSON took the message
        if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
            raise WebhookFailed(f"errcode {answer.get('errcode')}: {str(answer.get('errmsg', ''))[:120]}")


@cache
def channels() -> dict[str, Channel]:
    """The configured channels by name, in the order of NOTICE_CHANNELS (built once per process)."""
    return {name: import_string(path)(name) for name, path in settings.NOTICE_CHANNELS.items()}


def channel_label(name: str) -> str:
    """A channel's name for people (the name itself for a channel no longer configured)."""
    channel = channels().get(name)
    return str(channel.label) if channel is not None else name


@receiver(setting_changed)
def _forget_channels(*, setting: str, **kwargs) -> None:
    if setting == "NOTICE_CHANNELS":
        channels.cache_clear()
