from django import template

from support.selectors import claim_state

register = template.Library()


@register.inclusion_tag("support/includes/claim_window.html")
def claim_window(order):
    """R-ORD-14: "claims open until …" or "claim window closed" for one order."""
    return {"order": order, "state": claim_state(order=order)}
