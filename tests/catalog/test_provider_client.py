"""The provider client against the simulator over real HTTP, with every fault injected."""

import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog.provider_client import Outcome, ProviderClient, Reason, classify_error
from tests.catalog.fixtures import SIMULATOR_KEY

TIMEOUT = 0.5
SLACK = 0.4  # scheduling on a busy 2-core machine; a hang would be seconds, not this
LINK = "https://www.instagram.com/some.account/"


@pytest.fixture
def client(simulator):
    return ProviderClient(url=simulator.url, key=SIMULATOR_KEY, timeout=TIMEOUT)


def _placed_order(client, simulator, link=LINK) -> int:
    result = client.add(service=101, link=link, quantity=100)
    assert result.outcome is Outcome.OK, result
    return result.data["order"]


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


# --- every action, answered well -----------------------------------------------------------
def test_services_lists_the_catalog_with_decimal_rates(client):
    result = client.services()
    assert result.ok
    first = result.data[0]
    assert {"service", "name", "type", "category", "rate", "min", "max"} <= set(first)
    assert first["rate"] == "1.90"


def test_add_status_and_multi_status(client, simulator):
    order_id = _placed_order(client, simulator)
    status = client.status(order_id)
    assert status.ok
    assert status.data["status"] in {"Pending", "In progress", "Completed"}

    missing = order_id + 999
    multi = client.multi_status([order_id, missing])
    assert multi.ok
    assert set(multi.data) == {order_id, missing}  # keys normalised to ints
    assert multi.data[missing] == {"error": "Incorrect order ID"}


def test_refill_refill_status_and_their_multi_forms(client, simulator):
    simulator.step_seconds = 0  # orders complete at once
    order_id = _placed_order(client, simulator)
    refill = client.refill(order_id)
    assert refill.ok
    assert isinstance(refill.data["refill"], int)
    assert client.refill_status(refill.data["refill"]).data == {"status": "Completed"}

    other = _placed_order(client, simulator, link=LINK + "p/2/")
    multi = client.multi_refill([other, 424242])
    assert multi.ok
    assert multi.data[1] == {"order": 424242, "refill": {"error": "Incorrect order ID"}}
    refill_ids = [multi.data[0]["refill"], 999]
    statuses = client.multi_refill_status(refill_ids)
    assert statuses.ok
    assert statuses.data[1] == {"refill": 999, "status": {"error": "Refill not found"}}


def test_cancel_and_balance(client, simulator):
    simulator.step_seconds = 60  # stays Pending, so it can be canceled
    order_id = _placed_order(client, simulator)
    before = client.balance()
    assert before.ok
    assert isinstance(before.data["balance"], Decimal)

    result = client.cancel([order_id])
    assert result.ok
    assert result.data == [{"order": order_id, "cancel": 1}]
    assert client.status(order_id).data["status"] == "Canceled"
    assert client.balance().data["balance"] > before.data["balance"]  # the charge came back


def test_requests_are_form_encoded_posts_with_only_order_fields(client, simulator):  # R-PRV-4
    _placed_order(client, simulator)
    assert simulator.last_request == {
        "method": "POST",
        "content_type": "application/x-www-form-urlencoded",
        "fields": ["action", "key", "link", "quantity", "service"],
    }
    with pytest.raises(ValueError, match="not an order field"):
        client.add(service=101, link=LINK, quantity=100, email="buyer@example.com")


def test_more_than_100_ids_per_call_is_refused_before_sending(client, simulator):
    with pytest.raises(ValueError, match="at most 100"):
        client.multi_status(range(1, 102))
    assert simulator.requests_received == 0


