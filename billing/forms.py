from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .exceptions import DepositRefused, PromoCodeRefused
from .models import Account, PromoCode, Transaction
from .money import usd_text
from .services import deposit_amount_check, promo_code_check


def _usd(amount: Decimal) -> str:
    return usd_text(amount)


class AddFundsForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (USD)"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.01"}),
    )
    promo_code = forms.CharField(
        label=_("Promo code"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        low, high = settings.DEPOSIT_MIN, settings.DEPOSIT_MAX  # R-PAY-5
        self.fields["amount"].help_text = _("From %(low)s to %(high)s.") % {
            "low": _usd(low),
            "high": _usd(high),
        }
        self.fields["amount"].widget.attrs.update({"min": str(low), "max": str(high)})
        self.fields["promo_code"].help_text = _(
            "Optional: its bonus is added as Promotional Credit."
        )

    def clean_amount(self):
        try:
            return deposit_amount_check(amount=self.cleaned_data["amount"])
        except DepositRefused as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_promo_code(self):
        return self.cleaned_data["promo_code"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        code, amount = cleaned.get("promo_code"), cleaned.get("amount")
        if code and amount is None and not PromoCode.objects.filter(code=code).exists():
            self.add_error("promo_code", _("This promo code does not exist."))
        elif code and amount is not None:
            try:
                promo_code_check(code=code, user=self.user, amount=amount)  # R-PRO-1
            except PromoCodeRefused as exc:
                self.add_error("promo_code", exc.message)
        return cleaned


class HistoryFilterForm(forms.Form):
    source = forms.ChoiceField(
        required=False,
        choices=[("", _("All sources")), *((k.value, k.label) for k in Account.ALL_CUSTOMER_KINDS)],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    reason = forms.ChoiceField(
        required=False,
        choices=[("", _("All movements")), *Transaction.Reason.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    date_from = forms.DateField(
        required=False,
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )
    date_to = forms.DateField(
        required=False,
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )

    def filters(self) -> dict:
        """The valid filters, for ``history_for_user``; none if the form is invalid."""
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}


class StaffBalanceForm(forms.Form):
    """A staff member grants credit or corrects a balance; the reason is kept in the ledger."""

    GRANT = "grant"
    ADJUST_DEPOSITED = "adjust_deposited"
    ADJUST_PROMOTIONAL = "adjust_promotional"

    customer = forms.CharField(label=_("Customer (username or email)"), max_length=254)
    action = forms.ChoiceField(
        choices=[
            (GRANT, "Grant Promotional Credit"),
            (ADJUST_DEPOSITED, "Adjust Deposited Funds (+ or -)"),
            (ADJUST_PROMOTIONAL, "Adjust Promotional Credit (+ or -)"),
        ]
    )
    amount = forms.DecimalField(
        label=_("Amount (USD)"),
        max_digits=20,
        decimal_places=5,
        help_text=_("A negative adjustment beyond the balance leaves the rest owed (R-BAL-5)."),
    )
    reason = forms.CharField(
        max_length=200, help_text=_("Required; shown in the customer's balance history.")
    )

    def clean_customer(self):
        from django.contrib.auth import get_user_model
        from django.db.models import Q

        value = self.cleaned_data["customer"].strip()
        user = get_user_model().objects.filter(Q(username=value) | Q(email__iexact=value)).first()
        if user is None:
            raise forms.ValidationError(_("No customer with this username or email."))
        return user

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < 3:
            raise forms.ValidationError(_("Say why, in a few words."))
        return reason

    def clean(self):
        cleaned = super().clean()
        amount = cleaned.get("amount")
        if amount is not None:
            if amount == 0:
                self.add_error("amount", _("The amount cannot be zero."))
            elif cleaned.get("action") == self.GRANT and amount < 0:
                self.add_error("amount", _("A grant is a positive amount."))
        return cleaned
