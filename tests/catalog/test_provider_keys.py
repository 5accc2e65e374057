"""Provider API keys are encrypted at rest, rotatable, and never shown back (R-PRV-5)."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from catalog import crypto
from catalog.models import Provider
from catalog.services import provider_keys_rotate
from tests.catalog.factories import ProviderFactory

pytestmark = pytest.mark.django_db
SECRET = "pk_live_4f9a1c77e2b84d0c9e1f"


def _raw_row(provider_id: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM catalog_provider WHERE id = %s", [provider_id])
        return cursor.fetchone()


def test_the_key_column_holds_no_plaintext():  # R-PRV-5
    provider = ProviderFactory(api_key=SECRET)
    row = _raw_row(provider.pk)
    assert not any(SECRET in str(value) for value in row)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM catalog_provider WHERE api_key_encrypted LIKE %s",
            [f"%{SECRET[:12]}%"],
        )
        assert cursor.fetchone() == (0,)
    assert Provider.objects.get(pk=provider.pk).api_key == SECRET


def test_keys_rotate_to_the_newest_key_and_the_old_key_can_go():  # R-PRV-5
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        provider = ProviderFactory(api_key=SECRET)
        token_before = Provider.objects.get(pk=provider.pk).api_key_encrypted
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        assert provider_keys_rotate() == 1
    token_after = Provider.objects.get(pk=provider.pk).api_key_encrypted
    assert token_after != token_before
    assert SECRET not in token_after
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert Provider.objects.get(pk=provider.pk).api_key == SECRET
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]), pytest.raises(crypto.DecryptionFailed):
        _ = Provider.objects.get(pk=provider.pk).api_key


def test_without_configured_keys_one_is_derived_from_the_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = crypto.encrypt(SECRET)
    assert SECRET not in token
    derived = Fernet(crypto.derived_key(settings.SECRET_KEY))
    assert derived.decrypt(token.encode()).decode() == SECRET
    assert crypto.decrypt(token) == SECRET


def test_rotation_command_moves_keys_off_the_derived_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    provider = ProviderFactory(api_key=SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    out = io.StringIO()
    call_command("provider_keys_rotate", "--from-secret-key", stdout=out)
    assert "1 provider keys re-encrypted" in out.getvalue()
    assert Provider.objects.get(pk=provider.pk).api_key == SECRET  # with the configured key only


def test_provider_add_command_encrypts_the_key_it_reads_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    out = io.StringIO()
    call_command("provider_add", "Upstream", "https://upstream.example/api/v2", "-", stdout=out)
    provider = Provider.objects.get(name="Upstream")
    assert provider.api_key == SECRET
    assert SECRET not in str(_raw_row(provider.pk))
    assert SECRET not in out.getvalue()


def test_the_admin_never_renders_the_key(staff_client):  # R-PRV-5
    response = staff_client.post(
        "/admin/catalog/provider/add/",
        {
            "name": "Upstream",
            "api_url": "https://upstream.example/api/v2",
            "api_key": SECRET,
            "status": "active",
            "balance_alert_threshold": "50",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = Provider.objects.get(name="Upstream")
    assert provider.api_key == SECRET
    token = provider.api_key_encrypted

    pages = [
        "/admin/catalog/provider/",
        f"/admin/catalog/provider/{provider.pk}/change/",
        f"/admin/catalog/provider/{provider.pk}/history/",
        "/admin/catalog/provider/add/",
    ]
    for url in pages:
        html = staff_client.get(url).content.decode()
        assert SECRET not in html, url
        assert token not in html, url
    change = staff_client.get(f"/admin/catalog/provider/{provider.pk}/change/").content.decode()
    assert 'type="password"' in change
    assert 'name="api_key"' in change


def test_saving_the_provider_without_a_key_keeps_it(staff_client):
    provider = ProviderFactory(api_key=SECRET, name="Upstream")
    response = staff_client.post(
        f"/admin/catalog/provider/{provider.pk}/change/",
        {
            "name": "Upstream renamed",
            "api_url": "https://upstream.example/api/v2",
            "api_key": "",
            "status": "active",
            "balance_alert_threshold": "10",
        },
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.name == "Upstream renamed"
    assert provider.api_key == SECRET


def test_a_new_provider_needs_a_key(staff_client):
    response = staff_client.post(
        "/admin/catalog/provider/add/",
        {"name": "Keyless", "api_url": "https://x.example/api/v2", "status": "active",
         "balance_alert_threshold": "50"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "A new provider needs its API key." in response.content.decode()
    assert not Provider.objects.filter(name="Keyless").exists()