# --- faults: the answer is broken or late ------------------------------------------------------
BROKEN_ANSWERS = [
    pytest.param({"kind": "delay", "seconds": 1.5}, Reason.TIMEOUT, id="delay-past-timeout"),
    pytest.param({"kind": "trickle", "seconds": 0.15}, Reason.TIMEOUT, id="trickle"),
    pytest.param({"kind": "http_error", "status": 500}, Reason.HTTP_ERROR, id="http-500"),
    pytest.param({"kind": "http_error", "status": 502}, Reason.HTTP_ERROR, id="http-502"),
    pytest.param({"kind": "html"}, Reason.BAD_RESPONSE, id="html-page"),
    pytest.param({"kind": "garbage"}, Reason.BAD_RESPONSE, id="garbage-json"),
    pytest.param({"kind": "empty"}, Reason.BAD_RESPONSE, id="empty-body"),
    pytest.param({"kind": "drop"}, Reason.CONNECTION_LOST, id="connection-dropped"),
]


@pytest.mark.parametrize(("fault", "reason"), BROKEN_ANSWERS)
def test_add_with_a_broken_answer_is_ambiguous_and_sent_once(client, simulator, fault, reason):
    # The provider carried the order out, then the answer broke: only a lookup can tell.
    simulator.inject(action="add", **fault)
    result, elapsed = _timed(lambda: client.add(service=101, link=LINK, quantity=100))
    assert result.outcome is Outcome.AMBIGUOUS
    assert result.reason is reason
    assert result.error
    assert elapsed < TIMEOUT + SLACK
    assert simulator.adds_received == 1  # never re-sent by the client
    assert simulator.orders_placed == 1


@pytest.mark.parametrize(("fault", "reason"), BROKEN_ANSWERS)
@pytest.mark.parametrize("action", ["services", "status", "balance", "refill", "cancel"])
def test_read_and_follow_up_actions_with_a_broken_answer_retry(
    client, simulator, fault, reason, action
):
    order_id = _placed_order(client, simulator)
    simulator.inject(action=action, **fault)
    call = {
        "services": client.services,
        "status": lambda: client.status(order_id),
        "balance": client.balance,
        "refill": lambda: client.refill(order_id),
        "cancel": lambda: client.cancel([order_id]),
    }[action]
    result, elapsed = _timed(call)
    assert result.outcome is Outcome.RETRY
    assert result.reason is reason
    assert elapsed < TIMEOUT + SLACK


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_any_5xx_on_add_is_ambiguous_never_retry(client, simulator, status):
    # API_V2.md "As a client of providers" (issue 9): the provider may have placed it (R-ORD-9).
    simulator.inject(action="add", kind="http_error", status=status, process=True, times=1)
    result = client.add(service=101, link=LINK, quantity=100)
    assert (result.outcome, result.reason) == (Outcome.AMBIGUOUS, Reason.HTTP_ERROR)
    assert result.http_status == status
    assert simulator.orders_placed == 1  # it did: a blind retry would have placed a second


def test_a_429_on_add_is_retry(client, simulator):
    simulator.inject(action="add", kind="http_error", status=429, process=False, times=1)
    result = client.add(service=101, link=LINK, quantity=100)
    assert (result.outcome, result.reason) == (Outcome.RETRY, Reason.RATE_LIMITED)


@pytest.mark.parametrize("action", ["status", "balance"])
def test_a_503_on_a_read_only_call_is_retry(client, simulator, action):
    simulator.inject(action=action, kind="http_error", status=503, times=1)
    result = client.status(1) if action == "status" else client.balance()
    assert result.outcome is Outcome.RETRY


@pytest.fixture
def raw_provider():
    """A provider answering every call with the (status, body) set in ``answer``."""
    answer = {"status": 500, "body": b"{}"}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(answer["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer["body"])))
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    answer["url"] = f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    yield answer
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (500, b'{"error": "Internal error"}', Outcome.AMBIGUOUS),
        (503, b'{"error": "Service Unavailable"}', Outcome.AMBIGUOUS),
        (503, b'{"error": "neworder.error.not_enough_funds"}', Outcome.RETRY),
        (502, b'{"error": "Incorrect service ID"}', Outcome.FINAL),
        (429, b'{"error": "Something"}', Outcome.RETRY),
        # R-ORD-9 (issue 9): a 429 that names an order, or a 3xx/4xx without an error, is no
        # clear answer on `add`: ambiguous, never re-sent blind (these were RETRY).
        (429, b'{"order": 5}', Outcome.AMBIGUOUS),
        (429, b'{"error": "Too many requests", "order": 5}', Outcome.AMBIGUOUS),
        (301, b"", Outcome.AMBIGUOUS),
        (403, b"<html>Forbidden</html>", Outcome.AMBIGUOUS),
        (404, b"{}", Outcome.AMBIGUOUS),
        (429, b"", Outcome.RETRY),
        (200, b'{"ord', Outcome.AMBIGUOUS),
    ],
)
def test_add_answers_by_status_and_body(raw_provider, status, body, outcome):
    raw_provider.update(status=status, body=body)
    client = ProviderClient(url=raw_provider["url"], key="k", timeout=TIMEOUT)
    assert client.add(service=1, link=LINK, quantity=10).outcome is outcome


