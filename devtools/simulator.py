"""A fault-injecting provider that speaks API v2 (``docs/spec/API_V2.md``) over real HTTP.

Standalone (standard library only, no Django): the tests run it in a thread on 127.0.0.1 and
a random port; ``python manage.py run_provider_simulator --port 8100`` runs it as a process.

* API v2 at ``/api/v2`` (form POST, JSON POST or GET), one fixed API key.
* Orders move Pending -> In progress -> Completed as time passes, ``step_seconds`` per step
  (0: final at once). A link containing ``partial`` ends Partial (a quarter undelivered), one
  containing ``cancel`` ends Canceled by the provider; ``force_status`` sets any state.
* Its balance pays for orders (``Not enough funds on balance`` when short); Partial and
  Canceled orders give the undelivered part back.
* ``adds_received`` counts every ``add`` request that arrived, whatever happened to it.
* Native drip-feed (``runs``/``interval`` on ``add``) answers ``runs`` and ``orders`` in its
  status; a Subscriptions order answers ``posts`` and ``expiry``. Refills: ``refill`` and
  ``refill_status`` (Pending, In progress, Completed a step apart); counts drop over time
  (``drop(order, amount)``, or a link containing ``drop``: a tenth a step once delivered,
  ``current_count(order)``); with ``strict_refills`` a refill of an order whose count did
  not drop ends Rejected, and a completed refill restores the count. The faults below apply
  to these actions as to ``add``/``status``.
* Faults per action (``inject``), for a number of requests or until cleared:
  ``delay`` (answer after ``seconds``), ``http_error`` (``status``, default 500), ``html``
  (a 200 HTML page), ``garbage`` (broken JSON), ``empty`` (empty body), ``drop`` (close the
  connection without an answer), ``trickle`` (one byte every ``seconds``), ``out_of_funds``
  (``untranslated`` sends ``neworder.error.not_enough_funds``) and ``error`` (any
  ``{"error": message}``, e.g. ``neworder.error.link_duplicate``). With ``process`` (default
  True) the request is carried out before the broken answer: an ``add`` then places the order.
* Control over HTTP: ``GET /control?key=K`` gives counters; ``POST /control`` with JSON
  ``{"key": K, "op": ...}``: ``fault`` (the fields of ``inject``), ``clear_faults``, ``reset``,
  ``set_rate`` (``service``, ``rate``), ``remove_service``, ``generate`` (``count``),
  ``set_balance`` (``balance``), ``force_status`` (``order``, ``status``, ``remains``),
  ``dialect`` (``name``).
* Dialects (``devtools/dialects.py``, ``ProviderSimulator(dialect="script")``): how real panels
  write their answers (ids as strings, ``text/html``, bare-string per-id errors, other error
  wordings, HTTP 500 for actions they do not offer...). Only the writing changes.
"""

import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from devtools.dialects import Dialect, dialect_get

DEFAULT_API_KEY = "simulator-key"
DEFAULT_BALANCE = Decimal("1000.00000")
CENT5 = Decimal("0.00001")
PROGRESS_STEPS = 2  # steps "In progress" before the final state
FINAL = {"Completed", "Partial", "Canceled"}
FAULT_KINDS = {
    "delay", "http_error", "html", "garbage", "empty", "drop", "trickle", "out_of_funds", "error",
}  # fmt: skip
ACTIONS = {"services", "add", "status", "refill", "refill_status", "cancel", "balance"}

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad gateway</h1><p>The web server reported a bad gateway error.</p></body></html>"
)

