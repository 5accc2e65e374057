"""The API v2 actions: each takes the account and the request's fields and returns
the answer's payload, or raises ``ApiError`` with the contract's wording
(docs/spec/API_V2.md). They call the same selectors and services as the web pages:
one ``order_place`` for the web, Mass Order and the API."""

from django.utils import translation

from billing.money import ZERO
from billing.money import money_text as money
from billing.selectors import balance_get
from catalog.selectors import services_for_user
from orders import services as order_services
from orders.exceptions import REFILL_NOT_FOUND, OrderRefused, RefillRefused
from orders.models import Order, Refill
from orders.selectors import (
    OrderStatusRow,
    order_get_for_user,
    order_status_rows_for_user,
    orders_for_user_by_ids,
    portion_ids_by_parent,
    refill_get_for_user,
    refills_for_user_by_ids,
    subscription_progress_by_order,
    subscription_totals_by_order,
)
from orders.services.refills import refill_request

from .transport import ApiError

MAX_IDS = 100
INCORRECT_ORDER = "Incorrect order ID"
INCORRECT_REQUEST = "Incorrect request"
# The fields `add` passes by name; any other field (drip-feed's runs and interval, Poll's
# answer_number, Web Traffic's country, ...) goes to order_place as `extra`, which keeps the
# ones API v2 defines.
KNOWN_FIELDS = {"key", "action", "service", "link", "quantity", "comments", "idempotency_key"}
MAX_EXTRA_FIELDS = 20
MAX_FIELD_LENGTH = 2000
# The API v2 status strings (API_V2.md), looked up in a plain dict: Django's
# get_status_display() took a third of a 100-id `status` (issue 15). Always English.
with translation.override("en"):
    STATUS_LABELS = {value: str(label) for value, label in Order.Status.choices}


def _int(value: str | None, *, message: str) -> int:
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ApiError(message)
    return int(text)


def _optional_int(params, name: str) -> int | None:
    if params.get(name, "").strip() == "":
        return None
    return _int(params[name], message=INCORRECT_REQUEST)


def _id_list(text: str) -> list[str]:
    """The comma-separated ids of a multi call (at most 100), as given."""
    tokens = [token.strip() for token in text.split(",") if token.strip()]
    if not tokens or len(tokens) > MAX_IDS:
        raise ApiError(INCORRECT_REQUEST)
    return list(dict.fromkeys(tokens))


def _as_id(token: str) -> int | None:
    return int(token) if token.isascii() and token.isdigit() and len(token) <= 18 else None


def _multi_ids(text: str) -> dict[int | str, int | None]:
    """The ids of a multi call whose answer is a list: each as the answer names it (the
    integer; a malformed token as given) with its integer id, or None for a malformed one,
    which is answered with the action's own error for that id, like multi ``status``."""
    ids: dict[int | str, int | None] = {}
    for token in _id_list(text):
        value = _as_id(token)
        ids.setdefault(token if value is None else value, value)
    return ids


def _status_rows_by_token(user, tokens: list[str]) -> dict[str, OrderStatusRow | None]:
    """Each token's order, None for a malformed, unknown or someone else's id."""
    ids = {token: _as_id(token) for token in tokens}
    found = order_status_rows_for_user(user=user, ids=[i for i in ids.values() if i is not None])
    return {token: found.get(order_id) for token, order_id in ids.items()}


def _orders_by_id(user, ids: dict[int | str, int | None]) -> dict[int | str, Order | None]:
    """Each id of a multi call with the customer's order, None when malformed or not theirs."""
    found = orders_for_user_by_ids(user=user, ids=[i for i in ids.values() if i is not None])
    return {key: found.get(order_id) if order_id is not None else None
            for key, order_id in ids.items()}  # fmt: skip


def services(*, user, params) -> list[dict]:
    """The services the account can order, at its own rates (R-CAT-6)."""
    return [
        {
            "service": service.pk,
            "name": service.name,
            "type": service.type,
            "category": service.category.name,
            "rate": money(service.user_rate),
            "min": str(service.min_quantity),
            "max": str(service.max_quantity),
            "refill": service.refill,  # never on beta services: a CHECK in catalog (R-CAT-5)
            "cancel": service.cancel,
            "dripfeed": service.dripfeed,
            "desc": service.description,
        }
        for service in services_for_user(user=user)
    ]


def _extra_fields(params) -> dict[str, str]:
    extra = {k: v for k, v in params.items() if k not in KNOWN_FIELDS}
    if len(extra) > MAX_EXTRA_FIELDS or any(
        len(k) > 64 or len(v) > MAX_FIELD_LENGTH for k, v in extra.items()
    ):
        raise ApiError(INCORRECT_REQUEST)
    return extra


def add(*, user, params) -> dict:
    """Place an order through the same service as the web pages (R-ORD-1, R-ORD-3)."""
    service_id = _int(params.get("service"), message="Incorrect service ID")
    try:
        order = order_services.order_place(
            user=user,
            service_id=service_id,
            # Never shortened: an over-long link is refused as "Incorrect link" (R-ORD-3).
            link=params.get("link", ""),
            quantity=_optional_int(params, "quantity"),
            comments=params.get("comments"),
            extra=_extra_fields(params),
            source=Order.Source.API,
            idempotency_key=params.get("idempotency_key") or None,
        )
    except OrderRefused as exc:
        raise ApiError(exc.api_message) from exc
    return {"order": order.pk}


