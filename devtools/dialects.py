"""Dialects: how real panels answer API v2 where they differ from ``../shared/spec/API_V2.md``.

A ``Dialect`` is a response-transform layer, standard library only. It never changes what a
provider *does*, only how its answers are written: the simulator (``ProviderSimulator(dialect=
...)``) and ``DialectProxy`` (any API v2 server, e.g. our own panel, seen through a dialect)
hand it the standard answer of each call just before writing it.

* ``refusal(action)``: an action the dialect does not offer is refused before anything is
  carried out (HTTP 500 with an empty body, or ``{"error": "This action is Invalid"}``).
* ``render(action, params, doc)``: the standard answer ``doc`` rewritten, as
  ``(http status, body, content type)``.

``DIALECTS`` names the ones the tests run against: ``standard`` (the contract exactly),
``strings`` (ids as strings, ``"status": "success"`` beside answers), ``html`` (pretty-printed
JSON sent as ``text/html``) and ``script`` (everything a widely used PHP panel script does).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

INVALID_ACTION = "This action is Invalid"
EMPTY_CATALOG = {"status": "success", "data": "Empty Data"}

# The PHP script's wordings for the contract's errors (API_V2.md "Error messages").
SCRIPT_WORDINGS: list[tuple[re.Pattern, str]] = [
    (
        re.compile(r"^Quantity less than minimal (\d+)$"),
        r"Quantity must to be greater than or equal to minimum amount \1",
    ),
    (
        re.compile(r"^Quantity more than maximum (\d+)$"),
        r"Quantity must to be less than or equal to maximum amount \1",
    ),
    (re.compile(r"^Incorrect service ID$"), "Service ID does not exists"),
    (re.compile(r"^Incorrect link$"), "Bad Link"),
    (
        re.compile(r"^Invalid API key$"),
        "API is Disable for this user or User Not Found! Contact the Support",
    ),
]

Response = tuple[int, bytes, str]


@dataclass(frozen=True)
class Dialect:
    """How one provider writes its answers; every option off is the contract exactly."""

    name: str = "standard"
    strings: bool = False  # ids and numbers as strings: {"order": "23501"}
    html: bool = False  # Content-Type text/html, JSON pretty-printed
    success_flag: bool = False  # "status": "success" beside an object answer
    loose_services: bool = False  # lower-case types; no refill or cancel fields
    loose_start_count: bool = False  # start_count null while Pending, "" when Canceled
    refunded: bool = False  # Canceled is called Refunded
    bare_errors: bool = False  # multi-status: "Incorrect order ID", not {"error": ...}
    script_wordings: bool = False  # SCRIPT_WORDINGS instead of the contract's
    empty_data: bool = False  # an empty catalog is EMPTY_CATALOG, not []
    http500_actions: frozenset[str] = frozenset()  # answered HTTP 500, empty body
    invalid_actions: frozenset[str] = frozenset()  # answered {"error": INVALID_ACTION}

    # --- the two hooks ------------------------------------------------------------------
    def refusal(self, action: str) -> Response | None:
        """The answer to an action this dialect does not offer (nothing is carried out)."""
        if action in self.http500_actions:
            return 500, b"", "text/html; charset=UTF-8"
        if action in self.invalid_actions:
            return self._write({"error": INVALID_ACTION})
        return None

    def render(self, action: str, params: dict, doc) -> Response:
        """The standard answer ``doc`` to ``action`` as this dialect writes it."""
        return self._write(self.transform(action, params, doc))

    # --- the rewriting ------------------------------------------------------------------
    def transform(self, action: str, params: dict, doc):
        if isinstance(doc, dict) and set(doc) == {"error"}:
            return {"error": self._wording(doc["error"])}
        if action == "services" and isinstance(doc, list):
            if not doc and self.empty_data:
                return dict(EMPTY_CATALOG)
            if self.loose_services:
                doc = [self._loose_service(item) for item in doc]
        elif action == "status" and isinstance(doc, dict):
            if params.get("orders"):
                doc = {key: self._multi_status_item(value) for key, value in doc.items()}
            else:
                doc = self._status(doc)
        if self.strings:
            doc = _stringify(doc)
        if (
            self.success_flag
            and isinstance(doc, dict)
            and "status" not in doc
            and "error" not in doc
        ):
            doc = {"status": "success", **doc}
        return doc

    def _wording(self, message):
        if not self.script_wordings or not isinstance(message, str):
            return message
        for pattern, wording in SCRIPT_WORDINGS:
            if pattern.match(message):
                return pattern.sub(wording, message)
        return message

    @staticmethod
    def _loose_service(item):
        if not isinstance(item, dict):
            return item
        item = {k: v for k, v in item.items() if k not in ("refill", "cancel")}
        if isinstance(item.get("type"), str):
            item["type"] = item["type"].lower()
        return item

    def _multi_status_item(self, value):
        if isinstance(value, dict) and set(value) == {"error"}:
            message = self._wording(value["error"])
            return message if self.bare_errors else {"error": message}
        return self._status(value)

    def _status(self, value):
        if not isinstance(value, dict) or not isinstance(value.get("status"), str):
            return value
        value = dict(value)
        if self.loose_start_count:
            if value["status"] == "Pending":
                value["start_count"] = None
            elif value["status"] == "Canceled":
                value["start_count"] = ""
        if self.refunded and value["status"] == "Canceled":
            value["status"] = "Refunded"
        return value

    def _write(self, doc) -> Response:
        if self.html:
            body = json.dumps(doc, indent=4, default=str)
            return 200, body.encode(), "text/html; charset=UTF-8"
        return 200, json.dumps(doc, default=str).encode(), "application/json"


def _stringify(doc):
    """Every number (not flags) as a string, the way PHP's json_encode of strings does."""
    if isinstance(doc, bool) or doc is None:
        return doc
    if isinstance(doc, int | float | Decimal):
        return str(doc)
    if isinstance(doc, dict):
        return {key: _stringify(value) for key, value in doc.items()}
    if isinstance(doc, list):
        return [_stringify(item) for item in doc]
    return doc


