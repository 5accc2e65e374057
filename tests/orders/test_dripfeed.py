"""Drip-feed run by the panel (R-ORD-10, R-ORD-2), against the simulator over HTTP.

Tasks run inline (the test settings); ``django_capture_on_commit_callbacks`` runs what a
commit starts. The end-to-end run with a real worker is in test_life_worker.py
(``test_drip_feed_portions_go_out_once_each_in_sequence``).
"""

import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.selectors import balance_get
from orders.api.actions import cancel as api_cancel
from orders.api.actions import status as api_status
from orders.exceptions import CancelRefused, IncorrectRequest
from orders.models import Order, OrderEvent
from orders.selectors import orders_for_user
from orders.services import order_cancel_request
from orders.services.relay import drip as drip_module
from orders.services.relay import dripfeed_release_due, order_provider_status_apply, orders_poll
from orders.services.relay.drip import portion_charges
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal
RelayState = Order.RelayState
Status = Order.Status


@pytest.fixture
def drip_service(routed_service):
    routed_service.dripfeed = True
    routed_service.save()
    return routed_service


@pytest.fixture
def customer():
    # 1.00 Promotional Credit, 20.00 Deposited Funds.
    return funded_customer(deposited="20", promotional="1")


@pytest.fixture
def drip(customer, drip_service, simulator, django_capture_on_commit_callbacks):
    """Place a drip-feed order (quantity per run x runs) and run what its commit starts.

    The simulator ends its orders at once, so a portion never meets the one before it still
    active on the same link (the provider would refuse it for a while: a retry)."""
    simulator.step_seconds = 0

    def _place(*, runs=4, interval=30, quantity=500, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            order = place(
                customer, drip_service, quantity=quantity,
                extra={"runs": runs, "interval": interval}, **fields,
            )  # fmt: skip
        order.refresh_from_db()
        return order

    return _place


def _portions(parent):
    return list(Order.objects.filter(parent=parent).order_by("portion"))


def _release(capture, *, at=None):
    """One beat of the drip-feed release (with the relay it hands on), at time ``at``."""
    with capture(execute=True):
        return dripfeed_release_due()


def _settle():
    """Poll every sent order now (the simulator has ended them: step 0)."""
    Order.objects.filter(poll_due_at__isnull=False).update(poll_due_at=timezone.now())
    orders_poll()


def _make_due(order):
    Order.objects.filter(pk=order.pk).update(due_at=timezone.now() - timedelta(seconds=1))


def test_drip_feed_is_a_parent_with_runs_portions_charged_runs_times_quantity(
    drip, customer, simulator
):
    # R-ORD-2: 4 runs x 500 at 1.20 per 1,000 = 2.40; R-ORD-10: 4 portions of 500.
    parent = drip(runs=4, quantity=500)
    assert (parent.quantity, parent.charge) == (2000, D("2.40"))
    assert parent.relay_state == RelayState.PARENT
    assert parent.provider_id is None
    portions = _portions(parent)
    assert [p.portion for p in portions] == [1, 2, 3, 4]
    assert [p.quantity for p in portions] == [500] * 4
    assert sum(p.charge for p in portions) == parent.charge
    # Portion 1 went to the provider at once, as an order of its own (no runs/interval).
    assert portions[0].relay_state == RelayState.PLACED
    assert simulator.adds_received == 1
    assert simulator.orders[portions[0].provider_order_id].quantity == 500
    assert [p.relay_state for p in portions[1:]] == [RelayState.SCHEDULED] * 3
    # Only portion 2 has a due time: one interval after placement.
    assert portions[1].due_at is not None
    assert portions[2].due_at is None
    assert timedelta(minutes=29) < portions[1].due_at - parent.created_at < timedelta(minutes=31)
    # The Orders list shows the parent, not its portions.
    assert list(orders_for_user(user=customer).values_list("pk", flat=True)) == [parent.pk]
    assert balance_get(user=customer).total == D("21") - D("2.40")


def test_portion_charges_add_up_to_the_charge_exactly():
    # R-ORD-2: rounding never creates or loses money, whatever the runs.
    for charge, runs in ((D("0.00998"), 1000), (D("2.40"), 7), (D("0.00001"), 3), (D("10"), 3)):
        parts = portion_charges(charge=charge, runs=runs)
        assert len(parts) == runs
        assert sum(parts) == charge
        assert min(parts) >= 0


def test_portions_go_out_one_per_interval_in_sequence(
    drip, simulator, django_capture_on_commit_callbacks
):
    # R-ORD-10: a beat releases only the due portion; the next is due one interval later.
    parent = drip(runs=3, interval=15)
    _first, second, third = _portions(parent)
    assert _release(django_capture_on_commit_callbacks) == 0  # portion 2 is not due yet
    assert simulator.adds_received == 1

    _make_due(second)
    # In sequence: due, but portion 1 is still active at the provider (not yet polled).
    assert _release(django_capture_on_commit_callbacks) == 0
    _settle()
    before = timezone.now()
    assert _release(django_capture_on_commit_callbacks) == 1
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.relay_state == RelayState.PLACED
    assert simulator.adds_received == 2
    assert third.relay_state == RelayState.SCHEDULED
    assert timedelta(minutes=15) <= third.due_at - before < timedelta(minutes=15, seconds=30)
    # The same beat again: nothing more is due.
    assert _release(django_capture_on_commit_callbacks) == 0
    assert simulator.adds_received == 2


def test_interval_zero_is_accepted_and_sends_the_portions_back_to_back(
    drip, simulator, django_capture_on_commit_callbacks
):
    # issue 16 item 4: other panels send interval=0.
    parent = drip(runs=3, interval=0)
    assert parent.extra["interval"] == 0
    for expected in (2, 3):
        _settle()
        assert _release(django_capture_on_commit_callbacks) == 1  # one portion per beat
        assert simulator.adds_received == expected
    assert all(p.relay_state == RelayState.PLACED for p in _portions(parent))


def test_interval_must_be_a_whole_non_negative_number(customer, drip_service):
    for interval in ("-1", "x", ""):
        with pytest.raises(IncorrectRequest) as refused:
            place(customer, drip_service, quantity=500, extra={"runs": 2, "interval": interval})
        assert refused.value.field == "interval"


def test_stop_returns_exactly_the_unsent_part_to_the_sources_paid(
    drip, customer, simulator, assert_ledger_ok, django_capture_on_commit_callbacks
):
    # R-ORD-10, R-ORD-7/8: 4 x 0.60 = 2.40 paid 1.00 promotional + 1.40 deposited.
    parent = drip(runs=4, quantity=500)
    assert (parent.paid_promotional, parent.paid_deposited) == (D("1.00"), D("1.40"))
    second = _portions(parent)[1]
    _make_due(second)
    _settle()
    _release(django_capture_on_commit_callbacks)  # portions 1 and 2 are sent

    order_cancel_request(user=customer, order=parent)  # the API's cancel and the web's Stop
    parent.refresh_from_db()
    portions = _portions(parent)
    assert [p.status for p in portions] == ["completed", "pending", "canceled", "canceled"]
    assert [p.relay_state for p in portions[2:]] == [RelayState.CLOSED] * 2
    assert parent.stopped_at is not None
    assert parent.refunded == D("1.20")
    # 1.20 back, in the proportions paid: 1.00/2.40 promotional.
    balance = balance_get(user=customer)
    assert balance.promotional == D("0.50")
    assert balance.deposited == D("20") - D("1.40") + D("0.70")
    assert simulator.adds_received == 2
    # A due time passing later sends nothing.
    Order.objects.filter(parent=parent).update(due_at=timezone.now() - timedelta(minutes=1))
    assert _release(django_capture_on_commit_callbacks) == 0
    assert simulator.adds_received == 2
    # Stopping twice changes nothing.
    order_cancel_request(user=customer, order=parent)
    assert balance_get(user=customer).total == balance.total
    assert_ledger_ok()


def test_the_stop_note_shows_money_by_the_one_display_rule(drip, customer):
    """The order's history says what came back as every page does (billing.money.usd_text):
    "$1.80", never the ledger's raw "$1.80000" (R-ORD-10, issue 14)."""
    parent = drip(runs=4, quantity=500)  # 0.60 a portion
    order_cancel_request(user=customer, order=parent)
    parent.refresh_from_db()
    unsent = Order.objects.filter(parent=parent, status=Status.CANCELED).count()
    note = OrderEvent.objects.get(order=parent, note__startswith="Drip-feed stopped").note
    assert parent.refunded == D("0.60") * unsent
    assert note == f"Drip-feed stopped: {unsent} unsent portions, ${D('0.60') * unsent} returned."
    assert re.search(r", \$\d+\.\d\d returned\.$", note)


def test_a_stopped_drip_feed_ends_with_its_sent_portions(
    drip, customer, simulator, assert_ledger_ok
):
    # R-ORD-10: sent portions are final; the parent follows them; remains is the whole order's.
    parent = drip(runs=3, quantity=500)
    first = _portions(parent)[0]
    order_cancel_request(user=customer, order=parent)
    parent.refresh_from_db()
    assert parent.status == Status.PENDING
    assert parent.remains == 1500
    order_provider_status_apply(
        order_id=first.pk, provider_id=first.provider_id,
        data={"status": "Completed", "start_count": "100", "remains": "0"},
    )  # fmt: skip
    parent.refresh_from_db()
    assert (parent.status, parent.remains, parent.start_count) == (Status.PARTIAL, 1000, 100)
    assert parent.refunded == D("1.20")  # the two stopped portions, nothing more
    assert parent.events.filter(new_status=Status.PARTIAL).count() == 1
    assert_ledger_ok()


def test_parent_follows_portions_and_a_partial_portion_returns_its_own_part(
    drip, customer, simulator, assert_ledger_ok, django_capture_on_commit_callbacks
):
    # R-ORD-10, R-ORD-7; issue 16 item 5: a Partial drip-feed answers runs, orders, remains.
    parent = drip(runs=2, quantity=400, interval=0)
    first = _portions(parent)[0]
    apply = order_provider_status_apply
    apply(order_id=first.pk, provider_id=first.provider_id,
          data={"status": "In progress", "start_count": "50", "remains": "300"})  # fmt: skip
    parent.refresh_from_db()
    assert (parent.status, parent.remains) == (Status.IN_PROGRESS, 700)
    assert _release(django_capture_on_commit_callbacks) == 0  # portion 1 is still active
    apply(order_id=first.pk, provider_id=first.provider_id,
          data={"status": "Completed", "start_count": "50", "remains": "0"})  # fmt: skip
    assert _release(django_capture_on_commit_callbacks) == 1
    first, second = _portions(parent)
    apply(order_id=second.pk, provider_id=second.provider_id,
          data={"status": "Partial", "start_count": "450", "remains": "100"})  # fmt: skip
    parent.refresh_from_db()
    second.refresh_from_db()
    # 400 x 2 at 1.20 = 0.96; the Partial portion returns 0.48 x 100/400 = 0.12.
    assert second.refunded == D("0.12")
    assert (parent.status, parent.remains, parent.refunded) == (Status.PARTIAL, 100, D("0.12"))
    answer = api_status(user=customer, params={"order": str(parent.pk)})
    assert answer == {
        "charge": "0.84", "start_count": "50", "status": "Partial", "remains": "100",
        "currency": "USD", "runs": "2", "orders": [first.pk, second.pk],
    }  # fmt: skip
    multi = api_status(user=customer, params={"orders": f"{parent.pk},{first.pk}"})
    assert multi[str(parent.pk)]["orders"] == [first.pk, second.pk]
    assert "runs" not in multi[str(first.pk)]
    assert balance_get(user=customer).total == D("21") - D("0.96") + D("0.12")
    assert_ledger_ok()


def test_api_cancel_on_a_drip_feed_stops_it_and_refuses_when_all_are_sent(
    drip, customer, django_capture_on_commit_callbacks
):
    parent = drip(runs=2, quantity=500, interval=0)
    assert api_cancel(user=customer, params={"orders": str(parent.pk)}) == [
        {"order": parent.pk, "cancel": 1}
    ]
    other = drip(runs=2, quantity=500, interval=0, link="https://www.instagram.com/other/")
    _settle()
    _release(django_capture_on_commit_callbacks)
    with pytest.raises(CancelRefused):
        order_cancel_request(user=customer, order=other)
    assert api_cancel(user=customer, params={"orders": str(other.pk)}) == [
        {"order": other.pk, "cancel": {"error": "Order cannot be canceled"}}
    ]


@pytest.mark.django_db(transaction=True)
def test_two_releasers_never_take_the_same_portion(drip_service, simulator):
    # R-ORD-10: SKIP LOCKED; 20 parents with a due portion, released by two workers at once.
    simulator.step_seconds = 0  # portion 1 of each ends at once
    user = funded_customer(deposited="50")
    for n in range(20):
        parent = place(
            user, drip_service, quantity=100, link=f"https://www.instagram.com/u{n}/",
            extra={"runs": 3, "interval": 5},
        )  # fmt: skip
        _make_due(_portions(parent)[1])
    _settle()
    claimed = []
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        try:
            claimed.append(dripfeed_release_due(size=3))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(claimed) == 20
    assert Order.objects.filter(portion=2, relay_state=RelayState.PLACED).count() == 20
    # Each released portion made exactly its parent's next portion due.
    assert Order.objects.filter(portion=3, due_at__isnull=False).count() == 20
    assert simulator.adds_received == 40  # portions 1 and 2 of each, once


def test_staff_cancel_of_a_drip_feed_returns_everything(drip, customer, assert_ledger_ok):
    # R-ORD-8, R-ORD-9, R-CAT-4: staff cancel a drip-feed: every portion returns its part.
    from orders.services import order_staff_cancel
    from tests.factories import StaffFactory

    parent = drip(runs=3, quantity=500)
    done = order_staff_cancel(order_id=parent.pk, actor=StaffFactory(), reason="Pricing error")
    assert (done.status, done.refunded) == (Status.CANCELED, done.charge)
    assert {p.status for p in _portions(parent)} == {"canceled"}
    assert balance_get(user=customer).total == D("21")
    assert_ledger_ok()


def test_staff_cannot_move_a_parent_by_hand(drip):
    from orders.exceptions import StaffActionRefused
    from orders.services import order_staff_partial
    from tests.factories import StaffFactory

    parent = drip(runs=2, quantity=500)
    with pytest.raises(StaffActionRefused, match="follows its parts"):
        order_staff_partial(order_id=parent.pk, remains=100, actor=StaffFactory(), reason="x")


def test_a_release_whose_message_is_lost_is_sent_by_the_relay_sweep(
    drip, simulator, settings, django_capture_on_commit_callbacks
):
    # R-ORD-10: a worker that dies after claiming leaves the portion queued, not lost.
    parent = drip(runs=2, quantity=500, interval=0)
    _settle()
    with django_capture_on_commit_callbacks(execute=False):  # the message never goes out
        assert dripfeed_release_due() == 1
    second = _portions(parent)[1]
    assert (second.relay_state, simulator.adds_received) == (RelayState.QUEUED, 1)
    settings.ORDERS_RELAY_LOST_AFTER_SECONDS = 0
    Order.objects.filter(pk=second.pk).update(updated_at=timezone.now() - timedelta(seconds=1))
    from orders.services.relay import orders_relay_due

    with django_capture_on_commit_callbacks(execute=True):
        assert orders_relay_due() == [second.pk]
    second.refresh_from_db()
    assert second.relay_state == RelayState.PLACED
    assert simulator.adds_received == 2  # sent once


@pytest.mark.django_db(transaction=True)
def test_stop_racing_the_release_returns_exactly_what_was_not_sent(
    drip_service, simulator, assert_ledger_ok
):
    # R-ORD-10: a stop and a beat at the same moment: every portion is either sent (not
    # returned) or stopped (returned), never both, never neither.
    simulator.step_seconds = 0
    user = funded_customer(deposited="50")
    parents = [
        place(
            user,
            drip_service,
            quantity=100,
            link=f"https://www.instagram.com/r{n}/",
            extra={"runs": 3, "interval": 0},
        )
        for n in range(8)
    ]
    _settle()
    barrier = threading.Barrier(2)

    def stop_all():
        barrier.wait()
        try:
            for parent in parents:
                order_cancel_request(user=user, order=parent)
        finally:
            connection.close()

    def release():
        barrier.wait()
        try:
            dripfeed_release_due(size=2)
        finally:
            connection.close()

    threads = [threading.Thread(target=stop_all), threading.Thread(target=release)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    dripfeed_release_due()  # anything a stop skipped while it was being claimed
    for parent in parents:
        parent.refresh_from_db()
        portions = _portions(parent)
        stopped = [p for p in portions if p.relay_state == RelayState.CLOSED]
        sent = [p for p in portions if p.provider_order_id is not None]
        assert len(stopped) + len(sent) == 3
        assert all(p.refunded == p.charge for p in stopped)
        assert all(p.refunded == 0 for p in sent)
        assert parent.refunded == sum(p.charge for p in stopped)
    assert simulator.adds_received == sum(
        Order.objects.filter(parent=p).exclude(provider_order_id=None).count() for p in parents
    )
    assert_ledger_ok()


def test_a_portion_a_stop_skipped_is_closed_by_the_release_with_its_return(
    drip, customer, assert_ledger_ok, django_capture_on_commit_callbacks
):
    # R-ORD-10: the stop skipped a portion locked by a release at that moment; the release
    # finds the parent stopped, closes it and returns its charge.
    parent = drip(runs=2, quantity=500, interval=0)
    _settle()
    Order.objects.filter(pk=parent.pk).update(stopped_at=timezone.now())
    assert _release(django_capture_on_commit_callbacks) == 1
    parent.refresh_from_db()
    second = _portions(parent)[1]
    assert (second.status, second.relay_state, second.refunded) == ("canceled", "closed", D("0.60"))
    assert (parent.status, parent.remains, parent.refunded) == ("partial", 500, D("0.60"))
    assert balance_get(user=customer).total == D("21") - D("0.60")
    assert_ledger_ok()


def _release_scene(drip):
    """Four drip-feeds at one beat: A due (interval 30), B due but stopped, C due but its
    portion 1 still active at the provider, D not due yet."""
    a, b, c, d = (
        drip(runs=3, interval=minutes, quantity=500, link=f"https://www.instagram.com/{name}/")
        for name, minutes in (("a", 30), ("b", 0), ("c", 5), ("d", 10))
    )
    _settle()
    for parent in (a, b, c):
        _make_due(_portions(parent)[1])
    Order.objects.filter(pk=b.pk).update(stopped_at=timezone.now())
    Order.objects.filter(pk=_portions(c)[0].pk).update(status=Status.IN_PROGRESS)
    return a, b, c, d


def _portion_states(parents):
    return {p.pk: (p.relay_state, p.due_at) for parent in parents for p in _portions(parent)}


ON_POSTGRES = pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres only")


@pytest.mark.parametrize("claim", [pytest.param("_claim_sql", marks=ON_POSTGRES), "_claim_orm"])
def test_a_claim_queues_due_portions_in_sequence_and_schedules_the_next(drip, claim):
    # R-ORD-10: the Postgres statement and the portable ORM path (make run's SQLite) claim
    # the due portions whose portion before is done, queue those of running parents, leave
    # a stopped parent's to be closed, and make the next portion due one interval later.
    a, b, c, d = _release_scene(drip)
    before = _portion_states((a, b, c, d))
    now = timezone.now()
    rows = getattr(drip_module, claim)(now=now, size=10)
    a2, a3 = _portions(a)[1:]
    b2 = _portions(b)[1]
    assert sorted(rows) == sorted([(a2.pk, a.pk, 2, True), (b2.pk, b.pk, 2, False)])
    after = _portion_states((a, b, c, d))
    assert after[a2.pk] == (RelayState.QUEUED, None)
    assert after[a3.pk] == (RelayState.SCHEDULED, now + timedelta(minutes=30))
    changed = {pk for pk in after if after[pk] != before[pk]}
    assert changed == {a2.pk, a3.pk}  # b's portion waits for the release to close it


@ON_POSTGRES
def test_a_release_batch_is_one_statement_on_postgres(drip, django_capture_on_commit_callbacks):
    # R-ORD-10, issue 10 done-when 4: the claim, the move to the relay and the next
    # portion's due time are one statement; the batch goes to the relay as one message.
    parent = drip(runs=3, interval=30)
    _settle()
    _first, second, third = _portions(parent)
    _make_due(second)
    now = timezone.now()
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        assert drip_module._release_batch(now=now, size=10) == 1
    statements = [q["sql"] for q in queries.captured_queries if "orders_order" in q["sql"]]
    assert len(statements) == 1, statements
    assert len(callbacks) == 1
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.relay_state, third.due_at) == (RelayState.QUEUED, now + timedelta(minutes=30))