@pytest.mark.parametrize("status", [302, 400, 403, 404])
def test_a_3xx_or_4xx_without_an_error_is_retry_on_a_read_only_call(raw_provider, status):
    raw_provider.update(status=status, body=b"")
    client = ProviderClient(url=raw_provider["url"], key="k", timeout=TIMEOUT)
    assert client.status(1).outcome is Outcome.RETRY  # R-ORD-9


def test_a_429_is_rate_limited_and_retry(client, simulator):
    simulator.inject(action="status", kind="http_error", status=429)
    result = client.status(1)
    assert (result.outcome, result.reason) == (Outcome.RETRY, Reason.RATE_LIMITED)


def test_connect_failure_on_add_is_retry_because_nothing_was_sent():
    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ProviderClient(url=f"http://127.0.0.1:{port}/api/v2", key="k", timeout=TIMEOUT)
    result, elapsed = _timed(lambda: client.add(service=1, link=LINK, quantity=10))
    assert (result.outcome, result.reason) == (Outcome.RETRY, Reason.CONNECT_FAILED)
    assert elapsed < TIMEOUT + SLACK


def test_connect_timeout_is_bounded_and_retry():
    # A listening socket that never accepts: with its backlog full, the next connect hangs.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            client = ProviderClient(url=f"http://127.0.0.1:{port}/api/v2", key="k", timeout=TIMEOUT)
            result, elapsed = _timed(lambda: client.add(service=1, link=LINK, quantity=10))
        finally:
            for filler in fillers:
                filler.close()
    # Nothing was sent, so even an `add` is safe to try again.
    assert (result.outcome, result.reason) == (Outcome.RETRY, Reason.TIMEOUT)
    assert elapsed < TIMEOUT + SLACK


# --- refusals: the provider answered {"error": ...} ----------------------------------------------
@pytest.mark.parametrize(
    ("fault", "outcome", "reason"),
    [
        ({"kind": "out_of_funds"}, Outcome.RETRY, Reason.NOT_ENOUGH_FUNDS),
        ({"kind": "out_of_funds", "untranslated": True}, Outcome.RETRY, Reason.NOT_ENOUGH_FUNDS),
        (
            {"kind": "error", "message": "neworder.error.link_duplicate"},
            Outcome.RETRY,
            Reason.LINK_DUPLICATE,
        ),
        (
            {"kind": "error", "message": "error.incorrect_service_id"},
            Outcome.FINAL,
            Reason.BAD_SERVICE,
        ),
        ({"kind": "error", "message": "neworder.error.link"}, Outcome.FINAL, Reason.BAD_LINK),
        (
            {"kind": "error", "message": "neworder.error.min_quantity"},
            Outcome.FINAL,
            Reason.MIN_QUANTITY,
        ),
        (
            {"kind": "error", "message": "neworder.error.max_quantity"},
            Outcome.FINAL,
            Reason.MAX_QUANTITY,
        ),
        (
            {"kind": "error", "message": "Service temporarily paused"},
            Outcome.RETRY,
            Reason.PROVIDER_ERROR,
        ),
    ],
    ids=[
        "out-of-funds",
        "out-of-funds-key",
        "duplicate-key",
        "bad-service-key",
        "bad-link-key",
        "min-key",
        "max-key",
        "unknown-text",
    ],
)
def test_add_refusals_are_classified_and_nothing_is_placed(
    client, simulator, fault, outcome, reason
):
    simulator.inject(action="add", **fault)
    result = client.add(service=101, link=LINK, quantity=100)
    assert (result.outcome, result.reason) == (outcome, reason)
    assert "neworder.error" not in result.error  # untranslated keys become readable
    assert simulator.orders_placed == 0


