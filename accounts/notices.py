"""The kinds of customer notices a customer can stop getting by mail (issue 14), as data.

Each switch covers the notice kinds it names (a kind ending in ``*`` is a prefix). The
in-account notice always shows; a switch only stops the mail. A required switch (the
dormancy notices of R-DOR-2/R-DOR-4) cannot be turned off.
"""

from dataclasses import dataclass

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def _notice_text(message: str, params: dict) -> str:
    text = gettext(message)
    return text % params if params else text


_notice_text_lazy = lazy(_notice_text, str)


def notice_text(message: str, **params) -> Promise:
    """A notice's subject or body, translated when ``notice_send`` writes it in the customer's
    language (not in the language of the request or task that caused it). Mark ``message``
    with ``gettext_noop``; its ``%(name)s`` placeholders are filled from ``params`` (a lazy
    param, such as a choice's label, is translated with it)."""
    return _notice_text_lazy(message, params)


@dataclass(frozen=True)
class MailSwitch:
    key: str
    label: str
    kinds: tuple[str, ...]
    required: bool = False


MAIL_SWITCHES = (
    MailSwitch(
        "orders", _("An order ends Partial or Canceled, with the amount returned"),
        ("order_partial", "order_canceled"),
    ),
    MailSwitch("deposits", _("A deposit is credited"), ("deposit_credited",)),
    MailSwitch("tickets", _("Support replies to a ticket"), ("ticket_reply",)),
    MailSwitch("terms", _("Our Terms of Service change"), ("terms_v*",)),
    MailSwitch(
        "dormancy", _("Dormancy: before a freeze or a forfeit (required)"),
        ("dormancy_freeze", "dormancy_forfeit"), required=True,
    ),
)  # fmt: skip
SWITCHES_BY_KEY = {switch.key: switch for switch in MAIL_SWITCHES}


def mail_switch_for(kind: str) -> MailSwitch | None:
    """The switch that covers a notice kind, or ``None`` (always mailed)."""
    for switch in MAIL_SWITCHES:
        for pattern in switch.kinds:
            if kind == pattern or (pattern.endswith("*") and kind.startswith(pattern[:-1])):
                return switch
    return None
