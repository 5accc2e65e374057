"""Refills (R-ORD-13, R-ORD-12, R-CAT-5): eligibility at each boundary, the API v2 actions,
the provider's refill and refill_status over HTTP (the simulator), and staff's manual part.

Tasks run inline (the test settings); ``django_capture_on_commit_callbacks`` runs what a
commit starts.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devtools.dialects import SCRIPT
from orders.exceptions import RefillRefused, StaffActionRefused
from orders.models import Order, Refill, RefillUnsupported
from orders.services.refills import (
    refill_count_allows,
    refill_refusal,
    refill_request,
    refill_staff_approve,
    refill_staff_complete,
    refill_staff_reject,
)
from orders.services.relay import orders_poll
from orders.services.relay import refill as refill_relay
from orders.services.relay.common import lease
from orders.services.relay.refill import refills_due
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _ledger_checked_after_each_scenario(assert_ledger_ok):
    """Issue 10, Done when 1: ``ledger_check`` passes after each scenario (R-BAL-3)."""
    yield
    assert_ledger_ok()


DISABLED = "Refill is disabled for this service"
NOT_READY = "The refill task is not completed for this order"


@pytest.fixture
def refill_service(sim_provider):
    """Sold at 2.50 per 1,000 with a 30-day refill, relayed to the simulator's service 101
    ("Instagram Followers [Real, Refill 30 days]", 1.90)."""
    service = ServiceFactory(
        rate=D("2.50"), min_quantity=50, max_quantity=50000, refill=True, refill_days=30
    )
    ProviderServiceFactory(
        service=service, provider=sim_provider, remote_service_id="101", provider_rate=D("1.90")
    )
    return service


@pytest.fixture
def customer():
    return funded_customer(deposited="20")


@pytest.fixture
def completed(customer, refill_service, simulator, django_capture_on_commit_callbacks):
    """A Completed order of the refill service (sent and polled over HTTP)."""
    simulator.step_seconds = 0

    def _make(link="https://www.instagram.com/refill_me/", user=None):
        with django_capture_on_commit_callbacks(execute=True):
            order = place(user or customer, refill_service, quantity=1000, link=link)
        Order.objects.filter(pk=order.pk).update(poll_due_at=timezone.now())
        orders_poll()
        order.refresh_from_db()
        assert order.status == Order.Status.COMPLETED
        return order

    return _make


def _request(capture, order, user=None):
    with capture(execute=True):
        return refill_request(user=user or order.user, order=order)


# --- eligibility (R-ORD-13) ------------------------------------------------------------------
def test_only_refill_services_and_never_beta_or_overlapped(completed):
    # R-ORD-13: refill services only; R-CAT-5: beta has none; R-ORD-12: overlapped has none.
    order = completed()
    assert refill_refusal(order=order) is None
    for fields, words in (
        ({"refill": False}, "has no refill"),
        ({"beta": True}, "Beta services"),
        ({"overlapped": True}, "overlapped"),
        ({"refill_days": 0}, "has no refill"),
    ):
        Order.objects.filter(pk=order.pk).update(refill=True, beta=False, overlapped=False)
        Order.objects.filter(pk=order.pk).update(**fields)
        order.refresh_from_db()
        refusal = refill_refusal(order=order)
        assert words in refusal.message
        assert refusal.api_message == DISABLED


def test_only_once_completed(customer, refill_service, simulator):
    # R-ORD-13: Pending or Partial orders cannot be refilled yet.
    simulator.step_seconds = 10
    order = place(customer, refill_service, quantity=1000)
    refusal = refill_refusal(order=order)
    assert refusal.api_message == NOT_READY
    assert "Completed" in refusal.message


def test_refill_period_boundary(completed):
    # R-ORD-13: open while now < completed_at + refill_days; closed at that instant.
    order = completed()
    end = order.completed_at + timedelta(days=30)
    assert refill_refusal(order=order, now=end - timedelta(seconds=1)) is None
    closed = refill_refusal(order=order, now=end)
    assert closed.api_message == DISABLED
    assert "refill period of 30 days ended" in closed.message


def test_requests_per_order_per_day_boundary(
    completed, settings, django_capture_on_commit_callbacks
):
    # R-ORD-13: ORDERS_REFILL_PER_DAY requests per order in 24 hours; one open at a time.
    settings.ORDERS_REFILL_PER_DAY = 2
    order = completed()
    first = _request(django_capture_on_commit_callbacks, order)
    refusal = refill_refusal(order=order)
    assert "already being worked on" in refusal.message
    assert refusal.api_message == NOT_READY
    Refill.objects.filter(pk=first.pk).update(status="completed", relay_state="done")
    second = _request(django_capture_on_commit_callbacks, order)
    Refill.objects.filter(pk=second.pk).update(status="rejected", relay_state="done")
    limited = refill_refusal(order=order)
    assert "2 times a day" in limited.message
    assert limited.api_message == NOT_READY
    # The first of the two is 24 hours old minus a second: still counted; plus a second: not.
    now = timezone.now()
    Refill.objects.filter(pk=first.pk).update(created_at=now - timedelta(days=1, seconds=-1))
    assert refill_refusal(order=order, now=now) is not None
    Refill.objects.filter(pk=first.pk).update(created_at=now - timedelta(days=1, seconds=1))
    assert refill_refusal(order=order, now=now) is None


def test_count_rule_boundaries(completed):
    # R-ORD-13: end count = start count + quantity; allowed below it and at or above the start.
    order = completed()
    Order.objects.filter(pk=order.pk).update(start_count=100)
    order.refresh_from_db()
    assert refill_count_allows(order=order, current=1100)  # == end: refused
    assert refill_count_allows(order=order, current=1099) == ""
    assert refill_count_allows(order=order, current=100) == ""
    assert refill_count_allows(order=order, current=99)  # below the start: refused
    order.start_count = None
    assert "no start count" in refill_count_allows(order=order, current=500)


# --- the provider over HTTP --------------------------------------------------------------------
def test_refill_goes_to_the_provider_and_follows_its_status(
    completed, simulator, django_capture_on_commit_callbacks, assert_ledger_ok
):
    # R-ORD-13: the provider's refill id is tracked; refill_status moves our status.
    order = completed()
    simulator.step_seconds = 0.2
    time.sleep(0.7)  # the order stays Completed at the provider under the slower clock
    refill = _request(django_capture_on_commit_callbacks, order)
    refill.refresh_from_db()
    assert refill.relay_state == "sent"
    assert refill.provider_refill_id in simulator.refills
    assert simulator.refills[refill.provider_refill_id].order == order.provider_order_id
    seen = []
    deadline = timezone.now() + timedelta(seconds=10)
    while refill.status != "completed" and timezone.now() < deadline:
        Refill.objects.filter(pk=refill.pk).update(due_at=timezone.now())
        refills_due()
        refill.refresh_from_db()
        if not seen or seen[-1] != refill.status:
            seen.append(refill.status)
    assert seen[-1] == "completed"
    assert "in_progress" in seen
    history = list(refill.events.exclude(old_status="").values_list("old_status", "new_status"))
    assert history[-1] == ("in_progress", "completed")
    assert_ledger_ok()  # refills move no money


def test_provider_rejects_a_refill_of_a_count_that_did_not_drop(
    completed, simulator, django_capture_on_commit_callbacks
):
    # R-ORD-13's count rule on the provider's side: nothing dropped, the refill is Rejected.
    simulator.strict_refills = True
    kept = completed()
    dropped = completed(link="https://www.instagram.com/lost_some/")
    simulator.drop(dropped.provider_order_id, 50)
    refills = [_request(django_capture_on_commit_callbacks, o) for o in (kept, dropped)]
    Refill.objects.update(due_at=timezone.now())
    refills_due()
    statuses = [Refill.objects.get(pk=r.pk).status for r in refills]
    assert statuses == ["rejected", "completed"]
    assert Refill.objects.get(pk=refills[0].pk).reason == "The provider rejected the refill."


def test_provider_5xx_on_refill_marks_the_route_without_refills(
    completed, simulator, django_capture_on_commit_callbacks
):
    # issue 16: a provider answering HTTP 500 to refill offers none: no retry storm.
    order = completed()
    other = completed(link="https://www.instagram.com/second/")
    simulator.inject("http_error", action="refill", status=500, process=False)
    before = simulator.requests_received
    refill = _request(django_capture_on_commit_callbacks, order)
    refill.refresh_from_db()
    assert refill.status == "rejected"
    assert "does not offer refills" in refill.reason
    assert RefillUnsupported.objects.filter(provider_service=order.provider_service).exists()
    for _ in range(3):
        Refill.objects.update(due_at=timezone.now())
        refills_due()
    assert simulator.requests_received == before + 1
    refusal = refill_refusal(order=other)
    assert refusal.api_message == DISABLED


def test_the_scripts_real_500_on_refill_marks_the_route_and_is_asked_once(
    completed, simulator, django_capture_on_commit_callbacks
):
    # R-ORD-13; issue 16 item 3: the script dialect refuses `refill` as that panel does
    # (HTTP 500, empty text/html body, nothing carried out): Rejected, the route marked, once.
    simulator.dialect = SCRIPT
    order = completed()  # placed and polled in the script's dialect too
    before = simulator.requests_received
    refill = _request(django_capture_on_commit_callbacks, order)
    refill.refresh_from_db()
    assert (refill.status, refill.reason) == (
        "rejected",
        "The provider does not offer refills for this service.",
    )
    assert "500" in refill.relay_error
    unsupported = RefillUnsupported.objects.get(provider_service=order.provider_service)
    assert "500" in unsupported.detail
    for _ in range(3):  # later beats send and poll nothing for it
        Refill.objects.update(due_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            refills_due()
    assert simulator.requests_received == before + 1  # the one refill, no retry storm
    assert simulator.refills == {}
    assert refill_refusal(order=order).api_message == DISABLED  # no second request either


def test_a_refill_whose_status_polls_keep_failing_goes_to_staff_not_polled_forever(
    completed, simulator, settings, django_capture_on_commit_callbacks
):
    # R-ORD-13; issue 16 item 3: the provider took the refill, then turned refills off
    # (the script's HTTP 500 on refill_status): after ORDERS_REFILL_POLL_FAILURES_MAX failed
    # polls in a row the refill waits for staff with the reason, and is polled no more.
    settings.ORDERS_REFILL_POLL_FAILURES_MAX = 3
    order = completed()
    simulator.force_status(order.provider_order_id, "Completed", 0)
    simulator.step_seconds = 600  # the provider's refill stays Pending
    refill = _request(django_capture_on_commit_callbacks, order)

    def poll():
        Refill.objects.filter(pk=refill.pk, due_at__isnull=False).update(due_at=timezone.now())
        before = simulator.requests_received
        refills_due()
        refill.refresh_from_db()
        return simulator.requests_received - before

    # Two failures, then an answer: the count starts again.
    simulator.inject("http_error", action="refill_status", status=500, times=2)
    assert [poll(), refill.poll_failures, poll(), refill.poll_failures] == [1, 1, 1, 2]
    assert (poll(), refill.poll_failures, refill.relay_state) == (1, 0, "sent")

    simulator.dialect = SCRIPT  # refill_status answers HTTP 500 from now on
    for failures in (1, 2):
        assert (poll(), refill.poll_failures, refill.relay_state) == (1, failures, "sent")
    assert poll() == 1
    assert (refill.status, refill.relay_state, refill.due_at) == ("pending", "manual", None)
    assert refill.relay_error == (
        "3 refill_status polls in a row failed at Simulator; the last: HTTP 500 from the "
        f"provider. Its refill {refill.provider_refill_id} is no longer polled: ask the "
        "provider, then complete or reject it."
    )
    assert refill.events.filter(staff_only=True, note=refill.relay_error).count() == 1
    assert [poll() for _ in range(3)] == [0, 0, 0]  # no retry storm
    # Staff handle it by hand.
    refill_staff_complete(refill_id=refill.pk, actor=StaffFactory(), note="Done there.")
    refill.refresh_from_db()
    assert (refill.status, refill.relay_state) == ("completed", "done")


def test_an_ambiguous_refill_is_never_sent_again(
    completed, simulator, settings, django_capture_on_commit_callbacks
):
    # A refill that timed out after it was sent may exist at the provider: staff reconcile it.
    order = completed()
    settings.PROVIDER_TIMEOUT = 0.5
    simulator.inject("delay", action="refill", seconds=1.5, times=1)
    refill = _request(django_capture_on_commit_callbacks, order)
    refill.refresh_from_db()
    assert (refill.status, refill.relay_state) == ("pending", "reconcile")
    for _ in range(3):
        Refill.objects.update(due_at=timezone.now() - timedelta(minutes=5))
        refills_due()
    assert len(simulator.refills) == 1  # the one that landed; never a second


def test_a_retry_answer_waits_and_is_sent_again(
    completed, simulator, settings, django_capture_on_commit_callbacks
):
    order = completed()
    settings.ORDERS_RELAY_BACKOFF_SECONDS = 0
    simulator.inject("out_of_funds", action="refill", times=1)
    refill = _request(django_capture_on_commit_callbacks, order)
    refill.refresh_from_db()
    assert (refill.status, refill.relay_state) == ("pending", "queued")
    with django_capture_on_commit_callbacks(execute=True):
        refills_due()
    refill.refresh_from_db()
    assert refill.relay_state == "sent"
    assert len(simulator.refills) == 1


# --- the beat: due sends claimed and leased in one statement (issue 10 done-when 4) ------------
ON_POSTGRES = pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres only")


def _due_refills(completed, provider, *states):
    """A refill per (relay state, seconds from now until due), each on an order of its own."""
    now = timezone.now()
    refills = []
    for n, (state, offset) in enumerate(states):
        order = completed(link=f"https://www.instagram.com/beat{n}/")
        refill = Refill.objects.create(
            order=order, user=order.user, provider=provider, relay_state=state,
            due_at=now + timedelta(seconds=offset),
        )  # fmt: skip
        refills.append(refill)
    return refills


@ON_POSTGRES
def test_the_beat_claims_and_leases_due_sends_in_one_statement(
    completed, sim_provider, django_capture_on_commit_callbacks
):
    # R-ORD-13: the due sends (the longest due first) are claimed and leased, and the rest
    # of the due work looked up, in one statement; the sends go out as one message.
    old, new, later = _due_refills(
        completed, sim_provider, ("queued", -60), ("queued", -30), ("queued", 60)
    )
    before = timezone.now()
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        assert refills_due() == 2
    statements = [q["sql"] for q in queries.captured_queries if "orders_refill" in q["sql"]]
    assert len(statements) == 1, statements
    assert len(callbacks) == 1
    leased = dict(Refill.objects.values_list("pk", "due_at"))
    assert leased[old.pk] > before  # due again after a lease
    assert leased[new.pk] > before
    assert leased[later.pk] == later.due_at


@pytest.mark.parametrize("claim", [pytest.param("_due_sql", marks=ON_POSTGRES), "_due_orm"])
def test_the_beat_takes_the_due_sends_longest_due_first_and_finds_the_rest(
    completed, sim_provider, claim
):
    # The Postgres statement and the portable ORM path (make run's SQLite) alike: the due
    # sends are leased; a send past its lease and a due poll are found, not touched.
    first, second, *_others = _due_refills(
        completed, sim_provider,
        ("queued", -30), ("queued", -60), ("queued", 60), ("sent", -60), ("sending", -1),
    )  # fmt: skip
    before = dict(Refill.objects.values_list("pk", "due_at"))
    now = timezone.now()
    sends, rest = getattr(refill_relay, claim)(now=now, limit=10)
    assert sends == [second.pk, first.pk]
    assert rest == {("sent", sim_provider.pk), ("sending", sim_provider.pk)}
    after = dict(Refill.objects.values_list("pk", "due_at"))
    assert after[first.pk] == after[second.pk] == now + lease()
    assert {pk for pk in after if after[pk] != before[pk]} == {first.pk, second.pk}


def test_a_send_past_its_lease_goes_to_reconcile(completed, sim_provider):
    # A worker died mid-send: the provider may have the refill, so staff reconcile it.
    stuck, sending = _due_refills(completed, sim_provider, ("sending", -1), ("sending", 60))
    refills_due()
    stuck.refresh_from_db()
    sending.refresh_from_db()
    assert (stuck.relay_state, stuck.due_at) == ("reconcile", None)
    assert "did not finish" in stuck.relay_error
    assert sending.relay_state == "sending"


# --- manual services: staff decide with the count ---------------------------------------------
def test_manual_refill_staff_approve_checks_the_count_and_complete(
    customer, django_capture_on_commit_callbacks
):
    # R-ORD-13: for a manual service the count comes from staff.
    from orders.services import order_staff_progress

    staff = StaffFactory()
    manual = ServiceFactory(refill=True, refill_days=7)
    orders = [
        place(customer, manual, quantity=1000, link=f"https://www.instagram.com/m{n}/")
        for n in range(2)
    ]
    refills = []
    for order in orders:
        order_staff_progress(order_id=order.pk, status="completed", actor=staff, start_count=200)
        order.refresh_from_db()
        refill = _request(django_capture_on_commit_callbacks, order)
        assert refill.relay_state == "manual"
        refills.append(refill)
    refused = refill_staff_approve(refill_id=refills[0].pk, actor=staff, current_count=1200)
    assert (refused.status, refused.current_count) == ("rejected", 1200)
    assert "not below the end count 1200" in refused.reason
    approved = refill_staff_approve(refill_id=refills[1].pk, actor=staff, current_count=1199)
    assert approved.status == "in_progress"
    done = refill_staff_complete(refill_id=approved.pk, actor=staff)
    assert done.status == "completed"
    with pytest.raises(StaffActionRefused):
        refill_staff_reject(refill_id=done.pk, actor=staff, reason="late")


def test_staff_reject_needs_a_reason(completed, django_capture_on_commit_callbacks):
    order = completed()
    Order.objects.filter(pk=order.pk).update(provider_order_id=None)
    order.refresh_from_db()
    refill = _request(django_capture_on_commit_callbacks, order)
    staff = StaffFactory()
    with pytest.raises(StaffActionRefused):
        refill_staff_reject(refill_id=refill.pk, actor=staff, reason=" ")
    rejected = refill_staff_reject(refill_id=refill.pk, actor=staff, reason="Link is private.")
    assert (rejected.status, rejected.reason) == ("rejected", "Link is private.")


# --- API v2 -------------------------------------------------------------------------------------
@pytest.fixture
def api(client, django_capture_on_commit_callbacks):
    from accounts.services import api_key_issue

    keys = {}

    def _call(user, **fields):
        if user.pk not in keys:
            keys[user.pk] = api_key_issue(user=user)[1]
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v2", {"key": keys[user.pk], **fields}).json()

    return _call


def test_api_refill_and_refill_status_single_and_multi(completed, customer, simulator, api):
    # API_V2.md: refill -> {"refill": "id"}; multi -> list; refill_status single and multi.
    simulator.step_seconds = 0
    first = completed()
    second = completed(link="https://www.instagram.com/two/")
    stranger = funded_customer(deposited="5")
    theirs = completed(link="https://www.instagram.com/theirs/", user=stranger)

    answer = api(customer, action="refill", order=str(first.pk))
    refill_id = int(answer["refill"])
    assert answer == {"refill": str(refill_id)}
    assert api(customer, action="refill", order=str(first.pk)) == {"error": NOT_READY}
    assert api(customer, action="refill", order=str(theirs.pk)) == {"error": "Incorrect order ID"}
    multi = api(customer, action="refill", orders=f"{second.pk},{first.pk},{theirs.pk}")
    second_refill = Refill.objects.get(order=second)
    assert multi == [
        {"order": second.pk, "refill": second_refill.pk},
        {"order": first.pk, "refill": {"error": NOT_READY}},
        {"order": theirs.pk, "refill": {"error": "Incorrect order ID"}},
    ]
    Refill.objects.update(due_at=timezone.now())
    refills_due()  # the simulator ends refills at once (step 0)
    assert api(customer, action="refill_status", refill=str(refill_id)) == {"status": "Completed"}
    their_refill = refill_request(user=stranger, order=theirs)
    assert api(customer, action="refill_status", refill=str(their_refill.pk)) == {
        "error": "Refill not found"
    }
    statuses = api(
        customer,
        action="refill_status",
        refills=f"{refill_id},{second_refill.pk},{their_refill.pk}",
    )
    assert statuses == [
        {"refill": refill_id, "status": "Completed"},
        {"refill": second_refill.pk, "status": "Completed"},
        {"refill": their_refill.pk, "status": {"error": "Refill not found"}},
    ]


def test_refused_request_raises_with_a_message(completed, customer):
    order = completed()
    Order.objects.filter(pk=order.pk).update(overlapped=True)
    order.refresh_from_db()
    with pytest.raises(RefillRefused) as refused:
        refill_request(user=customer, order=order)
    assert refused.value.api_message == DISABLED
    assert not Refill.objects.exists()


def test_staff_mark_an_order_overlapped_in_admin_and_it_loses_refill_and_claims(
    completed, customer, staff_client
):  # R-ORD-12, R-ORD-13, R-ORD-14
    from support.exceptions import ClaimRefused
    from support.models import Ticket
    from support.services import claim_check, ticket_open

    order = completed()
    assert refill_refusal(order=order) is None
    assert claim_check(order=order)  # its claim window is open
    url = "/admin/orders/order/"
    asked = staff_client.post(url, {"action": "mark_overlapped", "_selected_action": [order.pk]})
    assert 'name="reason"' in asked.content.decode()  # a reason first, like the other actions
    assert not Order.objects.get(pk=order.pk).overlapped
    done = staff_client.post(
        url, {"action": "mark_overlapped", "_selected_action": [order.pk], "apply": "1",
              "reason": "Also ordered on another panel for the same link."},
    )  # fmt: skip
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.overlapped
    event = order.events.last()
    assert (event.cause, event.actor, event.staff_only) == ("staff", staff_client.staff, False)
    assert "Also ordered on another panel" in event.note
    page = staff_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Overlapped" in page

    with pytest.raises(RefillRefused) as refused:
        refill_request(user=customer, order=order)
    assert refused.value.api_message == DISABLED
    assert "overlapped another order" in refused.value.message
    with pytest.raises(ClaimRefused, match="overlapped another order"):
        ticket_open(
            user=customer, kind=Ticket.Kind.ORDER, subject="Dropped", body="Half are gone.",
            order_ids=[order.pk], problem=Ticket.Problem.NON_DELIVERY,
        )  # fmt: skip
    assert not Refill.objects.exists()
    # Marking twice is refused and writes nothing more.
    staff_client.post(
        url, {"action": "mark_overlapped", "_selected_action": [order.pk], "apply": "1",
              "reason": "again"},
    )  # fmt: skip
    assert order.events.filter(note__contains="Overlapped").count() == 1


def test_a_drip_feed_is_refilled_portion_by_portion_never_through_its_parent(
    customer, refill_service, simulator, settings, api, client, django_capture_on_commit_callbacks
):  # R-ORD-13, R-ORD-10: one path, and the daily limit holds on it
    from orders.services.relay import dripfeed_release_due

    settings.ORDERS_REFILL_PER_DAY = 1
    refill_service.dripfeed = True
    refill_service.save()
    simulator.step_seconds = 0
    with django_capture_on_commit_callbacks(execute=True):
        parent = place(customer, refill_service, quantity=500, extra={"runs": 2, "interval": 0})
    for _ in range(2):
        Order.objects.filter(poll_due_at__isnull=False).update(poll_due_at=timezone.now())
        orders_poll()
        with django_capture_on_commit_callbacks(execute=True):
            dripfeed_release_due()
    parent.refresh_from_db()
    first, second = Order.objects.filter(parent=parent).order_by("portion")
    assert parent.status == first.status == second.status == Order.Status.COMPLETED

    # The parent refuses and points at its portions: web, service and API alike.
    refusal = refill_refusal(order=parent)
    assert "portion by portion" in refusal.message
    assert f"#{first.pk}, #{second.pk}" in refusal.message
    assert refusal.api_message == DISABLED
    assert api(customer, action="refill", order=str(parent.pk)) == {"error": DISABLED}
    client.force_login(customer)
    page = client.get(f"/orders/{parent.pk}/").content.decode()
    assert 'id="refill-order"' not in page
    assert "portion by portion" in page
    assert "refill-button" not in client.get("/orders/").content.decode()
    with pytest.raises(RefillRefused):
        refill_request(user=customer, order=parent)

    # Each portion is refilled at the provider, once a day each.
    refill = _request(django_capture_on_commit_callbacks, first)
    refill.refresh_from_db()
    assert refill.relay_state == "sent"
    assert simulator.refills[refill.provider_refill_id].order == first.provider_order_id
    Refill.objects.filter(pk=refill.pk).update(status="completed", relay_state="done")
    assert "once a day" in refill_refusal(order=first).message
    assert "portion by portion" in refill_refusal(order=parent).message
    assert Refill.objects.filter(order=parent).count() == 0
    # An overlapped drip-feed (R-ORD-12) voids the refill of every portion.
    from orders.services import order_mark_overlapped

    order_mark_overlapped(order_id=parent.pk, actor=StaffFactory(), reason="Placed elsewhere.")
    second.refresh_from_db()
    assert "overlapped" in refill_refusal(order=second).message


# --- pages --------------------------------------------------------------------------------------
def test_refill_button_on_order_page_and_list_and_the_refills_page(
    completed, customer, client, settings, django_capture_on_commit_callbacks
):
    # R-ORD-13: the button shows on eligible orders with the window left; refusals are said.
    settings.ORDERS_REFILL_PER_DAY = 1
    order = completed()
    client.force_login(customer)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="refill-order"' in page
    assert "Refill until" in page
    assert "refill-button" in client.get("/orders/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/orders/{order.pk}/refill/", follow=True)
    refill = Refill.objects.get(order=order)
    assert f"Refill #{refill.pk} of order #{order.pk} requested." in response.content.decode()
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="refill-order"' not in page
    assert "already being worked on" in page
    listing = client.get("/orders/refills/").content.decode()
    assert f'<td data-label="Refill">{refill.pk}</td>' in listing
    # Asking again says why not, beside the order.
    response = client.post(f"/orders/{order.pk}/refill/", follow=True)
    assert "already being worked on" in response.content.decode()
    assert Refill.objects.count() == 1
    # The Orders list shows no Refill button while one is open, nor once the day's are used.
    listing = client.get("/orders/").content.decode()
    assert "refill-button" not in listing
    assert "Refill in progress" in listing
    Refill.objects.filter(pk=refill.pk).update(status="completed", relay_state="done")
    listing = client.get("/orders/").content.decode()
    assert "refill-button" not in listing
    assert "Daily refill limit reached" in listing
    Refill.objects.filter(pk=refill.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert "refill-button" in client.get("/orders/").content.decode()


def test_someone_elses_order_cannot_be_refilled(completed, client):
    order = completed()
    stranger = funded_customer(deposited="1")
    client.force_login(stranger)
    assert client.post(f"/orders/{order.pk}/refill/").status_code == 404
    assert "No refills yet" in client.get("/orders/refills/").content.decode()


def test_staff_approve_refill_in_admin(customer, staff_client, django_capture_on_commit_callbacks):
    from orders.services import order_staff_progress

    manual = ServiceFactory(refill=True, refill_days=7)
    order = place(customer, manual, quantity=1000)
    order_staff_progress(
        order_id=order.pk, status="completed", actor=staff_client.staff, start_count=10
    )
    refill = _request(django_capture_on_commit_callbacks, order)
    url = "/admin/orders/refill/"
    assert staff_client.get(url).status_code == 200
    page = staff_client.post(url, {"action": "approve", "_selected_action": [refill.pk]})
    assert f"1 refill: #{refill.pk} of order #{order.pk} (" in page.content.decode()
    response = staff_client.post(
        url, {"action": "approve", "_selected_action": [refill.pk], "apply": "1",
              "current_count": "500"},
    )  # fmt: skip
    assert response.status_code == 302
    refill.refresh_from_db()
    assert (refill.status, refill.current_count) == ("in_progress", 500)


def test_refill_states_move_only_as_the_tables_allow(completed, django_capture_on_commit_callbacks):
    # R-ORD-13: a refill's status and its relay state move as data; a final one never moves.
    from orders.exceptions import InvalidTransition
    from orders.models import OrderEvent
    from orders.services.refills import refill_relay_move, refill_transition

    order = completed()
    Order.objects.filter(pk=order.pk).update(provider_order_id=None)
    order.refresh_from_db()
    refill = _request(django_capture_on_commit_callbacks, order)
    refill_transition(refill=refill, new="completed", cause=OrderEvent.Cause.STAFF)
    assert refill.relay_state == "done"
    with pytest.raises(InvalidTransition):
        refill_transition(refill=refill, new="in_progress", cause=OrderEvent.Cause.STAFF)
    with pytest.raises(InvalidTransition):
        refill_relay_move(refill=refill, new="sent")
