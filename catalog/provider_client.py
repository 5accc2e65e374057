"""The client side of API v2: our calls to an upstream provider (``docs/spec/API_V2.md``).

Every call is a form-encoded POST with a hard total deadline (connect + send + answer), and
every answer is classified:

* ``Outcome.OK``: the answer has the expected shape; ``.data`` holds it (normalised).
* ``Outcome.RETRY``: nothing happened at the provider, or nothing we can trust: try later or
  another provider (connect failure or timeout before sending, 429, provider out of funds,
  duplicate link, invalid key, unknown error text; and for actions other than ``add`` a
  timeout, 5xx or HTML/garbage/empty body).
* ``Outcome.FINAL``: the provider refused for a reason that retrying cannot fix (unknown service,
  bad link, quantity outside min/max, unknown order or refill, refill disabled, an action the
  provider does not offer).
* ``Outcome.AMBIGUOUS`` (``add`` only): the request was sent and the answer timed out or was
  broken (garbage, HTML, empty, cut off, connection lost, any 5xx including 503, unless its
  body is an error we know): the provider may have placed the order. Never re-send it blind;
  reconcile first (API_V2.md, "As a client of providers").

Error texts are matched against ``_ERROR_TABLE``, which holds the contract's wordings, the
untranslated keys, and wordings real panels use. A text it does not know is RETRY and is
recorded per provider (``catalog.ProviderUnclassifiedAnswer``, shown in the admin) so that the
table can grow from what providers really say; so is an unknown per-item error inside a
multi-status, ``cancel``, multi ``refill`` or multi ``refill_status`` answer. Multi-status
answers are taken id by id: a bare string (or any other non-object) for one id is that id's
error, and an extra non-id key (``"status": "success"``) is ignored.

A connect failure (nothing sent) is RETRY even for ``add``. The connection is never reused, so
a stale pooled connection cannot make a failed send look like a sent one. JSON numbers are read
as ``Decimal`` (never float).
"""

import contextlib
import http.client
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_IDS_PER_CALL = 100
USER_AGENT = "smmpanel-provider-client/1"

# R-PRV-4: only the order's own fields ever go to a provider, never customer data.
ADD_FIELDS = frozenset(
    {
        "service", "link", "quantity", "runs", "interval", "comments", "username", "min",
        "max", "posts", "old_posts", "delay", "expiry", "usernames", "hashtags", "hashtag",
        "media", "answer_number", "country", "device", "type_of_traffic", "google_keyword",
        "keywords", "groups",
    }
)  # fmt: skip


class Outcome(StrEnum):
    OK = "ok"
    RETRY = "retry"
    FINAL = "final"
    AMBIGUOUS = "ambiguous"


class Reason(StrEnum):
    """Why a call ended as it did; finer than the outcome, for logs, alerts and failover."""

    OK = "ok"
    CONNECT_FAILED = "connect_failed"
    TIMEOUT = "timeout"
    CONNECTION_LOST = "connection_lost"
    HTTP_ERROR = "http_error"
    BAD_RESPONSE = "bad_response"
    RATE_LIMITED = "rate_limited"
    INVALID_KEY = "invalid_key"
    NOT_ENOUGH_FUNDS = "not_enough_funds"
    LINK_DUPLICATE = "link_duplicate"
    REFILL_NOT_READY = "refill_not_ready"
    PROVIDER_ERROR = "provider_error"
    BAD_SERVICE = "bad_service"
    BAD_LINK = "bad_link"
    MIN_QUANTITY = "min_quantity"
    MAX_QUANTITY = "max_quantity"
    BAD_ORDER = "bad_order"
    BAD_REFILL = "bad_refill"
    REFILL_DISABLED = "refill_disabled"
    BAD_REQUEST = "bad_request"
    ACTION_NOT_SUPPORTED = "action_not_supported"


@dataclass(frozen=True)
class ProviderResult:
    outcome: Outcome
    data: Any = None
    error: str = ""  # readable, fit for staff and logs; empty when OK
    reason: Reason = Reason.OK
    http_status: int | None = None
    provider_text: str = ""  # the provider's own `{"error": ...}` text, when it sent one

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


