"""Money in the admin's lists by the one display rule (``billing.money.usd_text``, issue 14):
"$50.00", "$0.315", "\u2212$0.06", never the ledger's raw "50.00000"."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import DecimalField
from django.utils.text import capfirst

from .money import PLACES, usd_text


def usd_column(model, field: str, description: str = ""):
    """A ``list_display`` entry for the money field ``field`` of ``model``: shown by the rule,
    sorted by the field, headed by its verbose name; empty stays the admin's "-"."""

    def column(obj) -> str | None:
        value = getattr(obj, field)
        return None if value is None else usd_text(value)

    column.__name__ = f"{field}_usd"
    heading = description or capfirst(model._meta.get_field(field).verbose_name)
    return admin.display(description=heading, ordering=field)(column)


def is_money_field(model, name: str) -> bool:
    """Whether ``name`` is a ledger-precision money field of ``model`` (``MoneyField``)."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a method or a relation path, not a field
        return False
    return isinstance(field, DecimalField) and field.decimal_places == PLACES


class MoneyColumns:
    """Mixed into a ModelAdmin: the money fields named in ``list_display`` show by the rule."""

    def get_list_display(self, request):
        names = super().get_list_display(request)  # type: ignore[misc]
        return [
            usd_column(self.model, name)  # type: ignore[attr-defined]
            if isinstance(name, str) and is_money_field(self.model, name)  # type: ignore[attr-defined]
            else name
            for name in names
        ]