STANDARD = Dialect()
STRINGS = Dialect(name="strings", strings=True, success_flag=True)
HTML = Dialect(name="html", html=True)
SCRIPT = Dialect(
    name="script",
    strings=True,
    html=True,
    success_flag=True,
    loose_services=True,
    loose_start_count=True,
    refunded=True,
    bare_errors=True,
    script_wordings=True,
    empty_data=True,
    http500_actions=frozenset({"refill", "refill_status"}),
    invalid_actions=frozenset({"cancel"}),
)
DIALECTS: dict[str, Dialect] = {d.name: d for d in (STANDARD, STRINGS, HTML, SCRIPT)}


def dialect_get(name_or_dialect: str | Dialect | None) -> Dialect:
    """A dialect by name (``DIALECTS``), or the one given; None is the standard."""
    if name_or_dialect is None:
        return STANDARD
    if isinstance(name_or_dialect, Dialect):
        return name_or_dialect
    return DIALECTS[name_or_dialect]


def dialect_without(dialect: Dialect, *options: str) -> Dialect:
    """``dialect`` with some options off, e.g. ``dialect_without(SCRIPT, "invalid_actions")``."""
    off = {name: type(getattr(dialect, name))() for name in options}
    return replace(dialect, name=f"{dialect.name}-{'-'.join(options)}", **off)


# --- a dialect in front of any API v2 server ---------------------------------------------------
class DialectProxy:
    """An HTTP server that passes API v2 calls on to ``upstream`` and answers in ``dialect``.

    Used between two copies of our panel: the reseller copy calls the proxy, the proxy calls
    the provider copy's ``/api/v2`` and rewrites its answers. ``start()`` runs it in a thread
    on a free port; ``.url`` is its ``/api/v2``.
    """

    def __init__(self, *, upstream: str, dialect: str | Dialect = STANDARD, timeout: float = 30):
        self.upstream = upstream
        self.dialect = dialect_get(dialect)
        self.timeout = timeout
        self.calls: list[str] = []  # the actions passed on, in order
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> DialectProxy:
        self._server = _ProxyServer((host, port), _ProxyHandler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v2"

    def answer(self, body: bytes, content_type: str) -> Response:
        """Pass one call on and rewrite the upstream's answer."""
        params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = params.get("action", "")
        refusal = self.dialect.refusal(action)
        if refusal is not None:
            return refusal
        self.calls.append(action)
        request = urllib.request.Request(  # noqa: S310 - the test's own http:// upstream
            self.upstream, data=body, headers={"Content-Type": content_type}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            doc = json.loads(raw, parse_float=Decimal)
        except ValueError:
            return status, raw, "text/html; charset=UTF-8"
        code, text, kind = self.dialect.render(action, params, doc)
        return (status if status != 200 else code), text, kind


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, proxy: DialectProxy):
        self.proxy = proxy
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        pass


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.close_connection = True
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if urlsplit(self.path).path.rstrip("/") != "/api/v2":
            self._send(404, b"", "text/html")
            return
        content_type = self.headers.get("Content-Type") or "application/x-www-form-urlencoded"
        self._send(*self.server.proxy.answer(body, content_type))

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            return
