"""The catalog's admin: edits write Updates lines, providers sync and import from there."""

from decimal import Decimal

import pytest

from catalog.models import ProviderService, Service, ServiceUpdate, StaffNotice
from catalog.sync import provider_sync
from devtools.simulator import DEMO_SERVICES
from tests.catalog.factories import CategoryFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def _service_form(category, **overrides):
    data = {
        "category": category.pk, "name": "TikTok Likes [Fast]", "description": "",
        "type": "Default", "position": 0, "rate": "0.50", "min_quantity": 10, "max_quantity": 1000,
        "refill_days": 0, "link_rule": "tiktok", "link_pattern": "", "enabled": "on",
        "pricing_error_note": "",
        "provider_services-TOTAL_FORMS": 0, "provider_services-INITIAL_FORMS": 0,
    }  # fmt: skip
    data.update(overrides)
    return data


def test_staff_edits_write_public_updates(staff_client):
    category = CategoryFactory()
    response = staff_client.post("/admin/catalog/service/add/", _service_form(category))
    assert response.status_code == 302, response.content.decode()[:3000]
    service = Service.objects.get(name="TikTok Likes [Fast]")

    form = _service_form(category, rate="0.65")
    form.pop("enabled")
    response = staff_client.post(f"/admin/catalog/service/{service.pk}/change/", form)
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.enabled, service.disabled_reason) == (False, "staff")
    kinds = list(ServiceUpdate.objects.filter(service=service).values_list("kind", flat=True))
    assert sorted(kinds) == ["added", "disabled", "price_up"]


def test_a_beta_service_with_refill_is_refused_in_the_admin(staff_client):  # R-CAT-5
    category = CategoryFactory()
    form = _service_form(category, beta="on", refill="on", refill_days=30)
    response = staff_client.post("/admin/catalog/service/add/", form)
    assert response.status_code == 200
    assert "A beta service carries no refill" in response.content.decode()
    assert not Service.objects.exists()


def test_flagging_a_pricing_error_disables_and_tells_staff(staff_client):  # R-CAT-4
    service = ServiceFactory()
    response = staff_client.post(
        "/admin/catalog/service/",
        {"action": "flag_pricing_error", "_selected_action": [service.pk]},
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert not service.enabled
    assert service.disabled_reason == Service.DisabledReason.PRICING_ERROR
    assert service.pricing_error_at is not None
    assert StaffNotice.objects.filter(kind="pricing_error", service=service).exists()


def test_the_sync_admin_action_reports_changes(staff_client, sim_provider, simulator):
    provider_sync(provider=sim_provider, markup_percent=Decimal("20"))
    simulator.set_rate(104, "0.50")
    response = staff_client.post(
        "/admin/catalog/provider/",
        {"action": "sync_selected", "_selected_action": [sim_provider.pk]},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sync report" in html
    assert "provider price" in html
    assert "0.50" in html


def test_the_import_page_lists_and_imports_chosen_services(staff_client, sim_provider):
    url = f"/admin/catalog/provider/{sim_provider.pk}/import/"
    page = staff_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('name="remote_ids"') == len(DEMO_SERVICES)
    assert "Instagram Followers [Real, Refill 30 days]" in html

    response = staff_client.post(
        url, {"remote_ids": ["101", "102"], "markup_percent": "50", "update": ["price"]}
    )
    assert response.status_code == 200
    assert "2 imported" in response.content.decode()
    routes = ProviderService.objects.filter(provider=sim_provider).select_related("service")
    assert {(r.remote_service_id, r.service.rate) for r in routes} == {
        ("101", Decimal("2.85000")), ("102", Decimal("0.67500")),
    }  # fmt: skip


def test_the_import_page_shows_a_provider_failure(staff_client, sim_provider, simulator):
    simulator.inject("http_error", action="services", status=502)
    response = staff_client.get(f"/admin/catalog/provider/{sim_provider.pk}/import/", follow=True)
    assert "HTTP 502 from the provider." in response.content.decode()


def test_every_catalog_admin_page_opens(staff_client, sim_provider):
    service = ServiceFactory()
    pages = [
        f"/admin/catalog/{model}/{suffix}"
        for model in ("category", "service", "provider", "customrate", "serviceupdate",
                      "staffnotice")
        for suffix in ("", "?q=x")
    ] + [
        "/admin/catalog/category/add/", "/admin/catalog/service/add/",
        "/admin/catalog/provider/add/", "/admin/catalog/customrate/add/",
        f"/admin/catalog/service/{service.pk}/change/",
        f"/admin/catalog/provider/{sim_provider.pk}/change/",
    ]  # fmt: skip
    for url in pages:
        assert staff_client.get(url).status_code == 200, url