# (matches, outcome, reason, readable). A match containing no space is an untranslated key
# compared whole; any other is a phrase looked for inside the message. Order matters.
_ERROR_TABLE: list[tuple[tuple[str, ...], Outcome, Reason, str]] = [
    (
        ("neworder.error.not_enough_funds", "not enough funds"),
        Outcome.RETRY,
        Reason.NOT_ENOUGH_FUNDS,
        "The provider has not enough funds on its balance.",
    ),
    (
        ("neworder.error.link_duplicate", "active order with this link"),
        Outcome.RETRY,
        Reason.LINK_DUPLICATE,
        "The provider already has an active order on this link.",
    ),
    (
        (
            "error.incorrect_service_id",
            "neworder.error.service",
            "incorrect service id",
            "service id does not exist",  # "Service ID does not exists"
        ),
        Outcome.FINAL,
        Reason.BAD_SERVICE,
        "The provider does not offer this service.",
    ),
    (
        (
            "neworder.error.min_quantity",
            "quantity less than minimal",
            # "Quantity must to be greater than or equal to minimum amount 10"
            "greater than or equal to minimum",
        ),
        Outcome.FINAL,
        Reason.MIN_QUANTITY,
        "The quantity is below the provider's minimum.",
    ),
    (
        (
            "neworder.error.max_quantity",
            "quantity more than maximum",
            # "Quantity must to be less than or equal to maximum amount 10000"
            "less than or equal to maximum",
        ),
        Outcome.FINAL,
        Reason.MAX_QUANTITY,
        "The quantity is above the provider's maximum.",
    ),
    (
        ("neworder.error.link", "incorrect link", "bad link"),
        Outcome.FINAL,
        Reason.BAD_LINK,
        "The provider rejected the link.",
    ),
    (
        (
            "error.invalid_key",
            "invalid api key",
            # "API is Disable for this user or User Not Found! Contact the Support"
            "api is disable",
        ),
        Outcome.RETRY,
        Reason.INVALID_KEY,
        "The provider refused our API key.",
    ),
    (
        ("too many requests",),
        Outcome.RETRY,
        Reason.RATE_LIMITED,
        "The provider is rate limiting us.",
    ),
    (
        ("incorrect order id", "error.incorrect_order_id"),
        Outcome.FINAL,
        Reason.BAD_ORDER,
        "The provider does not know this order.",
    ),
    (
        ("refill not found",),
        Outcome.FINAL,
        Reason.BAD_REFILL,
        "The provider does not know this refill.",
    ),
    (
        ("refill is disabled",),
        Outcome.FINAL,
        Reason.REFILL_DISABLED,
        "The provider offers no refill for this service.",
    ),
    (
        ("refill task is not completed",),
        Outcome.RETRY,
        Reason.REFILL_NOT_READY,
        "The provider cannot refill this order yet.",
    ),
    (
        ("incorrect request",),
        Outcome.FINAL,
        Reason.BAD_REQUEST,
        "The provider found our request malformed.",
    ),
    (
        ("this action is invalid",),  # e.g. `cancel` on a panel that offers no cancel
        Outcome.FINAL,
        Reason.ACTION_NOT_SUPPORTED,
        "The provider does not offer this action.",
    ),
]


def classify_error(message: Any) -> tuple[Outcome, Reason, str]:
    """Classify a provider's ``{"error": message}``; unknown messages are RETRY."""
    text = str(message).strip()
    lowered = text.lower()
    for matches, outcome, reason, readable in _ERROR_TABLE:
        for match in matches:
            if " " in match:
                if match in lowered:
                    return outcome, reason, text  # the provider's own words say it best
            elif lowered == match:
                return outcome, reason, readable
    return Outcome.RETRY, Reason.PROVIDER_ERROR, f"Provider error: {text[:200]}"


class _SendError(Exception):
    def __init__(self, *, sent: bool, timed_out: bool, detail: str):
        super().__init__(detail)
        self.sent = sent
        self.timed_out = timed_out
        self.detail = detail


class _ShapeError(ValueError):
    pass