# (category, name, type, rate, min, max, refill, cancel, dripfeed, average minutes, description)
# fmt: off
DEMO_SERVICES = [
    ("Instagram Followers", "Instagram Followers [Real, Refill 30 days]", "Default", "1.90", 50, 50000, True, True, True, 240, "Real-looking profiles, 5-10k per day. Refill for 30 days."),  # noqa: E501
    ("Instagram Followers", "Instagram Followers [Cheap, No refill]", "Default", "0.45", 100, 20000, False, True, False, 120, "Mixed quality, may drop. No refill."),  # noqa: E501
    ("Instagram Followers", "Instagram Followers [Premium, Refill 60 days] Guarantee", "Default", "4.20", 20, 30000, True, True, True, 600, "High quality, slow start, guaranteed for 60 days."),  # noqa: E501
    ("Instagram Likes", "Instagram Likes [Instant]", "Default", "0.12", 10, 100000, False, True, True, 15, "Instant start, up to 50k per hour."),  # noqa: E501
    ("Instagram Likes", "Instagram Likes [Real, Refill 30 days]", "Default", "0.60", 20, 20000, True, True, True, 60, "Real accounts, refill 30 days."),  # noqa: E501
    ("Instagram Views", "Instagram Reels Views", "Default", "0.03", 100, 10000000, False, False, True, 10, "Reels and video views, very fast."),  # noqa: E501
    ("Instagram Comments", "Instagram Custom Comments", "Custom Comments", "9.00", 5, 500, False, False, False, 360, "One comment per line, written as you give them."),  # noqa: E501
    ("Instagram Comments", "Instagram Random Emoji Comments", "Default", "3.50", 10, 1000, False, True, False, 180, "Positive emoji comments."),  # noqa: E501
    ("Instagram Auto Likes", "Instagram Auto Likes [Subscription]", "Subscriptions", "0.20", 50, 5000, False, False, False, 30, "Likes on every new post of the account."),  # noqa: E501
    ("TikTok Followers", "TikTok Followers [Refill 30 days]", "Default", "2.40", 100, 50000, True, True, True, 300, "Stable followers with 30-day refill."),  # noqa: E501
    ("TikTok Followers", "TikTok Followers [Fast, No refill]", "Default", "1.10", 50, 10000, False, True, False, 90, "Fast start, no refill."),  # noqa: E501
    ("TikTok Likes", "TikTok Likes", "Default", "0.35", 50, 100000, False, True, True, 30, "Likes from active accounts."),  # noqa: E501
    ("TikTok Views", "TikTok Video Views", "Default", "0.01", 100, 100000000, False, False, True, 5, "Views start within minutes."),  # noqa: E501
    ("TikTok Comments", "TikTok Custom Comments", "Custom Comments", "12.00", 5, 300, False, False, False, 480, "Your own comments, one per line."),  # noqa: E501
    ("YouTube Views", "YouTube Views [Non-drop, Refill 90 days]", "Default", "2.80", 500, 1000000, True, False, True, 1440, "Retention 1-3 minutes, refill 90 days."),  # noqa: E501
    ("YouTube Views", "YouTube Shorts Views", "Default", "0.90", 100, 500000, False, True, True, 120, "Views for Shorts."),  # noqa: E501
    ("YouTube Subscribers", "YouTube Subscribers [Refill 30 days] Guarantee", "Default", "18.00", 50, 10000, True, True, False, 2880, "Slow, stable subscribers."),  # noqa: E501
    ("YouTube Likes", "YouTube Likes", "Default", "1.50", 20, 20000, False, True, True, 240, "Likes on videos."),  # noqa: E501
    ("YouTube Comments", "YouTube Custom Comments", "Custom Comments", "25.00", 5, 200, False, False, False, 720, "Your comments, one per line."),  # noqa: E501
    ("Telegram Members", "Telegram Channel Members [Refill 30 days]", "Default", "1.40", 100, 50000, True, True, True, 360, "Members for public channels and groups."),  # noqa: E501
    ("Telegram Members", "Telegram Members [Cheap]", "Default", "0.70", 500, 100000, False, True, False, 180, "Fast, may drop."),  # noqa: E501
    ("Telegram Post Views", "Telegram Post Views [Last 5 posts]", "Default", "0.08", 100, 1000000, False, False, True, 20, "Views on the last five posts."),  # noqa: E501
    ("Telegram Post Views", "Telegram Views Package 10k", "Package", "0.60", 1, 1, False, False, False, 60, "10,000 views on one post, flat price."),  # noqa: E501
    ("X (Twitter) Followers", "X Followers [Refill 30 days]", "Default", "6.50", 50, 20000, True, True, False, 720, "Followers for X accounts."),  # noqa: E501
    ("X (Twitter) Likes", "X Likes", "Default", "1.80", 20, 20000, False, True, True, 120, "Likes on posts."),  # noqa: E501
    ("X (Twitter) Retweets", "X Reposts", "Default", "2.20", 20, 10000, False, True, True, 180, "Reposts from active accounts."),  # noqa: E501
    ("X (Twitter) Views", "X Post Views", "Default", "0.05", 100, 5000000, False, False, True, 15, "Impressions on a post."),  # noqa: E501
    ("Facebook Page Likes", "Facebook Page Likes + Followers [Refill 30 days]", "Default", "3.20", 100, 50000, True, True, False, 720, "Page likes with followers."),  # noqa: E501
    ("Facebook Post Likes", "Facebook Post Likes", "Default", "1.20", 50, 20000, False, True, True, 120, "Reactions on posts."),  # noqa: E501
    ("Spotify Plays", "Spotify Plays [Premium accounts]", "Default", "0.95", 1000, 10000000, False, False, True, 1440, "Plays counted by Spotify."),  # noqa: E501
]
# fmt: on

