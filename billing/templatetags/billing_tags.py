from django import template
from django.urls import reverse

from billing.models import RefKind
from billing.money import usd_change, usd_text

register = template.Library()


@register.filter
def usd(amount) -> str:
    """Money for people (billing.money.usd_text): $12.50, $0.27819, \u2212$0.06."""
    if amount is None or amount == "":
        return ""
    return usd_text(amount)


@register.filter
def signed_usd(amount) -> str:
    """A change: +$5.00 / \u2212$1.20; empty for none."""
    if amount is None or amount == "":
        return ""
    return usd_change(amount)


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