def _order_status(order: OrderStatusRow, parts: dict) -> dict:
    answer = {
        # What the order costs now: a Partial's or a Canceled's return is taken off (R-ORD-7/8).
        "charge": money(order.charge - order.refunded),
        "start_count": str(order.start_count or 0),
        "status": STATUS_LABELS[order.status],
        # Of the whole order: a drip-feed parent's remains count every portion (R-ORD-10).
        "remains": str(order.quantity if order.remains is None else order.remains),
        "currency": "USD",
    }
    if order.is_dripfeed_parent:
        answer["runs"] = str(order.runs)
        answer["orders"] = parts.get(order.pk, [])
    elif order.is_subscription:  # R-ORD-11: posts ordered so far, the expiry (d/m/Y)
        # Its charge is what its cycles were charged, less their returns; its remains, what
        # the cycles ordered so far have still to deliver (none ordered yet: 0).
        cycles_net, undelivered = parts.get(("cycles", order.pk), (ZERO, 0))
        answer["charge"] = money(order.charge - order.refunded + cycles_net)
        answer["remains"] = str(undelivered)
        progress = parts.get(("subscription", order.pk))
        if progress is not None:
            posts_done, expiry = progress
            answer["posts"] = str(posts_done)
            answer["expiry"] = expiry.strftime("%d/%m/%Y") if expiry else ""
    return answer


def _parts(orders) -> dict:
    """What a drip-feed parent or a subscription adds to its status, for all in one go."""
    orders = [order for order in orders if order is not None]
    parents = [order.pk for order in orders if order.is_dripfeed_parent]
    found: dict = portion_ids_by_parent(parent_ids=parents) if parents else {}
    subscribed = [order.pk for order in orders if order.is_subscription]
    if subscribed:
        progress = subscription_progress_by_order(order_ids=subscribed)
        found.update({("subscription", pk): item for pk, item in progress.items()})
        totals = subscription_totals_by_order(order_ids=subscribed)
        found.update({("cycles", pk): item for pk, item in totals.items()})
    return found


def status(*, user, params):
    """One order (`order`) or up to 100 (`orders`), errors inline per id (R-ORD-4, R-ORD-5).
    Reads only the columns it answers with (``order_status_rows_for_user``)."""
    if "orders" in params:
        by_token = _status_rows_by_token(user, _id_list(params["orders"]))
        parts = _parts(by_token.values())
        return {
            token: _order_status(order, parts) if order else {"error": INCORRECT_ORDER}
            for token, order in by_token.items()
        }
    order_id = _int(params.get("order"), message=INCORRECT_ORDER)
    order = order_status_rows_for_user(user=user, ids=[order_id]).get(order_id)
    if order is None:  # unknown, or someone else's: the same answer
        raise ApiError(INCORRECT_ORDER)
    return _order_status(order, _parts([order]))


def cancel(*, user, params) -> list[dict]:
    """Ask to cancel up to 100 orders; each answers 1 or its own error (R-ORD-6)."""
    by_id = _orders_by_id(user, _multi_ids(params.get("orders") or params.get("order", "")))
    answers = []
    for order_id, order in by_id.items():
        result: object = 1
        if order is None:
            result = {"error": INCORRECT_ORDER}
        else:
            try:
                order_services.order_cancel_request(user=user, order=order)
            except OrderRefused as exc:
                result = {"error": exc.api_message}
        answers.append({"order": order_id, "cancel": result})
    return answers


def _refill_one(user, order: Order | None):
    """The new refill's id, or raises ``ApiError`` with the contract's wording (R-ORD-13)."""
    if order is None:
        raise ApiError(INCORRECT_ORDER)
    try:
        return refill_request(user=user, order=order).pk
    except RefillRefused as exc:
        raise ApiError(exc.api_message) from exc


def refill(*, user, params):
    """Ask to refill one order (`order`) or up to 100 (`orders`), errors inline per id."""
    if "orders" in params:
        answers = []
        for order_id, order in _orders_by_id(user, _multi_ids(params["orders"])).items():
            try:
                answers.append({"order": order_id, "refill": _refill_one(user, order)})
            except ApiError as exc:
                answers.append({"order": order_id, "refill": {"error": exc.message}})
        return answers
    order_id = _int(params.get("order"), message=INCORRECT_ORDER)
    try:
        order = order_get_for_user(user=user, order_id=order_id)
    except Order.DoesNotExist as exc:
        raise ApiError(INCORRECT_ORDER) from exc
    return {"refill": str(_refill_one(user, order))}


def refill_status(*, user, params):
    """The status of one refill (`refill`) or several (`refills`, at most 100)."""
    if "refills" in params:
        ids = _multi_ids(params["refills"])
        found = refills_for_user_by_ids(user=user, ids=[i for i in ids.values() if i is not None])
        return [
            {
                "refill": key,
                "status": found[refill_id].get_status_display()
                if refill_id in found
                else {"error": REFILL_NOT_FOUND},
            }
            for key, refill_id in ids.items()
        ]
    refill_id = _int(params.get("refill"), message=REFILL_NOT_FOUND)
    try:
        found = refill_get_for_user(user=user, refill_id=refill_id)
    except Refill.DoesNotExist as exc:
        raise ApiError(REFILL_NOT_FOUND) from exc
    return {"status": found.get_status_display()}


def balance(*, user, params) -> dict:
    """The account's Balance: both funding sources, less anything owed (R-BAL-2)."""
    return {"balance": money(balance_get(user=user).total), "currency": "USD"}


ACTIONS = {
    "services": services,
    "add": add,
    "status": status,
    "refill": refill,
    "refill_status": refill_status,
    "cancel": cancel,
    "balance": balance,
}
