"""Every write of the orders app. Other apps import from here (see docs/ARCHITECTURE.md)."""

from orders.services.lifecycle import (
    order_can_be_canceled_by_customer,
    order_cancel_request,
    order_finish,
    order_mark_overlapped,
    order_reconcile,
    order_resend,
    order_staff_cancel,
    order_staff_partial,
    order_staff_progress,
    order_transition,
    orders_cancel_pricing_error,
)
from orders.services.mass import MassLine, MassResult, mass_lines_parse, orders_place_mass
from orders.services.placement import (
    PlacementContext,
    order_charge,
    order_place,
    order_place_in_context,
)
from orders.services.relay import orders_release_held

__all__ = [
    "MassLine",
    "MassResult",
    "PlacementContext",
    "mass_lines_parse",
    "order_can_be_canceled_by_customer",
    "order_cancel_request",
    "order_charge",
    "order_finish",
    "order_mark_overlapped",
    "order_place",
    "order_place_in_context",
    "order_reconcile",
    "order_resend",
    "order_staff_cancel",
    "order_staff_partial",
    "order_staff_progress",
    "order_transition",
    "orders_cancel_pricing_error",
    "orders_place_mass",
    "orders_release_held",
]
