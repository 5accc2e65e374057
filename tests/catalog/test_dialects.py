"""Issue 16: real panels' dialects. The provider client against the simulator over real HTTP,
in every dialect of ``devtools/dialects.py``, and the wording table that grows from what
providers really say (unclassified answers counted per provider, shown to staff)."""

import json
import subprocess
import threading
import urllib.request
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection

from catalog.models import Provider, ProviderUnclassifiedAnswer, Service
from catalog.provider_client import Outcome, ProviderClient, Reason, classify_error
from catalog.services import provider_answer_unclassified_record
from catalog.sync import provider_sync
from devtools.dialects import DIALECTS, SCRIPT, STRINGS, Dialect
from devtools.management.commands.run_provider_simulator import Command as SimulatorCommand
from tests.catalog.fixtures import SIMULATOR_KEY

pytestmark = pytest.mark.django_db
LINK = "https://www.instagram.com/some.account/"
ALL = sorted(DIALECTS)


@pytest.fixture(params=ALL)
def dialect(request, simulator) -> Dialect:
    simulator.dialect = DIALECTS[request.param]
    return simulator.dialect


@pytest.fixture
def provider_client(simulator, sim_provider):
    return ProviderClient(sim_provider, timeout=2)


def _raw(simulator, **fields):
    """One call as the dialect writes it: (status, content type, body text)."""
    fields.setdefault("key", SIMULATOR_KEY)
    request = urllib.request.Request(simulator.url, data=urlencode(fields).encode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


# --- the simulator writes each dialect --------------------------------------------------------
def test_the_script_dialect_writes_answers_as_that_panel_does(simulator):
    simulator.dialect = SCRIPT
    simulator.step_seconds = 60
    status, kind, body = _raw(simulator, action="add", service=102, link=LINK, quantity=100)
    assert (status, kind.split(";")[0]) == (200, "text/html")
    assert body.startswith("{\n")  # pretty-printed
    order_id = json.loads(body)["order"]
    assert json.loads(body) == {"status": "success", "order": order_id}
    assert isinstance(order_id, str)

    _, _, body = _raw(simulator, action="status", orders=f"{order_id},999")
    answer = json.loads(body)
    assert answer["status"] == "success"
    assert answer["999"] == "Incorrect order ID"  # a bare string, not {"error": ...}
    assert answer[order_id]["start_count"] is None  # while Pending

    simulator.force_status(int(order_id), "Canceled")
    _, _, body = _raw(simulator, action="status", order=order_id)
    assert json.loads(body)["status"] == "Refunded"
    assert json.loads(body)["start_count"] == ""

    services = json.loads(_raw(simulator, action="services")[2])
    assert services[0]["type"] == "default"
    assert "refill" not in services[0]
    assert "cancel" not in services[0]
    assert _raw(simulator, action="refill", order=order_id)[:2] == (500, "text/html; charset=UTF-8")
    assert json.loads(_raw(simulator, action="cancel", orders=order_id)[2]) == {
        "error": "This action is Invalid"
    }
    simulator.replace_catalog([])
    assert json.loads(_raw(simulator, action="services")[2]) == {
        "status": "success",
        "data": "Empty Data",
    }


def test_the_script_dialect_uses_that_panels_error_wordings(simulator):
    simulator.dialect = SCRIPT

    def error(**fields):
        return json.loads(_raw(simulator, **fields)[2])["error"]

    assert error(action="add", service=102, link=LINK, quantity=1) == (
        "Quantity must to be greater than or equal to minimum amount 100"
    )
    assert error(action="add", service=102, link=LINK, quantity=10**6) == (
        "Quantity must to be less than or equal to maximum amount 20000"
    )
    assert error(action="add", service=99999, link=LINK, quantity=100) == (
        "Service ID does not exists"
    )
    assert error(action="add", service=102, link="not a link", quantity=100) == "Bad Link"
    assert error(action="balance", key="wrong") == (
        "API is Disable for this user or User Not Found! Contact the Support"
    )


def test_the_dialect_can_be_chosen_over_the_control_endpoint(simulator):
    request = urllib.request.Request(
        f"{simulator.base_url}/control",
        data=json.dumps({"key": SIMULATOR_KEY, "op": "dialect", "name": "strings"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()
    assert simulator.dialect is STRINGS
    simulator.reset()
    assert simulator.dialect is DIALECTS["standard"]


@pytest.mark.parametrize(("chosen", "expected"), [(None, "standard"), ("script", "script")])
def test_make_run_starts_the_simulator_in_the_dialect_simulator_dialect_names(chosen, expected):
    # `make run` (honcho, Procfile): SIMULATOR_DIALECT chooses the dialect, standard by default.
    procfile = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    (line,) = [row.split(":", 1)[1] for row in procfile if row.startswith("simulator:")]
    env = {"PATH": "/usr/bin:/bin"}
    if chosen:
        env["SIMULATOR_DIALECT"] = chosen
    argv = subprocess.run(  # the shell honcho runs it with expands the variables
        ["sh", "-c", f"for arg in {line}; do echo $arg; done"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert argv[:3] == ["python", "manage.py", "run_provider_simulator"]
    parser = SimulatorCommand().create_parser("manage.py", "run_provider_simulator")
    assert parser.parse_args(argv[3:]).dialect == expected


# --- the client in every dialect ---------------------------------------------------------------
def test_every_action_is_understood_in_each_dialect(dialect, provider_client, simulator):
    simulator.step_seconds = 60  # stays Pending
    listed = provider_client.services()
    assert listed.ok, listed
    assert len(listed.data) == len(simulator.services)

    added = provider_client.add(service=101, link=LINK, quantity=100)  # refill and cancel offered
    assert added.ok, added
    order_id = added.data["order"]
    assert isinstance(order_id, int)

    single = provider_client.status(order_id)
    assert single.ok
    assert single.data["status"] == "Pending"

    balance = provider_client.balance()
    assert balance.ok
    assert isinstance(balance.data["balance"], Decimal)

    canceled = provider_client.cancel([order_id])
    if "cancel" in dialect.invalid_actions:
        # "This action is Invalid": the provider offers no cancel; never retried.
        assert (canceled.outcome, canceled.reason) == (
            Outcome.FINAL,
            Reason.ACTION_NOT_SUPPORTED,
        )
    else:
        assert canceled.ok
        assert str(canceled.data[0]["cancel"]) == "1"

    refill = provider_client.refill(order_id)
    if "refill" in dialect.http500_actions:
        # HTTP 500 for an action the panel does not offer: a read-only call, retried later.
        assert (refill.outcome, refill.reason, refill.http_status) == (
            Outcome.RETRY,
            Reason.HTTP_ERROR,
            500,
        )
    else:
        assert refill.reason is Reason.REFILL_NOT_READY


def test_a_bare_string_error_for_one_id_leaves_the_others_answered(
    dialect, provider_client, simulator
):
    # Issue 16, item 1: one unknown id must not stall the batch.
    simulator.step_seconds = 0
    done = provider_client.add(service=102, link=LINK, quantity=100).data["order"]
    partial = provider_client.add(service=102, link=LINK + "partial/", quantity=100).data["order"]
    unknown = 379044

    result = provider_client.multi_status([unknown, done, partial])

    assert result.ok, result
    assert set(result.data) == {unknown, done, partial}  # no "status": "success" key
    assert result.data[unknown] == {"error": "Incorrect order ID"}
    assert result.data[done]["status"] == "Completed"
    assert result.data[partial]["status"] == "Partial"
    assert str(result.data[partial]["remains"]) == "25"


@pytest.mark.parametrize(
    "answer",
    [
        {"1": "Incorrect order ID", "2": {"status": "Completed", "charge": "0.1"}},
        {"1": None, "2": {"status": "Completed"}},
        {"1": ["odd"], "2": {"status": "Completed"}},
        {"status": "success", "1": 0, "2": {"status": "Completed"}},
    ],
)
def test_multi_status_takes_any_non_object_as_that_ids_error(answer):
    data = ProviderClient._shape_multi_status(answer)
    assert set(data) == {1, 2}
    assert set(data[1]) == {"error"}
    assert data[2]["status"] == "Completed"


def test_sync_imports_a_catalog_in_each_dialect(dialect, simulator, sim_provider):
    report = provider_sync(provider=sim_provider, remote_ids=["102", "107", "123"])
    assert len(report.created) == 3
    types = dict(Service.objects.values_list("provider_services__remote_service_id", "type"))
    assert types == {"102": "Default", "107": "Custom Comments", "123": "Package"}
    cheap = Service.objects.get(provider_services__remote_service_id="102")
    # Missing refill/cancel fields (the script) read as "not offered".
    assert cheap.cancel is (not dialect.loose_services)


def test_an_empty_catalog_in_the_scripts_words_is_an_empty_list(simulator, provider_client):
    simulator.dialect = SCRIPT
    simulator.replace_catalog([])
    result = provider_client.services()
    assert (result.outcome, result.data) == (Outcome.OK, [])


# --- the wording table --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "outcome", "reason"),
    [
        ("Quantity must to be greater than or equal to minimum amount 10", Outcome.FINAL,
         Reason.MIN_QUANTITY),
        ("Quantity must to be less than or equal to maximum amount 10000", Outcome.FINAL,
         Reason.MAX_QUANTITY),
        ("Service ID does not exists", Outcome.FINAL, Reason.BAD_SERVICE),
        ("Bad Link", Outcome.FINAL, Reason.BAD_LINK),
        ("API is Disable for this user or User Not Found! Contact the Support", Outcome.RETRY,
         Reason.INVALID_KEY),
        ("This action is Invalid", Outcome.FINAL, Reason.ACTION_NOT_SUPPORTED),
    ],
)  # fmt: skip
def test_real_panels_wordings_get_their_final_class(message, outcome, reason):
    assert classify_error(message)[:2] == (outcome, reason)


def test_the_scripts_refusals_over_http_get_their_final_class(simulator, provider_client):
    simulator.dialect = SCRIPT
    cases = [
        ({"service": 102, "link": LINK, "quantity": 1}, Reason.MIN_QUANTITY),
        ({"service": 102, "link": LINK, "quantity": 10**6}, Reason.MAX_QUANTITY),
        ({"service": 99999, "link": LINK, "quantity": 100}, Reason.BAD_SERVICE),
        ({"service": 102, "link": "not a link", "quantity": 100}, Reason.BAD_LINK),
    ]
    for fields, reason in cases:
        result = provider_client.add(**fields)
        assert (result.outcome, result.reason) == (Outcome.FINAL, reason), fields
    wrong_key = ProviderClient(url=simulator.url, key="wrong", timeout=2).balance()
    assert (wrong_key.outcome, wrong_key.reason) == (Outcome.RETRY, Reason.INVALID_KEY)
    assert simulator.orders_placed == 0
    assert not ProviderUnclassifiedAnswer.objects.exists()  # every one of them is known


def test_unknown_wordings_are_counted_per_provider_with_their_text(simulator, provider_client):
    simulator.inject("error", action="add", message="Order limit reached, try tomorrow")
    for _ in range(3):
        result = provider_client.add(service=102, link=LINK, quantity=100)
        assert (result.outcome, result.reason) == (Outcome.RETRY, Reason.PROVIDER_ERROR)
    simulator.clear_faults()
    simulator.inject("error", action="balance", message="Order limit reached, try tomorrow")
    provider_client.balance()

    rows = ProviderUnclassifiedAnswer.objects.order_by("action")
    assert [(r.action, r.text, r.count) for r in rows] == [
        ("add", "Order limit reached, try tomorrow", 3),
        ("balance", "Order limit reached, try tomorrow", 1),
    ]
    assert rows[0].first_seen <= rows[0].last_seen
    assert {r.provider.name for r in rows} == {"Simulator"}


class _Moderating(Dialect):
    """A panel that answers an unknown id with a wording of its own, as a bare string."""

    def _multi_status_item(self, value):
        if isinstance(value, dict) and set(value) == {"error"}:
            return "Order is being checked by moderator"
        return value


def test_an_unknown_per_id_wording_in_multi_status_is_counted(simulator, provider_client):
    simulator.step_seconds = 60
    order_id = provider_client.add(service=102, link=LINK, quantity=100).data["order"]
    provider_client.multi_status([order_id, 1])  # "Incorrect order ID": known, not counted
    assert not ProviderUnclassifiedAnswer.objects.exists()

    simulator.dialect = _Moderating(name="moderating")
    result = provider_client.multi_status([order_id, 1])

    assert result.ok
    assert result.data[1] == {"error": "Order is being checked by moderator"}
    assert result.data[order_id]["status"] == "Pending"
    row = ProviderUnclassifiedAnswer.objects.get()
    assert (row.action, row.text, row.count) == ("status", "Order is being checked by moderator", 1)


class _OwnListWords(Dialect):
    """A panel with wordings of its own for the per-item errors of its list answers."""

    def transform(self, action, params, doc):
        doc = super().transform(action, params, doc)
        if isinstance(doc, list):
            for item in doc:
                for key, value in item.items():
                    if isinstance(value, dict) and "error" in value:
                        item[key] = {"error": f"{action} queue is full, ask the moderator"}
        return doc


def test_unknown_per_item_wordings_in_cancel_and_multi_refill_lists_are_counted(
    simulator, provider_client
):
    # Issue 16 item 2: per-item errors of cancel, multi refill and multi refill_status are
    # counted like multi-status's, so staff see them; known wordings are not counted.
    simulator.step_seconds = 60
    order_id = provider_client.add(service=102, link=LINK, quantity=100).data["order"]

    def ask():
        return [
            provider_client.cancel([1]),  # "Incorrect order ID"
            provider_client.multi_refill([order_id, 1]),  # "Refill is disabled..." and unknown
            provider_client.multi_refill_status([1]),  # "Refill not found"
        ]

    assert all(result.ok for result in ask())
    assert not ProviderUnclassifiedAnswer.objects.exists()

    simulator.dialect = _OwnListWords(name="own-list-words")
    cancel, refill, refill_status = ask()
    assert cancel.data == [
        {"order": 1, "cancel": {"error": "cancel queue is full, ask the moderator"}}
    ]
    assert [item["refill"] for item in refill.data] == [
        {"error": "refill queue is full, ask the moderator"}
    ] * 2
    assert refill_status.ok
    rows = ProviderUnclassifiedAnswer.objects.order_by("action")
    assert [(r.action, r.text, r.count) for r in rows] == [
        ("cancel", "cancel queue is full, ask the moderator", 1),
        ("refill", "refill queue is full, ask the moderator", 2),
        ("refill_status", "refill_status queue is full, ask the moderator", 1),
    ]
    assert {r.provider.name for r in rows} == {"Simulator"}


def test_the_upsert_counts_every_answer_under_concurrency(transactional_db):
    provider = Provider.objects.create(name="P", api_url="http://x/api/v2", api_key_encrypted="x")

    def record():
        try:
            for _ in range(5):
                provider_answer_unclassified_record(
                    provider_id=provider.pk, action="add", text="Busy,  retry later"
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=record) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = ProviderUnclassifiedAnswer.objects.get()
    assert (row.text, row.count) == ("Busy, retry later", 40)


def test_staff_see_unclassified_answers_per_provider_read_only(staff_client, sim_provider):
    other = Provider.objects.create(name="Other", api_url="http://o/api/v2", api_key_encrypted="x")
    provider_answer_unclassified_record(
        provider_id=sim_provider.pk, action="add", text="Order limit reached"
    )
    provider_answer_unclassified_record(
        provider_id=other.pk, action="status", text="Moderation <b>pending</b>"
    )

    listing = staff_client.get(
        "/admin/catalog/providerunclassifiedanswer/", {"provider__id__exact": sim_provider.pk}
    )
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Order limit reached" in page
    assert "Moderation" not in page

    change = staff_client.get(f"/admin/catalog/provider/{other.pk}/change/")
    assert change.status_code == 200
    page = change.content.decode()
    assert "Unclassified answers" in page
    assert "Moderation &lt;b&gt;pending&lt;/b&gt;" in page  # escaped
    row = ProviderUnclassifiedAnswer.objects.get(provider=other)
    assert (
        staff_client.get(f"/admin/catalog/providerunclassifiedanswer/{row.pk}/delete/").status_code
        == 403
    )
    assert staff_client.get("/admin/catalog/providerunclassifiedanswer/add/").status_code == 403
