"""Forms of the library's pages: they validate input as the API's schemas do."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from shuyuan.text import one_line


class CatalogImportForm(forms.Form):
    FORMATS = [("", _("按内容识别")), ("csv", "CSV"), ("marc21", "MARC21"), ("unimarc", "UNIMARC / CNMARC")]

    file = forms.FileField(label=_("目录文件（CSV 或 ISO 2709 MARC）"))
    format = forms.ChoiceField(label=_("格式"), choices=FORMATS, required=False)
    location = forms.CharField(label=_("新复本的馆藏地（可不填）"), max_length=64, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件过大 (file too large)"))
        return upload

    def clean_location(self):
        return one_line(self.cleaned_data["location"])
