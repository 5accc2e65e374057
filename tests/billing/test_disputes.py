"""Chargebacks (R-PAY-4, R-BAL-5, R-BAL-6): Stripe's dispute events, signed with the stripe
library (localstripe cannot raise disputes), through the panel's live signed webhook."""

import logging
import threading
from decimal import Decimal

import pytest
import requests
from django.urls import reverse

from accounts.models import User
from billing.models import Dispute, StripeEvent, Transaction, Withdrawal
from billing.selectors import balance_get
from billing.services import deposit_credit, funds_spend, promo_credit_grant
from billing.services.withdrawals import withdrawal_request
from tests.billing.money_out import card_deposit, dispute_event, signed_event
from tests.factories import UserFactory

D = Decimal
WEBHOOK = reverse("billing:stripe_webhook")


@pytest.mark.django_db(transaction=True)
def test_same_dispute_event_twenty_times_concurrently_has_one_effect(
    stripe_settings, localstripe, live_server, assert_ledger_ok, caplog
):
    # R-PAY-4: suspend, forfeit Deposited Funds, cancel Promotional Credit, the rest Owed.
    user = UserFactory()
    deposit = card_deposit(user, "50.00", localstripe)
    promo_credit_grant(user=user, amount=D("5.00"), memo="bonus")
    funds_spend(user=user, amount=D("10.00"), memo="order", ref_kind="order", ref_id=1)
    promo_credit_grant(user=user, amount=D("2.50"), memo="goodwill")
    assert (balance_get(user=user).deposited, balance_get(user=user).promotional) == (
        D("45.00"),
        D("2.50"),
    )
    payload, header = signed_event(dispute_event(deposit, event_id="evt_dp_1", dispute_id="dp_1"))
    caplog.set_level(logging.INFO, logger="billing.views")
    start = threading.Barrier(20)
    statuses: list[int] = []

    def deliver():
        start.wait(timeout=30)
        response = requests.post(
            live_server.url + WEBHOOK,
            data=payload.encode(),
            headers={"Stripe-Signature": header},
            timeout=60,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert statuses == [200] * 20
    outcomes = sorted(
        r.getMessage().rsplit(": ", 1)[1] for r in caplog.records if r.name == "billing.views"
    )
    dispute = Dispute.objects.get()
    assert outcomes == sorted(["duplicate event"] * 19 + [f"dispute {dispute.pk} opened"])
    assert StripeEvent.objects.filter(event_id="evt_dp_1").count() == 1
    assert Transaction.objects.filter(user=user, reason="chargeback").count() == 1
    balance = balance_get(user=user)
    # 50.00 disputed: 45.00 forfeited, 2.50 promotional canceled, 5.00 owed.
    assert (balance.deposited, balance.promotional, balance.owed) == (D("0"), D("0"), D("5.00"))
    assert (dispute.forfeited, dispute.promo_canceled, dispute.owed) == (
        D("45.00"),
        D("2.50"),
        D("5.00"),
    )
    user.refresh_from_db()
    assert user.status == User.Status.SUSPENDED
    assert user.status_changes.count() == 1

    # A later event about the same dispute (another delivery id) changes nothing more.
    again, header = signed_event(dispute_event(deposit, event_id="evt_dp_2", dispute_id="dp_1"))
    response = requests.post(
        live_server.url + WEBHOOK,
        data=again.encode(),
        headers={"Stripe-Signature": header},
        timeout=30,
    )
    assert response.status_code == 200
    assert Transaction.objects.filter(user=user, reason="chargeback").count() == 1
    assert_ledger_ok()


@pytest.mark.django_db
def test_dispute_cancels_pending_withdrawal_and_next_deposit_repays_owed(
    client, stripe_settings, localstripe, assert_ledger_ok
):  # R-PAY-4, R-BAL-6
    user = UserFactory()
    deposit = card_deposit(user, "40.00", localstripe)
    withdrawal = withdrawal_request(user=user)  # 38.00 held, 2.00 fee
    payload, header = signed_event(dispute_event(deposit, event_id="e1", dispute_id="dp_9"))
    response = client.post(
        WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 200
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.CANCELED
    balance = balance_get(user=user)
    # The held 38.00 came back and was forfeited; 40.00 - 38.00 = 2.00 owed.
    assert (balance.deposited, balance.held, balance.owed) == (D("0"), D("0"), D("2.00"))
    # R-BAL-6: the next deposit repays what is owed first.
    deposit_credit(user=user, amount=D("10.00"), manual=True, memo="bank transfer")
    balance = balance_get(user=user)
    assert (balance.deposited, balance.owed) == (D("8.00"), D("0"))
    assert_ledger_ok()


@pytest.mark.django_db
def test_dispute_closed_won_is_recorded(client, stripe_settings, localstripe):  # R-PAY-4
    user = UserFactory()
    deposit = card_deposit(user, "20.00", localstripe)
    for event in (
        dispute_event(deposit, event_id="e_open", dispute_id="dp_w"),
        dispute_event(deposit, event_id="e_close", dispute_id="dp_w", kind="closed", status="won"),
    ):
        payload, header = signed_event(event)
        response = client.post(
            WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        assert response.status_code == 200
    dispute = Dispute.objects.get(stripe_dispute_id="dp_w")
    assert dispute.status == "won"
    assert dispute.closed_at is not None


@pytest.mark.django_db
def test_unsigned_dispute_event_does_nothing(client, stripe_settings, localstripe):
    user = UserFactory()
    deposit = card_deposit(user, "20.00", localstripe)
    payload, _ = signed_event(dispute_event(deposit, event_id="e_x", dispute_id="dp_x"))
    _, forged = signed_event(dispute_event(deposit, event_id="e_x", dispute_id="dp_x"), "whsec_no")
    response = client.post(
        WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=forged
    )
    assert response.status_code == 400
    assert not Dispute.objects.exists()
    assert balance_get(user=user).deposited == D("20.00")
