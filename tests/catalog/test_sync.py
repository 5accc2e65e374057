"""Import and sync from a provider (the simulator, over HTTP), with markup (R-CAT-3)."""

import io
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError

from catalog.exceptions import ProviderUnavailable
from catalog.links import LinkRule
from catalog.models import Category, ProviderService, Service, ServiceUpdate, StaffNotice
from catalog.selectors import provider_services_ranked
from catalog.sync import UPDATE_CHOICES, provider_sync
from devtools.simulator import DEMO_SERVICES, generated_catalog
from tests.catalog.factories import ProviderFactory
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
ALL = list(UPDATE_CHOICES)


def _service(remote_id) -> Service:
    return (
        ProviderService.objects.select_related("service")
        .get(remote_service_id=str(remote_id))
        .service
    )


def test_import_creates_services_with_markup_categories_and_updates(sim_provider):  # R-CAT-3
    report = provider_sync(provider=sim_provider, markup_percent=Decimal("25"))

    assert len(report.created) == len(DEMO_SERVICES) == Service.objects.count()
    followers = _service(101)
    assert followers.rate == Decimal("2.37500")  # 1.90 + 25 %
    assert followers.category.name == "Instagram Followers"
    assert followers.category.platform == Category.Platform.INSTAGRAM
    assert followers.link_rule == LinkRule.INSTAGRAM
    assert (followers.min_quantity, followers.max_quantity) == (50, 50000)
    assert (followers.refill, followers.refill_days, followers.cancel, followers.dripfeed) == (
        True, 30, True, True,
    )  # fmt: skip
    assert followers.average_time_minutes == 240
    assert followers.description.startswith("Real-looking profiles")
    assert _service(103).refill_days == 60  # "[Premium, Refill 60 days] Guarantee"
    assert _service(103).guarantee
    assert _service(109).type == Service.Type.SUBSCRIPTIONS
    assert _service(109).link_rule == LinkRule.USERNAME
    assert _service(123).type == Service.Type.PACKAGE
    route = ProviderService.objects.get(remote_service_id="101")
    assert (route.provider_rate, route.markup_percent, route.priority) == (
        Decimal("1.90000"), Decimal("25.00"), 1,
    )  # fmt: skip
    assert ServiceUpdate.objects.filter(kind=ServiceUpdate.Kind.ADDED).count() == len(DEMO_SERVICES)


def test_a_second_sync_changes_nothing(sim_provider):
    provider_sync(provider=sim_provider, markup_percent=Decimal("25"))
    stamps = dict(Service.objects.values_list("pk", "updated_at"))
    updates = ServiceUpdate.objects.count()

    again = provider_sync(provider=sim_provider, update=ALL)

    assert not again.changed
    assert again.created == []
    assert again.changes == []
    assert again.price_rises == []
    assert again.unchanged == len(DEMO_SERVICES)
    assert dict(Service.objects.values_list("pk", "updated_at")) == stamps
    assert ServiceUpdate.objects.count() == updates
    assert StaffNotice.objects.count() == 0


def test_a_thousand_services_sync_fast_and_idempotently(sim_provider, simulator):
    simulator.replace_catalog(generated_catalog(1000))
    started = time.monotonic()
    first = provider_sync(provider=sim_provider, markup_percent=Decimal("30"))
    first_took = time.monotonic() - started
    assert len(first.created) == 1000
    assert Service.objects.count() == 1000

    started = time.monotonic()
    second = provider_sync(provider=sim_provider, update=ALL)
    second_took = time.monotonic() - started
    assert not second.changed
    assert Service.objects.count() == 1000
    assert first_took < 10, first_took
    assert second_took < 10, second_took


@pytest.fixture
def imported(sim_provider):
    provider_sync(provider=sim_provider, markup_percent=Decimal("20"))
    StaffFactory(email="ops@example.com")
    return sim_provider


def test_price_rise_above_our_price_reprices_and_tells_staff(
    imported, simulator, settings, django_capture_on_commit_callbacks
):  # R-CAT-3
    settings.CATALOG_PRICE_RISE_POLICY = "reprice"
    service = _service(101)
    assert service.rate == Decimal("2.28000")
    simulator.set_rate(101, "2.50")

    with django_capture_on_commit_callbacks(execute=True):
        report = provider_sync(provider=imported, update=["limits"])  # price not followed

    service.refresh_from_db()
    assert service.rate == Decimal("3.00000")  # 2.50 + the route's 20 %
    assert service.enabled
    assert len(report.price_rises) == 1
    notice = StaffNotice.objects.get(kind=StaffNotice.Kind.PRICE_RISE)
    assert notice.service == service
    assert "repriced to 3.00000" in notice.message
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert "above our price 2.28000" in mail.outbox[0].body
    update = ServiceUpdate.objects.get(service=service, kind=ServiceUpdate.Kind.PRICE_UP)
    assert (update.old_rate, update.new_rate) == (Decimal("2.28000"), Decimal("3.00000"))
    assert not provider_sync(provider=imported, update=["limits"]).changed


