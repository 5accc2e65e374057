"""Every write of the support app (tickets, claim windows, abuse reports)."""

from support.services.abuse import abuse_report_create, abuse_transition
from support.services.claims import claim_check, claim_window_open, claim_windows_close
from support.services.tickets import (
    ticket_assign,
    ticket_close,
    ticket_open,
    ticket_reply_customer,
    ticket_reply_staff,
    ticket_transition,
)

__all__ = [
    "abuse_report_create",
    "abuse_transition",
    "claim_check",
    "claim_window_open",
    "claim_windows_close",
    "ticket_assign",
    "ticket_close",
    "ticket_open",
    "ticket_reply_customer",
    "ticket_reply_staff",
    "ticket_transition",
]
