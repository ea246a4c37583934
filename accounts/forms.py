"""The login form of the web pages and the admin, under the same throttle as the API's password login."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import CalendarLink
from accounts.services import login_with_password
from core.net import client_ip
from core.text import validate_single_line, validate_visible_name


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, checking the password through ``login_with_password`` (failures are counted
    per username and per address, and refused for a while after too many)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            ip = client_ip(self.request) if self.request is not None else None
            result = login_with_password(username=username, password=password, ip=ip)
            if result.retry_after:
                minutes = max(1, result.retry_after // 60)
                raise forms.ValidationError(
                    _("尝试次数过多，请 %(minutes)s 分钟后再试") % {"minutes": minutes}, code="throttled"
                )
            if result.user is None:
                raise self.get_invalid_login_error()
            self.user_cache = result.user
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class ContactForm(forms.Form):
    """Where a reader's notices go: e-mail (mailed as well as listed at /me/notices) and a mobile number."""

    email = forms.EmailField(label=gettext_lazy("电子邮箱"), required=False, max_length=254)
    phone = forms.RegexField(label=gettext_lazy("手机或电话"), required=False, max_length=32,
                             regex=r"^\+?[0-9][0-9 \-]{4,30}$",
                             error_messages={"invalid": gettext_lazy("电话只能包含数字、空格、- 和开头的 +")})


class CalendarLinkForm(forms.Form):
    """A calendar link made or changed on /me: its name and what its feed holds; ``action`` on a link's own form."""

    name = forms.CharField(label=gettext_lazy("名称"), required=False, max_length=64,
                           validators=[validate_single_line, validate_visible_name],
                           help_text=gettext_lazy("便于辨认，例如 手机、办公室 Outlook"))
    scope = forms.ChoiceField(label=gettext_lazy("内容"), choices=CalendarLink.Scope.choices,
                              initial=CalendarLink.Scope.MINE, required=False)
    action = forms.ChoiceField(choices=[("save", "save"), ("revoke", "revoke")], required=False)
