"""Forms of the orders pages: they parse; ``orders.services`` decides (and its refusals are
put beside the field they concern)."""

import uuid

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from billing.money import usd_text
from catalog.links import MAX_LINK_LENGTH
from orders.exceptions import OrderRefused
from orders.models import Order
from orders.selectors import OrderFilters
from orders.services.relay.subscription import DELAYS as SUBSCRIPTION_DELAYS

_CONTROL = {"class": "form-control"}
EXPIRED_FORM = _("This form could not be read as it was sent. Reload the page and try again.")
_SELECT = {"class": "form-select"}


def _service_choices(services) -> list:
    """The services grouped by category (optgroups), so the page works without JavaScript."""
    groups: dict[str, list] = {}
    for service in services:
        label = f"#{service.pk} {service.name} — {usd_text(service.user_rate)}"
        groups.setdefault(service.category.name, []).append((service.pk, label))
    return [("", _("Choose a service")), *groups.items()]


class RefusalFormMixin:
    def add_refusal(self, refusal: OrderRefused) -> None:
        """Show a refusal of ``order_place`` beside its field (or above the form)."""
        field = refusal.field if refusal.field in self.fields else None
        if field is not None and self.fields[field].widget.is_hidden:
            field = None
        self.add_error(field, refusal.message)