_PLATFORMS = ["Instagram", "TikTok", "YouTube", "Telegram", "X (Twitter)", "Facebook"]
_PRODUCTS = ["Followers", "Likes", "Views", "Comments", "Shares", "Saves", "Reach", "Story Views"]
_TIERS = ["Cheap", "Real", "Premium", "HQ", "Targeted USA", "Targeted EU", "Instant", "Slow"]


def _service_dict(service_id: int, row) -> dict:
    category, name, kind, rate, low, high, refill, cancel, drip, minutes, desc = row
    return {
        "service": service_id,
        "name": name,
        "type": kind,
        "category": category,
        "rate": str(rate),
        "min": str(low),
        "max": str(high),
        "refill": refill,
        "cancel": cancel,
        "dripfeed": drip,
        "average_time": str(minutes),
        "desc": desc,
    }


def demo_catalog() -> list[dict]:
    """The realistic catalog served by default (ids from 101)."""
    return [_service_dict(101 + n, row) for n, row in enumerate(DEMO_SERVICES)]


def generated_catalog(count: int, *, seed: int = 7) -> list[dict]:
    """``count`` varied, deterministic services (ids from 1001), for large syncs."""
    rnd = random.Random(seed)  # noqa: S311 - test data, not security
    services = []
    for n in range(count):
        platform = _PLATFORMS[n % len(_PLATFORMS)]
        product = _PRODUCTS[(n // len(_PLATFORMS)) % len(_PRODUCTS)]
        tier = _TIERS[(n // (len(_PLATFORMS) * len(_PRODUCTS))) % len(_TIERS)]
        refill = n % 3 == 0
        low = rnd.choice([10, 20, 50, 100, 500])
        row = (
            f"{platform} {product}",
            f"{platform} {product} [{tier}]{' [Refill 30 days]' if refill else ''} #{n + 1}",
            "Default",
            (Decimal(rnd.randint(1, 2000)) / 100).quantize(Decimal("0.01")),
            low,
            low * rnd.choice([100, 1000, 10000]),
            refill,
            n % 2 == 0,
            n % 4 == 0,
            rnd.choice([10, 30, 60, 240, 1440]),
            f"{tier} {product.lower()} for {platform}. Start 0-1 h.",
        )
        services.append(_service_dict(1001 + n, row))
    return services


@dataclass
class Fault:
    kind: str
    action: str = "*"
    times: int | None = None  # None: until cleared
    seconds: float = 0.0
    status: int = 500
    message: str = ""
    untranslated: bool = False
    process: bool = True

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.action != "*" and self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")


@dataclass
class SimOrder:
    id: int
    service: int
    link: str
    quantity: int
    charge: Decimal
    created: float
    outcome: str = "Completed"
    canceled: bool = False
    forced: tuple[str, int] | None = None  # (status, remains)
    extra: dict = field(default_factory=dict)
    dropped: int = 0  # refills: what the count lost since delivery (``drop``)


@dataclass
class SimRefill:
    id: int
    order: int
    created: float
    had_drop: bool = False  # the count was below the end count when asked
    done: bool = False
    rejected: bool = False


class _ApiError(Exception):
    pass


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT5, rounding=ROUND_HALF_UP))


class ProviderSimulator:
    """State and behaviour of one simulated provider; ``start()`` serves it over HTTP."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        services: list[dict] | None = None,
        step_seconds: float = 10.0,
        balance: Decimal = DEFAULT_BALANCE,
        refuse_duplicates: bool = True,
        clock=time.monotonic,
        dialect: str | Dialect | None = None,
    ):
        self.api_key = api_key
        # How answers are written (devtools/dialects.py); reset() comes back to this one.
        self._initial_dialect = dialect_get(dialect)
        self.step_seconds = step_seconds
        self.refuse_duplicates = refuse_duplicates
        self._clock = clock
        self._initial_services = [dict(s) for s in (services or demo_catalog())]
        self._initial_balance = balance
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the starting catalog and balance, with no orders, faults or counts."""
        with self._lock:
            self.services = {s["service"]: dict(s) for s in self._initial_services}
            self.start_balance = self._initial_balance
            self.orders: dict[int, SimOrder] = {}
            self.refills: dict[int, SimRefill] = {}
            self.faults: list[Fault] = []
            self.adds_received = 0
            self.requests_received = 0
            self.last_request: dict = {}
            self._next_order = 23501
            self._next_refill = 1
            self.dialect = self._initial_dialect
            self.strict_refills = False

    def start(self, host: str = "127.0.0.1", port: int = 0) -> "ProviderSimulator":
        """Serve in a daemon thread; ``port=0`` picks a free port (see ``.url``)."""
        self._server = _Server((host, port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, host: str, port: int) -> None:
        self._server = _Server((host, port), _Handler, self)
        try:
            self._server.serve_forever(poll_interval=0.5)
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/v2"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- control ---------------------------------------------------------------------------
    def inject(self, kind: str, action: str = "*", **options) -> Fault:
        fault = Fault(kind=kind, action=action, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def set_rate(self, service_id: int, rate) -> None:
        with self._lock:
            self.services[int(service_id)]["rate"] = str(Decimal(str(rate)))

    def remove_service(self, service_id: int) -> None:
        with self._lock:
            self.services.pop(int(service_id), None)

    def replace_catalog(self, services: list[dict]) -> None:
        """Serve ``services`` until ``reset()`` (which goes back to the starting catalog)."""
        with self._lock:
            self.services = {s["service"]: dict(s) for s in services}

    def set_balance(self, balance) -> None:
        """Make the balance ``balance`` now (orders placed so far keep their charges)."""
        with self._lock:
            self.start_balance = Decimal(str(balance)) + self._spent()

    def force_status(self, order_id: int, status: str, remains: int | None = None) -> None:
        with self._lock:
            order = self.orders[int(order_id)]
            remains = order.quantity if remains is None else int(remains)
            order.forced = (status, remains)

    @property
    def orders_placed(self) -> int:
        with self._lock:
            return len(self.orders)

    def stats(self) -> dict:
        with self._lock:
            return {
                "adds_received": self.adds_received,
                "requests_received": self.requests_received,
                "orders": len(self.orders),
                "services": len(self.services),
                "balance": _money(self.balance()),
                "faults": [f.__dict__ for f in self.faults],
            }

    def control(self, payload: dict) -> dict:
        op = payload.get("op")
        options = {k: v for k, v in payload.items() if k not in {"op", "key"}}
        if op == "fault":
            self.inject(**options)
        elif op == "clear_faults":
            self.clear_faults()
        elif op == "reset":
            self.reset()
        elif op == "set_rate":
            self.set_rate(options["service"], options["rate"])
        elif op == "remove_service":
            self.remove_service(options["service"])
        elif op == "generate":
            self.replace_catalog(generated_catalog(int(options["count"])))
        elif op == "set_balance":
            self.set_balance(options["balance"])
        elif op == "force_status":
            self.force_status(options["order"], options["status"], options.get("remains"))
        elif op == "dialect":
            self.dialect = dialect_get(options["name"])
        elif op == "drop":
            self.drop(options["order"], int(options["amount"]))
        elif op == "strict_refills":
            self.strict_refills = bool(options.get("on", True))
        else:
            raise ValueError(f"unknown op {op!r}")
        return self.stats()

    # --- state -------------------------------------------------------------------------------
    def _spent(self) -> Decimal:
        return sum((self._state(o)[3] for o in self.orders.values()), Decimal(0))

    def balance(self) -> Decimal:
        with self._lock:
            return self.start_balance - self._spent()

    def _state(self, order: SimOrder) -> tuple[str, int, int, Decimal]:
        """(status, start_count, remains, charge) of ``order`` now."""
        start_count = 1000 + (order.id * 37) % 5000
        if order.canceled:
            return "Canceled", 0, order.quantity, Decimal(0)
        if order.forced:
            status, remains = order.forced
        else:
            elapsed = self._clock() - order.created
            step = int(elapsed / self.step_seconds) if self.step_seconds > 0 else PROGRESS_STEPS + 1
            if step == 0:
                return "Pending", 0, order.quantity, order.charge
            if step <= PROGRESS_STEPS:
                done = order.quantity * step // (PROGRESS_STEPS + 1)
                return "In progress", start_count, order.quantity - done, order.charge
            status = order.outcome
            remains = {"Completed": 0, "Partial": order.quantity // 4, "Canceled": order.quantity}[
                status
            ]
        if status == "Pending":
            start_count = 0
        if status == "Canceled":
            return status, start_count, order.quantity, Decimal(0)
        charge = order.charge
        if status == "Partial" and order.quantity:
            charge = order.charge * (order.quantity - remains) / order.quantity
        return status, start_count, remains, charge.quantize(CENT5, rounding=ROUND_HALF_UP)

    def _status_dict(self, order: SimOrder) -> dict:
        status, start_count, remains, charge = self._state(order)
        answer = {
            "charge": _money(charge),
            "start_count": str(start_count),
            "status": status,
            "remains": str(remains),
            "currency": "USD",
        }
        answer.update(self._dripfeed_fields(order))
        answer.update(self._subscription_fields(order, status))
        return answer

    # --- native drip-feed and subscriptions (their extra status fields) ---------------------
    def _dripfeed_fields(self, order: SimOrder) -> dict:
        """A native drip-feed order (``runs``/``interval`` given to ``add``) answers ``runs``
        and the ids of its runs, as API_V2.md allows."""
        runs = order.extra.get("runs")
        if not runs:
            return {}
        return {"runs": str(runs), "orders": [order.id * 1000 + n for n in range(1, runs + 1)]}

    def _subscription_fields(self, order: SimOrder, status: str) -> dict:
        """A subscription answers ``posts`` (posts served so far) and ``expiry``."""
        if "username" not in order.extra:
            return {}
        posts = order.extra.get("posts")
        done = {"Pending": 0, "In progress": 1}.get(status, posts or 1)
        return {"posts": str(done), "expiry": order.extra.get("expiry") or ""}

    def _refill_status(self, refill: SimRefill) -> str:
        order = self.orders[refill.order]
        if "reject-refill" in order.link or refill.rejected:
            return "Rejected"
        if self.step_seconds <= 0:
            return self._refill_done(refill, order)
        step = int((self._clock() - refill.created) / self.step_seconds)
        return ["Pending", "In progress"][step] if step < 2 else self._refill_done(refill, order)

    # --- refills: counts that drop over time ------------------------------------------------
    def drop(self, order_id: int, amount: int) -> None:
        """The order's count loses ``amount`` (followers unfollow): a refill can restore it."""
        with self._lock:
            self.orders[int(order_id)].dropped += int(amount)

    def _time_drop(self, order: SimOrder) -> int:
        """A link with ``drop`` loses a tenth of its quantity per step once delivered (≤ 30 %)."""
        if "drop" not in order.link or self.step_seconds <= 0:
            return 0
        steps = int((self._clock() - order.created) / self.step_seconds) - PROGRESS_STEPS - 1
        return min(max(steps, 0), 3) * order.quantity // 10

    def current_count(self, order_id: int) -> int:
        """The target's count now: start count + delivered - what dropped."""
        with self._lock:
            order = self.orders[int(order_id)]
            status, start_count, remains, _ = self._state(order)
            delivered = order.quantity - remains if status != "Pending" else 0
            return max(start_count + delivered - order.dropped - self._time_drop(order), 0)

    def _refill_done(self, refill: SimRefill, order: SimOrder) -> str:
        """A refill ends Completed and restores the count; with ``strict_refills`` one of an
        order whose count did not drop is Rejected (R-ORD-13's rule, the provider's side)."""
        if refill.done:
            return "Completed"
        if self.strict_refills and not refill.had_drop:
            refill.rejected = True
            return "Rejected"
        order.dropped = -self._time_drop(order)
        refill.done = True
        return "Completed"

    # --- API v2 ----------------------------------------------------------------------------
    def handle_api(self, params: dict) -> object:
        """The answer document for one API call (errors as ``{"error": ...}``)."""
        try:
            with self._lock:
                if params.get("key") != self.api_key:
                    raise _ApiError("Invalid API key")
                action = params.get("action", "")
                handler = getattr(self, f"_api_{action}", None) if action in ACTIONS else None
                if handler is None:
                    raise _ApiError("Incorrect request")
                return handler(params)
        except _ApiError as exc:
            return {"error": str(exc)}

    def answer(self, params: dict) -> tuple[int, bytes, str]:
        """One API call as written in this simulator's dialect: (status, body, content type).
        An action the dialect does not offer is refused before anything is carried out."""
        action = params.get("action", "")
        refusal = self.dialect.refusal(action)
        if refusal is not None:
            return refusal
        return self.dialect.render(action, params, self.handle_api(params))

    def _api_services(self, params):
        return [dict(s) for s in sorted(self.services.values(), key=lambda s: s["service"])]

    def _api_balance(self, params):
        return {"balance": _money(self.balance()), "currency": "USD"}

    def _order_target(self, service: dict, params: dict) -> tuple[str, int, int]:
        """(link, quantity per run, runs) of an ``add`` for ``service``, by its type."""
        kind = service["type"]
        if kind == "Subscriptions":
            username = (params.get("username") or "").strip()
            if not username:
                raise _ApiError("Incorrect link")
            return username, _int(params.get("max"), "Incorrect request"), 1
        link = (params.get("link") or "").strip()
        if not link.startswith(("http://", "https://")) or any(c.isspace() for c in link):
            raise _ApiError("Incorrect link")
        if kind == "Package":
            return link, 1, 1
        if kind == "Custom Comments":
            lines = [x for x in (params.get("comments") or "").splitlines() if x.strip()]
            return link, len(lines), 1
        quantity = _int(params.get("quantity"), "Incorrect request")
        if not params.get("runs"):
            return link, quantity, 1
        _int(params.get("interval"), "Incorrect request")
        return link, quantity, _int(params.get("runs"), "Incorrect request")

    def _api_add(self, params):
        service = self.services.get(_int(params.get("service"), "Incorrect service ID"))
        if service is None:
            raise _ApiError("Incorrect service ID")
        link, quantity, runs = self._order_target(service, params)
        low, high = int(service["min"]), int(service["max"])
        if quantity < low:
            raise _ApiError(f"Quantity less than minimal {low}")
        if quantity > high:
            raise _ApiError(f"Quantity more than maximum {high}")
        if self.refuse_duplicates and any(
            o.link == link and o.service == service["service"] and self._state(o)[0] not in FINAL
            for o in self.orders.values()
        ):
            raise _ApiError(
                "You have active order with this link. Please wait until order being completed."
            )
        rate = Decimal(service["rate"])
        charge = rate if service["type"] == "Package" else rate * quantity * runs / 1000
        charge = charge.quantize(CENT5, rounding=ROUND_HALF_UP)
        if charge > self.balance():
            raise _ApiError("Not enough funds on balance")
        outcome = "Completed"
        if "partial" in link:
            outcome = "Partial"
        elif "cancel" in link:
            outcome = "Canceled"
        order = SimOrder(
            id=self._next_order,
            service=service["service"],
            link=link,
            quantity=quantity * runs,
            charge=charge,
            created=self._clock(),
            outcome=outcome,
            extra=self._order_extra(service, params, runs),
        )
        self._next_order += 1
        self.orders[order.id] = order
        return {"order": order.id}

    @staticmethod
    def _order_extra(service: dict, params: dict, runs: int) -> dict:
        """What a native drip-feed or a subscription keeps for its status."""
        if service["type"] == "Subscriptions":
            posts = params.get("posts")
            return {
                "username": params.get("username", ""),
                "posts": _int(posts, "Incorrect request") if posts else None,
                "expiry": params.get("expiry") or "",
            }
        if params.get("runs"):
            return {"runs": runs, "interval": _int(params.get("interval"), "Incorrect request")}
        return {}

    def _api_status(self, params):
        if params.get("orders"):
            answer = {}
            for order_id in _id_list(params["orders"]):
                order = self.orders.get(order_id)
                answer[str(order_id)] = (
                    self._status_dict(order) if order else {"error": "Incorrect order ID"}
                )
            return answer
        order = self.orders.get(_int(params.get("order"), "Incorrect order ID"))
        if order is None:
            raise _ApiError("Incorrect order ID")
        return self._status_dict(order)

    def _one_refill(self, order_id: int) -> int:
        order = self.orders.get(order_id)
        if order is None:
            raise _ApiError("Incorrect order ID")
        if not self.services.get(order.service, {}).get("refill"):
            raise _ApiError("Refill is disabled for this service")
        if self._state(order)[0] not in {"Completed", "Partial"}:
            raise _ApiError("The refill task is not completed for this order")
        dropped = order.dropped + self._time_drop(order) > 0
        refill = SimRefill(
            id=self._next_refill, order=order_id, created=self._clock(), had_drop=dropped
        )
        self._next_refill += 1
        self.refills[refill.id] = refill
        return refill.id

    def _api_refill(self, params):
        if params.get("orders"):
            answer = []
            for order_id in _id_list(params["orders"]):
                try:
                    answer.append({"order": order_id, "refill": self._one_refill(order_id)})
                except _ApiError as exc:
                    answer.append({"order": order_id, "refill": {"error": str(exc)}})
            return answer
        return {"refill": str(self._one_refill(_int(params.get("order"), "Incorrect order ID")))}

    def _api_refill_status(self, params):
        if params.get("refills"):
            answer = []
            for refill_id in _id_list(params["refills"]):
                refill = self.refills.get(refill_id)
                status = self._refill_status(refill) if refill else {"error": "Refill not found"}
                answer.append({"refill": refill_id, "status": status})
            return answer
        refill = self.refills.get(_int(params.get("refill"), "Refill not found"))
        if refill is None:
            raise _ApiError("Refill not found")
        return {"status": self._refill_status(refill)}

    def _api_cancel(self, params):
        answer = []
        for order_id in _id_list(params.get("orders") or params.get("order") or ""):
            order = self.orders.get(order_id)
            if order is None:
                result = {"error": "Incorrect order ID"}
            elif not self.services.get(order.service, {}).get("cancel"):
                result = {"error": "Cancel is disabled for this service"}
            elif self._state(order)[0] != "Pending":
                result = {"error": "The order cannot be canceled"}
            else:
                order.canceled = True
                result = 1
            answer.append({"order": order_id, "cancel": result})
        return answer

    def take_fault(self, action: str) -> Fault | None:
        with self._lock:
            self.requests_received += 1
            if action == "add":
                self.adds_received += 1
            for fault in self.faults:
                if fault.action in ("*", action):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None


def _int(value, error: str) -> int:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, AttributeError) as exc:
        raise _ApiError(error) from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise _ApiError(error)
    return int(number)


def _id_list(value: str) -> list[int]:
    ids = [_int(part, "Incorrect request") for part in str(value).split(",") if part.strip()]
    if not ids or len(ids) > 100:
        raise _ApiError("Incorrect request")
    return ids


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, simulator: ProviderSimulator):
        self.simulator = simulator
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        pass  # a client that gave up (timeouts are the point here) is not an error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ProviderSimulator/1"
    server: _Server

    def log_message(self, *args):  # quiet: the tests make thousands of calls
        pass

    def do_GET(self):
        self._dispatch(body=b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self._dispatch(body=self.rfile.read(length) if length else b"")

    def _dispatch(self, *, body: bytes) -> None:
        self.close_connection = True
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if body:
            if content_type == "application/json":
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = {}
                params.update({k: str(v) for k, v in doc.items()} if isinstance(doc, dict) else {})
            else:
                form = parse_qs(body.decode("utf-8", "replace"))
                params.update({k: v[0] for k, v in form.items()})
        path = parts.path.rstrip("/")
        simulator = self.server.simulator
        if path == "/control":
            self._control(params, body)
        elif path == "/api/v2":
            simulator.last_request = {
                "method": self.command,
                "content_type": content_type,
                "fields": sorted(params),
            }
            fault = simulator.take_fault(params.get("action", ""))
            if fault is None:
                self._send(*simulator.answer(params))
            else:
                self._faulty(fault, params)
        else:
            self._send(404, b"<html><body>Not found</body></html>", "text/html")

    def _control(self, params: dict, body: bytes) -> None:
        simulator = self.server.simulator
        try:
            payload = json.loads(body) if body else dict(params)
        except ValueError:
            payload = {}
        if payload.get("key") != simulator.api_key:
            self._send_json({"error": "Invalid API key"}, status=403)
            return
        if self.command == "GET":
            self._send_json(simulator.stats())
            return
        try:
            self._send_json(simulator.control(payload))
        except (KeyError, TypeError, ValueError) as exc:
            self._send_json({"error": f"bad control request: {exc}"}, status=400)

    def _faulty(self, fault: Fault, params: dict) -> None:
        simulator = self.server.simulator
        if fault.kind == "out_of_funds":
            funds = "Not enough funds on balance"
            self._send_json(
                {"error": "neworder.error.not_enough_funds" if fault.untranslated else funds}
            )
            return
        if fault.kind == "error":
            self._send_json({"error": fault.message or "Incorrect request"})
            return
        answer = simulator.handle_api(params) if fault.process else {"error": "Incorrect request"}
        if fault.kind == "delay":
            time.sleep(fault.seconds)
            self._send_json(answer)
        elif fault.kind == "http_error":
            self._send(fault.status, HTML_PAGE, "text/html")
        elif fault.kind == "html":
            self._send(200, HTML_PAGE, "text/html")
        elif fault.kind == "garbage":
            self._send(200, json.dumps(answer).encode()[:-2] + b"\x00,,", "application/json")
        elif fault.kind == "empty":
            self._send(200, b"", "application/json")
        elif fault.kind == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
        elif fault.kind == "trickle":
            self._trickle(json.dumps(answer).encode(), fault.seconds)

    def _trickle(self, body: bytes, pause: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            return

    def _send_json(self, doc, status: int = 200) -> None:
        self._send(status, json.dumps(doc).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            return