def test_real_refusals_of_the_simulator(client, simulator):
    cases = [
        ({"service": 99999, "link": LINK, "quantity": 100}, Outcome.FINAL, Reason.BAD_SERVICE),
        ({"service": 101, "link": "not a link", "quantity": 100}, Outcome.FINAL, Reason.BAD_LINK),
        ({"service": 101, "link": LINK, "quantity": 1}, Outcome.FINAL, Reason.MIN_QUANTITY),
        ({"service": 101, "link": LINK, "quantity": 10**9}, Outcome.FINAL, Reason.MAX_QUANTITY),
    ]
    for fields, outcome, reason in cases:
        result = client.add(**fields)
        assert (result.outcome, result.reason) == (outcome, reason), fields
    assert client.status(31337).reason is Reason.BAD_ORDER
    assert client.status(31337).outcome is Outcome.FINAL


def test_duplicate_link_and_empty_balance_of_the_simulator_are_retry(client, simulator):
    simulator.step_seconds = 60
    _placed_order(client, simulator)
    duplicate = client.add(service=101, link=LINK, quantity=100)
    assert (duplicate.outcome, duplicate.reason) == (Outcome.RETRY, Reason.LINK_DUPLICATE)

    simulator.set_balance(Decimal("0.01"))
    broke = client.add(service=101, link=LINK + "other/", quantity=100)
    assert (broke.outcome, broke.reason) == (Outcome.RETRY, Reason.NOT_ENOUGH_FUNDS)


def test_a_wrong_key_is_retry_with_a_readable_reason(simulator):
    client = ProviderClient(url=simulator.url, key="wrong", timeout=TIMEOUT)
    result = client.balance()
    assert (result.outcome, result.reason) == (Outcome.RETRY, Reason.INVALID_KEY)
    assert result.error == "Invalid API key"


@pytest.mark.parametrize(
    ("message", "outcome", "reason"),
    [
        ("neworder.error.not_enough_funds", Outcome.RETRY, Reason.NOT_ENOUGH_FUNDS),
        ("Not enough funds on balance", Outcome.RETRY, Reason.NOT_ENOUGH_FUNDS),
        ("neworder.error.link_duplicate", Outcome.RETRY, Reason.LINK_DUPLICATE),
        ("You have active order with this link. Please wait until order being completed.",
         Outcome.RETRY, Reason.LINK_DUPLICATE),
        ("error.incorrect_service_id", Outcome.FINAL, Reason.BAD_SERVICE),
        ("Incorrect service ID", Outcome.FINAL, Reason.BAD_SERVICE),
        ("neworder.error.link", Outcome.FINAL, Reason.BAD_LINK),
        ("Incorrect link", Outcome.FINAL, Reason.BAD_LINK),
        ("neworder.error.min_quantity", Outcome.FINAL, Reason.MIN_QUANTITY),
        ("Quantity less than minimal 50", Outcome.FINAL, Reason.MIN_QUANTITY),
        ("neworder.error.max_quantity", Outcome.FINAL, Reason.MAX_QUANTITY),
        ("Quantity more than maximum 1000", Outcome.FINAL, Reason.MAX_QUANTITY),
        ("Incorrect order ID", Outcome.FINAL, Reason.BAD_ORDER),
        ("Refill not found", Outcome.FINAL, Reason.BAD_REFILL),
        ("Refill is disabled for this service", Outcome.FINAL, Reason.REFILL_DISABLED),
        ("The refill task is not completed for this order", Outcome.RETRY,
         Reason.REFILL_NOT_READY),
        ("Too many requests", Outcome.RETRY, Reason.RATE_LIMITED),
    ],
)  # fmt: skip
def test_error_wordings_and_untranslated_keys(message, outcome, reason):
    assert classify_error(message)[:2] == (outcome, reason)