class NewOrderForm(RefusalFormMixin, forms.Form):
    category = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs=_SELECT),
        help_text=_("Narrows the list of services."),
    )
    search = forms.CharField(
        label=_("Search services"),
        required=False,
        widget=forms.TextInput(
            attrs={**_CONTROL, "placeholder": _("Name or ID"), "autocomplete": "off"}
        ),
    )
    service = forms.IntegerField(widget=forms.Select(attrs=_SELECT))
    link = forms.CharField(
        max_length=MAX_LINK_LENGTH,
        required=False,  # a subscription takes a username instead (clean() checks)
        widget=forms.TextInput(attrs={**_CONTROL, "placeholder": "https://", "inputmode": "url"}),
    )
    quantity = forms.IntegerField(
        required=False, min_value=1, widget=forms.NumberInput(attrs={**_CONTROL, "min": 1})
    )
    comments = forms.CharField(
        required=False,
        help_text=_("One comment per line; the quantity is the number of lines."),
        widget=forms.Textarea(attrs={**_CONTROL, "rows": 5}),
    )
    dripfeed = forms.BooleanField(
        label=_("Drip-feed"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    runs = forms.IntegerField(
        required=False,
        min_value=1,
        help_text=_("How many portions; the quantity above is per portion."),
        widget=forms.NumberInput(attrs={**_CONTROL, "min": 1}),
    )
    interval = forms.IntegerField(
        label=_("Interval (minutes)"),
        required=False,
        min_value=0,
        help_text=_("Minutes between portions; 0 sends them back to back."),
        widget=forms.NumberInput(attrs={**_CONTROL, "min": 0}),
    )
    # Subscriptions (R-ORD-11; API_V2.md's fields).
    username = forms.CharField(
        required=False, max_length=200, widget=forms.TextInput(attrs=_CONTROL),
        help_text=_("The account whose new posts get the service."),
    )  # fmt: skip
    sub_min = forms.IntegerField(
        label=_("Min per post"),
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs=_CONTROL),
    )
    sub_max = forms.IntegerField(
        label=_("Max per post"),
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs=_CONTROL),
    )
    posts = forms.IntegerField(
        label=_("Posts"), required=False, min_value=1, help_text=_("Empty: every new post."),
        widget=forms.NumberInput(attrs=_CONTROL),
    )  # fmt: skip
    old_posts = forms.IntegerField(
        label=_("Old posts"), required=False, min_value=0, widget=forms.NumberInput(attrs=_CONTROL)
    )
    delay = forms.TypedChoiceField(
        label=_("Delay (minutes)"), required=False, coerce=int, empty_value=0,
        choices=[(d, str(d)) for d in SUBSCRIPTION_DELAYS], widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip
    expiry = forms.CharField(
        label=_("Expiry (d/m/Y)"), required=False, max_length=10,
        widget=forms.TextInput(attrs={**_CONTROL, "placeholder": "31/12/2026"}),
    )  # fmt: skip
    idempotency_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, services=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories"))] + [
            (category.pk, category.name) for category in categories
        ]
        self.fields["service"].widget.choices = _service_choices(services)
        self._types = {service.pk: service.type for service in services}
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", f"web-{uuid.uuid4().hex}")

    def add_refusal(self, refusal: OrderRefused) -> None:
        if self.is_subscription() and refusal.field in ("min", "max", "quantity"):
            self.add_error("sub_max" if refusal.field == "max" else "sub_min", refusal.message)
            return
        super().add_refusal(refusal)

    def is_subscription(self) -> bool:
        return self._types.get(self.cleaned_data.get("service")) == "Subscriptions"

    def clean(self):
        data = super().clean()
        if "idempotency_key" in self.errors:
            # A hidden field's error would not show: say it above the form instead.
            del self.errors["idempotency_key"]
            self.add_error(None, EXPIRED_FORM)
        if self.is_subscription():
            if not (data.get("username") or "").strip() and "username" not in self.errors:
                self.add_error("username", _("Enter the account's username."))
            for name in ("sub_min", "sub_max"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Needed for a subscription."))
            return data
        if not (data.get("link") or "").strip() and "link" not in self.errors:
            self.add_error("link", _("This field is required."))
        if data.get("dripfeed"):
            for name in ("runs", "interval"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Needed for drip-feed."))
        return data

    def place_arguments(self) -> dict:
        """``order_place``'s keyword arguments from the cleaned form."""
        data = self.cleaned_data
        extra = {}
        if self.is_subscription():
            extra = {
                "username": data["username"], "min": data["sub_min"], "max": data["sub_max"],
                "posts": data.get("posts"), "old_posts": data.get("old_posts"),
                "delay": data.get("delay") or 0, "expiry": data.get("expiry") or "",
            }  # fmt: skip
        elif data.get("dripfeed"):
            extra = {"runs": data["runs"], "interval": data["interval"]}
        return {
            "service_id": data["service"],
            "link": data["link"],
            "quantity": data.get("quantity"),
            "comments": data.get("comments") or None,
            "extra": extra,
            "idempotency_key": data.get("idempotency_key") or None,
        }


class MassOrderForm(forms.Form):
    orders = forms.CharField(
        label=_("Orders"),
        help_text=_("One order per line: service ID | link | quantity"),
        widget=forms.Textarea(
            attrs={
                **_CONTROL,
                "rows": 12,
                "spellcheck": "false",
            }
        ),
    )

    def __init__(self, *args, example: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if example:  # a real service of the catalog (catalog.selectors.mass_order_example)
            self.fields["orders"].widget.attrs["placeholder"] = example

    def clean_orders(self) -> str:
        text = self.cleaned_data["orders"]
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > settings.ORDERS_MASS_MAX_LINES:
            raise forms.ValidationError(
                _("At most %(most)s lines at a time; this has %(lines)s.")
                % {"most": settings.ORDERS_MASS_MAX_LINES, "lines": len(lines)}
            )
        return text


class OrderFilterForm(forms.Form):
    """The Orders page's filters (GET)."""

    status = forms.ChoiceField(
        required=False,
        choices=[("", _("All")), *Order.Status.choices],
        widget=forms.Select(attrs=_SELECT),
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={**_CONTROL, "placeholder": _("Order ID or link")}),
    )

    def filters(self) -> OrderFilters:
        if not self.is_valid():
            return OrderFilters()
        return OrderFilters(status=self.cleaned_data["status"], q=self.cleaned_data["q"])