def test_price_rise_above_our_price_disables_when_so_set(
    imported, simulator, settings, django_capture_on_commit_callbacks
):  # R-CAT-3
    settings.CATALOG_PRICE_RISE_POLICY = "disable"
    service = _service(101)
    simulator.set_rate(101, "2.50")

    with django_capture_on_commit_callbacks(execute=True):
        provider_sync(provider=imported, update=ALL)

    service.refresh_from_db()
    assert not service.enabled
    assert service.disabled_reason == Service.DisabledReason.BELOW_COST
    assert service.rate == Decimal("2.28000")  # not repriced behind staff's back
    assert ServiceUpdate.objects.filter(service=service, kind="disabled").count() == 1
    assert StaffNotice.objects.filter(kind=StaffNotice.Kind.PRICE_RISE).count() == 1
    assert len(mail.outbox) == 1

    again = provider_sync(provider=imported, update=ALL)  # nothing new: no second alert
    assert not again.changed
    assert StaffNotice.objects.count() == 1

    simulator.set_rate(101, "1.90")  # back below our price: sells again
    provider_sync(provider=imported, update=ALL)
    service.refresh_from_db()
    assert service.enabled
    assert service.disabled_reason == ""


def test_a_rise_below_our_price_follows_only_when_price_is_chosen(imported, simulator):
    service = _service(101)
    simulator.set_rate(101, "2.00")  # still below our 2.28

    report = provider_sync(provider=imported, update=["limits"])
    service.refresh_from_db()
    assert service.rate == Decimal("2.28000")
    assert [c.what for c in report.changes] == ["provider price"]
    assert report.price_rises == []

    provider_sync(provider=imported, update=["price"])
    service.refresh_from_db()
    assert service.rate == Decimal("2.40000")
    assert StaffNotice.objects.count() == 0


def test_beta_services_never_get_refill_from_a_sync(imported):  # R-CAT-5
    service = _service(101)
    service.refill = False
    service.refill_days = 0
    service.beta = True
    service.save()

    provider_sync(provider=imported, update=["flags"])

    service.refresh_from_db()
    assert service.beta
    assert not service.refill
    service.refill, service.refill_days = True, 30
    with pytest.raises(IntegrityError):
        service.save()  # the database refuses it too


def test_a_dropped_service_is_disabled_and_comes_back(imported, simulator):
    service = _service(104)
    simulator.remove_service(104)

    provider_sync(provider=imported)

    service.refresh_from_db()
    assert (service.enabled, service.disabled_reason) == (False, "provider_missing")
    assert StaffNotice.objects.filter(kind=StaffNotice.Kind.SERVICE_GONE).count() == 1
    assert not ProviderService.objects.get(remote_service_id="104").available

    simulator.reset()
    provider_sync(provider=imported)
    service.refresh_from_db()
    assert service.enabled
    assert ProviderService.objects.get(remote_service_id="104").available


def test_staff_disabled_services_stay_disabled(imported, simulator):
    service = _service(101)
    service.enabled, service.disabled_reason = False, Service.DisabledReason.STAFF
    service.save()
    provider_sync(provider=imported, update=ALL)
    service.refresh_from_db()
    assert not service.enabled


def test_only_chosen_services_are_imported(sim_provider):
    report = provider_sync(provider=sim_provider, remote_ids=["101", "110"])
    assert sorted(c.service for c in report.created) == [
        "Instagram Followers [Real, Refill 30 days]",
        "TikTok Followers [Refill 30 days]",
    ]
    assert Service.objects.count() == 2


def test_a_new_markup_reprices_existing_services(imported):
    provider_sync(provider=imported, markup_percent=Decimal("50"))
    assert _service(101).rate == Decimal("2.85000")
    assert ProviderService.objects.get(remote_service_id="101").markup_percent == Decimal("50")


def test_a_dearer_fallback_route_is_skipped_by_the_relay(imported, simulator):  # R-CAT-3
    service = _service(101)
    other = ProviderFactory(name="Backup")
    backup = ProviderService.objects.create(
        service=service, provider=other, remote_service_id="9", priority=2,
        provider_rate=Decimal("2.00"),
    )  # fmt: skip
    assert [r.pk for r in provider_services_ranked(service=service)] == [
        ProviderService.objects.get(provider=imported, service=service).pk,
        backup.pk,
    ]
    backup.provider_rate = Decimal("2.50")  # above our 2.28
    backup.save()
    ranked = provider_services_ranked(service=service)
    assert [r.provider.name for r in ranked] == ["Simulator"]


def test_an_unreachable_provider_changes_nothing(imported, simulator):
    simulator.inject("html", action="services")
    before = Service.objects.count()
    with pytest.raises(ProviderUnavailable, match="HTML page"):
        provider_sync(provider=imported)
    imported.refresh_from_db()
    assert "HTML page" in imported.last_error
    assert Service.objects.count() == before


def test_provider_sync_command_prints_progress_and_applies_the_markup(sim_provider):
    out = io.StringIO()
    call_command("provider_sync", "Simulator", "--markup", "10", stdout=out)
    output = out.getvalue()
    assert "Fetching the service list of Simulator" in output
    assert f"{len(DEMO_SERVICES)} imported" in output
    assert _service(101).rate == Decimal("2.09000")


def test_demo_data_imports_the_demo_catalog_once(db, settings):
    settings.SIMULATOR_API_KEY = "demo-key"
    call_command("demo_data", stdout=io.StringIO())
    assert Service.objects.count() == len(DEMO_SERVICES)
    provider = ProviderService.objects.first().provider
    assert provider.name == "Simulator"
    assert provider.api_url == f"http://127.0.0.1:{settings.SIMULATOR_PORT}/api/v2"
    # Its balance is there from the start, not one beat interval later (issue 14).
    provider.refresh_from_db()
    assert provider.balance is not None
    assert provider.balance_checked_at is not None
    assert provider.currency == "USD"
    stamps = dict(Service.objects.values_list("pk", "updated_at"))

    out = io.StringIO()
    call_command("demo_data", stdout=out)
    assert dict(Service.objects.values_list("pk", "updated_at")) == stamps
    assert "0 imported, 0 updated" in out.getvalue()
