from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Category, Provider
from .selectors import ServiceFilters
from .sync import DEFAULT_UPDATES, UPDATE_CHOICES


class ServiceFilterForm(forms.Form):
    """The services page's search and filters (GET, so it works without JavaScript)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("Service name, category or ID")}
        ),
    )
    platform = forms.ChoiceField(
        required=False,
        choices=[("", _("All platforms")), *Category.Platform.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    category = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    refill = forms.BooleanField(
        label=_("Refill"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    dripfeed = forms.BooleanField(
        label=_("Drip-feed"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories"))] + [
            (category.pk, category.name) for category in categories
        ]

    def filters(self) -> ServiceFilters:
        if not self.is_valid():
            return ServiceFilters()
        data = self.cleaned_data
        return ServiceFilters(
            q=data["q"],
            platform=data["platform"],
            category_id=data["category"],
            refill=data["refill"],
            dripfeed=data["dripfeed"],
        )


class ProviderAdminForm(forms.ModelForm):
    """The key is write-only: typed in, encrypted, never rendered back (R-PRV-5)."""

    api_url = forms.URLField(
        label="API URL",
        max_length=500,
        assume_scheme="https",
        help_text="The provider's API v2 endpoint, e.g. https://provider.example/api/v2",
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the current key.",
    )

    class Meta:
        model = Provider
        fields = ["name", "api_url", "api_key", "status", "balance_alert_threshold"]

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("api_key"):
            self.add_error("api_key", "A new provider needs its API key.")
        return cleaned


class ProviderImportForm(forms.Form):
    remote_ids = forms.MultipleChoiceField(
        label="Services to import or update", widget=forms.CheckboxSelectMultiple
    )
    markup_percent = forms.DecimalField(
        label="Markup %",
        min_value=0,
        max_digits=7,
        decimal_places=2,
        required=False,
        help_text="Added to the provider's price. Empty: new services get the default markup, "
        "imported ones keep theirs.",
    )
    update = forms.MultipleChoiceField(
        label="Update on services already imported",
        choices=list(UPDATE_CHOICES.items()),
        initial=sorted(DEFAULT_UPDATES),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, remote_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["remote_ids"].choices = remote_choices


class ProviderSyncActionForm(forms.Form):
    markup_percent = forms.DecimalField(min_value=0, required=False)