def _shutdown(sock: socket.socket) -> None:
    """Watchdog: unblock whatever read or write is pending on ``sock`` at the deadline."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _ShapeError("a flag where an id was expected")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise _ShapeError(f"not an id: {value!r}") from exc
    if number != number.to_integral_value() or number < 0:
        raise _ShapeError(f"not an id: {value!r}")
    return int(number)


def _ids(ids) -> str:
    ids = [_to_int(i) for i in ids]
    if not ids:
        raise ValueError("at least one id is needed")
    if len(ids) > MAX_IDS_PER_CALL:
        raise ValueError(f"at most {MAX_IDS_PER_CALL} ids per call")
    return ",".join(str(i) for i in ids)


def _describe_body(body: bytes) -> str:
    head = body.lstrip()[:200].lower()
    if not head:
        return "an empty answer"
    if head.startswith((b"<!doctype", b"<html", b"<")):
        return "an HTML page"
    return "an answer that is not JSON"


class ProviderClient:
    """API v2 calls to one provider. ``ProviderClient(provider)`` or ``ProviderClient(url=, key=)``.

    ``timeout`` is the hard limit on a whole call in seconds (default ``PROVIDER_TIMEOUT``);
    ``connect_timeout`` bounds the TCP/TLS connect inside it (``PROVIDER_CONNECT_TIMEOUT``).
    """

    def __init__(
        self,
        provider=None,
        *,
        url: str = "",
        key: str = "",
        timeout: float | None = None,
        connect_timeout: float | None = None,
    ):
        if provider is not None:
            url = url or provider.api_url
            key = key or provider.api_key
        if not url:
            raise ValueError("a provider or a url is needed")
        self.name = provider.name if provider is not None else urlsplit(url).netloc
        self.provider_id = provider.pk if provider is not None else None
        self.url = url
        self._key = key
        self.timeout = float(timeout if timeout is not None else settings.PROVIDER_TIMEOUT)
        self.connect_timeout = float(
            connect_timeout if connect_timeout is not None else settings.PROVIDER_CONNECT_TIMEOUT
        )

    def __repr__(self) -> str:  # never the key
        return f"<ProviderClient {self.name}>"

    # --- actions ----------------------------------------------------------------------
    def services(self) -> ProviderResult:
        """``data``: the provider's list of service dicts (each has at least ``service``)."""
        return self._call("services", {}, self._shape_services)

    def add(self, **fields) -> ProviderResult:
        """Place an order. ``data``: ``{"order": int}``. May be AMBIGUOUS (see module doc)."""
        unknown = set(fields) - ADD_FIELDS
        if unknown:
            raise ValueError(f"not an order field: {', '.join(sorted(unknown))}")
        if "service" not in fields:
            raise ValueError("add needs a service")
        clean = {name: value for name, value in fields.items() if value is not None}
        return self._call("add", clean, self._shape_add, is_add=True)

    def status(self, order_id) -> ProviderResult:
        """``data``: ``{"status", "charge", "start_count", "remains", "currency", ...}``."""
        return self._call("status", {"order": _to_int(order_id)}, self._shape_status)

    def multi_status(self, order_ids) -> ProviderResult:
        """``data``: ``{order_id (int): {...status...} or {"error": "..."}}``; at most 100 ids."""
        result = self._call("status", {"orders": _ids(order_ids)}, self._shape_multi_status)
        if result.ok:
            for answer in result.data.values():
                if not isinstance(answer.get("status"), str):
                    self._unclassified_item("status", answer)
        return result

    def refill(self, order_id) -> ProviderResult:
        """``data``: ``{"refill": int}``."""
        return self._call("refill", {"order": _to_int(order_id)}, self._shape_refill)

    def multi_refill(self, order_ids) -> ProviderResult:
        """``data``: ``[{"order": id, "refill": id or {"error": ...}}, ...]``."""
        result = self._call("refill", {"orders": _ids(order_ids)}, self._shape_list)
        return self._unclassified_items("refill", result, "refill")

    def refill_status(self, refill_id) -> ProviderResult:
        """``data``: ``{"status": "Completed"}``."""
        return self._call("refill_status", {"refill": _to_int(refill_id)}, self._shape_status)

    def multi_refill_status(self, refill_ids) -> ProviderResult:
        """``data``: ``[{"refill": id, "status": str or {"error": ...}}, ...]``."""
        result = self._call("refill_status", {"refills": _ids(refill_ids)}, self._shape_list)
        return self._unclassified_items("refill_status", result, "status")

    def cancel(self, order_ids) -> ProviderResult:
        """``data``: ``[{"order": id, "cancel": 1 or {"error": ...}}, ...]``."""
        result = self._call("cancel", {"orders": _ids(order_ids)}, self._shape_list)
        return self._unclassified_items("cancel", result, "cancel")

    def balance(self) -> ProviderResult:
        """``data``: ``{"balance": Decimal, "currency": str}``."""
        return self._call("balance", {}, self._shape_balance)

    # --- answer shapes -------------------------------------------------------------------
    @staticmethod
    def _shape_services(doc):
        if isinstance(doc, dict) and "data" in doc:
            # {"status": "success", "data": [...]}, or "Empty Data" for an empty catalog
            doc = doc["data"] if isinstance(doc["data"], list) else []
        if not isinstance(doc, list) or not all(
            isinstance(item, dict) and "service" in item for item in doc
        ):
            raise _ShapeError("services is not a list of services")
        return doc

    @staticmethod
    def _shape_add(doc):
        if not isinstance(doc, dict) or "order" not in doc:
            raise _ShapeError("no order id in the answer")
        return {"order": _to_int(doc["order"])}

    @staticmethod
    def _shape_status(doc):
        if not isinstance(doc, dict) or not isinstance(doc.get("status"), str):
            raise _ShapeError("no status in the answer")
        return doc

    @staticmethod
    def _shape_multi_status(doc):
        """Id by id: an object is that order's answer; a bare string (or anything else) is
        its error. Keys that are not ids (``"status": "success"``) are left out."""
        if not isinstance(doc, dict):
            raise _ShapeError("multi-status is not an object of orders")
        answers = {}
        for key, value in doc.items():
            try:
                order_id = _to_int(key)
            except _ShapeError:
                continue
            if isinstance(value, dict):
                answers[order_id] = value
            else:
                answers[order_id] = {"error": str(value if value is not None else "no answer")}
        if doc and not answers:
            raise _ShapeError("multi-status is not an object of orders")
        return answers

    @staticmethod
    def _shape_refill(doc):
        if not isinstance(doc, dict) or "refill" not in doc:
            raise _ShapeError("no refill id in the answer")
        return {"refill": _to_int(doc["refill"])}

    @staticmethod
    def _shape_list(doc):
        if not isinstance(doc, list) or not all(isinstance(item, dict) for item in doc):
            raise _ShapeError("not a list of results")
        return doc

    @staticmethod
    def _shape_balance(doc):
        if not isinstance(doc, dict) or "balance" not in doc:
            raise _ShapeError("no balance in the answer")
        try:
            amount = Decimal(str(doc["balance"]).strip())
        except InvalidOperation as exc:
            raise _ShapeError("the balance is not a number") from exc
        if not amount.is_finite():
            raise _ShapeError("the balance is not a number")
        return {"balance": amount, "currency": str(doc.get("currency") or "USD")}

    # --- transport and classification -------------------------------------------------
    def _call(self, action: str, fields: dict, shape, *, is_add: bool = False) -> ProviderResult:
        payload = urlencode({"key": self._key, "action": action, **fields}).encode()
        started = time.monotonic()
        result = self._classify(payload, shape, is_add=is_add)
        if result.reason is Reason.PROVIDER_ERROR and result.provider_text:
            self._unclassified(action, result.provider_text)
        if self.provider_id is not None:  # the operator dashboard's provider health (issue 13)
            from stats.services import provider_call_record

            provider_call_record(
                provider_id=self.provider_id, outcome=result.outcome, reason=result.reason,
                seconds=time.monotonic() - started,
            )  # fmt: skip
        if not result.ok:
            logger.warning(
                "provider %s: %s -> %s (%s, http %s)",
                self.name,
                action,
                result.outcome,
                result.reason,
                result.http_status,
            )
        return result

    def _unclassified_items(
        self, action: str, result: ProviderResult, field: str
    ) -> ProviderResult:
        """Count the per-item errors of a list answer (``cancel``, multi ``refill`` and
        ``refill_status``) that the table does not know, as ``multi_status`` does per id."""
        if result.ok:
            for item in result.data:
                self._unclassified_item(action, item.get(field))
        return result

    def _unclassified_item(self, action: str, answer: Any) -> None:
        """One item's ``{"error": text}``, counted if the table does not know the text."""
        if not isinstance(answer, dict) or answer.get("error") is None:
            return
        text = str(answer["error"]).strip()
        if classify_error(text)[1] is Reason.PROVIDER_ERROR:
            self._unclassified(action, text)

    def _unclassified(self, action: str, text: str) -> None:
        """Count an error text the table does not know, for staff to see in the admin."""
        if self.provider_id is None:
            return
        from catalog.services import provider_answer_unclassified_record

        provider_answer_unclassified_record(provider_id=self.provider_id, action=action, text=text)

    def _classify(self, payload: bytes, shape, *, is_add: bool) -> ProviderResult:
        broken = Outcome.AMBIGUOUS if is_add else Outcome.RETRY
        try:
            status, body = self._send(payload)
        except _SendError as failure:
            if not failure.sent:  # nothing reached the provider: safe to try again, even `add`
                reason = Reason.TIMEOUT if failure.timed_out else Reason.CONNECT_FAILED
                outcome = Outcome.RETRY
            else:
                reason = Reason.TIMEOUT if failure.timed_out else Reason.CONNECTION_LOST
                outcome = broken
            return ProviderResult(outcome, error=failure.detail, reason=reason)

        try:
            doc = json.loads(body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            doc = None
        # A 429 is rate limiting whatever its body says: refused before any processing.
        if (
            status != 429
            and isinstance(doc, dict)
            and "error" in doc
            and not (is_add and "order" in doc)
        ):
            outcome, reason, readable = classify_error(doc["error"])
            if not (is_add and status >= 500 and reason is Reason.PROVIDER_ERROR):
                return ProviderResult(
                    outcome,
                    error=readable,
                    reason=reason,
                    http_status=status,
                    provider_text=str(doc["error"]).strip(),
                )
            # An `add` answered 5xx with an error we do not know is no clear answer: ambiguous.
        if not 200 <= status < 300:
            placed = doc.get("order") if is_add and isinstance(doc, dict) else None
            return self._classify_status(status, broken, placed=placed)
        if doc is None:
            error = f"The provider sent {_describe_body(body)}."
            return ProviderResult(
                broken, error=error, reason=Reason.BAD_RESPONSE, http_status=status
            )
        try:
            data = shape(doc)
        except _ShapeError as exc:
            error = f"Unexpected answer: {exc}."
            return ProviderResult(
                broken, error=error, reason=Reason.BAD_RESPONSE, http_status=status
            )
        return ProviderResult(Outcome.OK, data=data, http_status=status)

    @staticmethod
    def _classify_status(status: int, broken: Outcome, *, placed: Any = None) -> ProviderResult:
        """A non-2xx answer without an ``{"error": ...}`` body (``placed``: the order id an
        `add` answer names)."""
        if status == 429 and placed is not None:
            # "Rate limited" yet naming an order it placed: no clear answer, so it is never
            # re-sent blind (API_V2.md); reconciliation asks the provider (R-ORD-9).
            error = f"HTTP 429 from the provider, naming its order {str(placed)[:40]!r}."
            return ProviderResult(
                Outcome.AMBIGUOUS, error=error, reason=Reason.BAD_RESPONSE, http_status=status
            )
        if status == 429:
            outcome, reason = Outcome.RETRY, Reason.RATE_LIMITED
        else:
            # API_V2.md: on `add` only a refused connection and a 429 are retry. Any other
            # status without an error body is no clear answer: a 5xx may come after the
            # provider stored the order (a proxy's 503 after a slow upstream), and a 3xx or
            # 4xx (redirected, blocked by a proxy) says nothing sure either. Ambiguous, never
            # re-sent blind (R-ORD-9); read-only calls simply retry.
            outcome, reason = broken, Reason.HTTP_ERROR
        error = f"HTTP {status} from the provider."
        return ProviderResult(outcome, error=error, reason=reason, http_status=status)

    def _send(self, payload: bytes) -> tuple[int, bytes]:
        """POST ``payload``; (HTTP status, body). Raises ``_SendError`` saying if it was sent."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _SendError(sent=False, timed_out=False, detail="The provider URL is not valid.")
        deadline = time.monotonic() + self.timeout
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = connection_class(
            parts.hostname, parts.port, timeout=min(self.connect_timeout, self.timeout)
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Connection": "close",
        }
        try:
            try:
                conn.connect()
            except TimeoutError as exc:
                raise _SendError(sent=False, timed_out=True, detail="Connect timed out.") from exc
            except OSError as exc:
                raise _SendError(
                    sent=False, timed_out=False, detail=f"Cannot connect: {exc.strerror or exc}."
                ) from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _SendError(sent=False, timed_out=True, detail="Connect timed out.")
            conn.sock.settimeout(remaining)
            watchdog = threading.Timer(remaining, _shutdown, args=(conn.sock,))
            watchdog.daemon = True
            watchdog.start()
            try:
                try:
                    conn.request("POST", path, body=payload, headers=headers)
                except OSError as exc:
                    # A send that failed never delivered the whole request.
                    raise _SendError(
                        sent=False,
                        timed_out=time.monotonic() >= deadline,
                        detail=f"Sending failed: {exc}.",
                    ) from exc
                try:
                    response = conn.getresponse()
                    body = self._read_body(response, deadline)
                except (OSError, http.client.HTTPException) as exc:
                    timed_out = isinstance(exc, TimeoutError) or time.monotonic() >= deadline
                    detail = (
                        f"No answer within {self.timeout:g} s."
                        if timed_out
                        else f"The connection broke: {exc.__class__.__name__}."
                    )
                    raise _SendError(sent=True, timed_out=timed_out, detail=detail) from exc
                return response.status, body
            finally:
                watchdog.cancel()
        finally:
            conn.close()

    @staticmethod
    def _read_body(response, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() >= deadline:
                raise TimeoutError("deadline")
            chunk = response.read1(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise http.client.HTTPException("answer too large")
            chunks.append(chunk)
        if time.monotonic() >= deadline:  # a body cut short by the watchdog is not an answer
            raise TimeoutError("deadline")
        return b"".join(chunks)
