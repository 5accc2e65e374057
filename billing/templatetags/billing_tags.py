from decimal import Decimal

from django import template
from django.urls import reverse

from billing.models import RefKind
from billing.money import money_text

register = template.Library()


@register.filter
def usd(amount) -> str:
    """$12.50 for whole cents, all the ledger's places otherwise ($0.27819); minus before $."""
    if amount is None or amount == "":
        return ""
    amount = Decimal(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}${money_text(abs(amount))}"


@register.filter
def signed_usd(amount) -> str:
    """A change: +$5.00 / -$1.20; empty for none."""
    if amount is None or Decimal(amount) == 0:
        return ""
    return ("+" if Decimal(amount) > 0 else "") + usd(amount)


def ref_url(ref_kind: str, ref_id: str) -> str:
    """Where a ledger reference points to: the payment or the order (R-BAL-7)."""
    names = {RefKind.DEPOSIT: "billing:deposit_detail", RefKind.ORDER: "orders:detail"}
    name = names.get(ref_kind)
    if not name or not ref_id:
        return ""
    return reverse(name, args=[ref_id])


@register.inclusion_tag("billing/includes/ref_link.html")
def ledger_ref(txn):
    label = {
        RefKind.DEPOSIT: "Payment",
        RefKind.ORDER: "Order",
        RefKind.WITHDRAWAL: "Withdrawal",  # issue 12
        RefKind.DISPUTE: "Dispute",
    }.get(txn.ref_kind, "")
    return {
        "url": ref_url(txn.ref_kind, txn.ref_id),
        "label": f"{label} #{txn.ref_id}" if label and txn.ref_id else txn.get_ref_kind_display(),
    }
