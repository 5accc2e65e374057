"""Provider balances, polled on a schedule, with an alert below a threshold."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail

from catalog.models import Provider, StaffNotice
from catalog.provider_client import ProviderClient
from catalog.services import provider_balance_refresh
from catalog.tasks import provider_balances_poll
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_the_balance_poll_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["catalog-provider-balances"]
    assert entry["task"] == "catalog.provider_balances_poll"


def test_the_poll_stores_balance_and_currency(sim_provider, simulator):
    simulator.set_balance("321.5")
    provider_balances_poll.delay()  # eager in tests: the task and its per-provider tasks run
    sim_provider.refresh_from_db()
    assert (sim_provider.balance, sim_provider.currency) == (Decimal("321.50000"), "USD")
    assert sim_provider.balance_checked_at is not None
    assert StaffNotice.objects.count() == 0


def test_a_low_balance_alerts_staff_once_until_it_recovers(
    sim_provider, simulator, django_capture_on_commit_callbacks
):
    StaffFactory(email="ops@example.com")
    simulator.set_balance("12.00")  # threshold is 50
    with django_capture_on_commit_callbacks(execute=True):
        provider_balance_refresh(provider=sim_provider)
        provider_balance_refresh(provider=sim_provider)
    notice = StaffNotice.objects.get(kind=StaffNotice.Kind.LOW_BALANCE)
    assert "balance $12.00 is below $50.00" in notice.message  # the one money display rule
    assert len(mail.outbox) == 1
    assert "balance low" in mail.outbox[0].subject

    simulator.set_balance("500")
    provider_balance_refresh(provider=sim_provider)
    simulator.set_balance("5")
    provider_balance_refresh(provider=sim_provider)
    assert StaffNotice.objects.filter(kind=StaffNotice.Kind.LOW_BALANCE).count() == 2


def test_a_failed_poll_is_recorded_not_raised(sim_provider, simulator):
    simulator.inject("garbage", action="balance")
    client = ProviderClient(sim_provider, timeout=1)
    result = provider_balance_refresh(provider=sim_provider, client=client)
    assert not result.ok
    assert "not JSON" in Provider.objects.get(pk=sim_provider.pk).last_error
