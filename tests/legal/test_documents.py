"""R-LEG-1, R-LEG-3: versioned legal pages, drafts published by a service, contacts shown."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from legal.exceptions import PublishRefused
from legal.models import Document
from legal.selectors import document_current
from legal.services import document_draft_publish, document_publish
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _draft(kind="terms", **fields):
    return Document.objects.create(
        kind=kind, title=fields.pop("title", "Terms of Service"), body="New text.", **fields
    )


def test_publishing_a_draft_assigns_the_next_version(terms):  # R-LEG-1
    draft = _draft()
    assert draft.version is None
    assert document_current(kind="terms") == terms  # a draft is not in force
    published = document_draft_publish(document=draft, material=True)
    assert published.version == terms.version + 1
    assert published.published_at is not None
    assert published.effective_at is not None
    assert published.material
    assert document_current(kind="terms") == published


def test_a_published_version_is_never_published_or_changed_again(terms):  # R-LEG-1
    with pytest.raises(PublishRefused):
        document_draft_publish(document=terms)
    with pytest.raises(IntegrityError), transaction.atomic():  # Postgres refuses, whatever path
        Document.objects.filter(pk=terms.pk).update(body="Changed in place")
    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.filter(pk=terms.pk).update(published_at=None, version=None)
    draft = _draft()
    Document.objects.filter(pk=draft.pk).update(body="A draft is edited freely")


def test_admin_shows_published_versions_read_only(client, terms):  # R-LEG-1
    staff = StaffFactory()
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    page = client.get(f"/admin/legal/document/{terms.pk}/change/").content.decode()
    assert 'name="body"' not in page
    draft = _draft()
    page = client.get(f"/admin/legal/document/{draft.pk}/change/").content.decode()
    assert 'name="body"' in page
    response = client.post(
        "/admin/legal/document/", {"action": "publish", "_selected_action": [draft.pk]}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.version == terms.version + 1


def test_staff_preview_a_draft_customers_cannot(client, customer, terms):  # R-LEG-1
    draft = _draft(title="Draft terms")
    client.force_login(customer)
    assert client.get(f"/legal/preview/{draft.pk}/").status_code == 302  # to the admin login
    client.force_login(StaffFactory())
    page = client.get(f"/legal/preview/{draft.pk}/").content.decode()
    assert "Draft terms" in page
    assert "unpublished draft" in page


def test_page_shows_dates_and_earlier_versions(client, terms):  # R-LEG-1
    effective = timezone.now() - timedelta(hours=1)
    new = document_publish(
        kind="terms", title="Terms v-next", body="Changed.", effective_at=effective
    )
    page = client.get("/legal/terms/").content.decode()
    assert f"Version {new.version}" in page
    assert f"Effective {effective:%Y-%m-%d}" in page
    assert f"Last updated {new.published_at:%Y-%m-%d}" in page
    assert f"/legal/terms/v{terms.version}/" in page  # the earlier version is listed
    old = client.get(f"/legal/terms/v{terms.version}/").content.decode()
    assert "no longer in force" in old
    assert client.get("/legal/terms/v999/").status_code == 404


def test_a_future_version_is_announced_not_in_force(client, terms):  # R-LEG-1
    later = timezone.now() + timedelta(days=30)
    future = document_publish(kind="terms", title="Future", body="Later.", effective_at=later)
    assert document_current(kind="terms") == terms
    page = client.get(f"/legal/terms/v{future.version}/").content.decode()
    assert f"taking effect {later:%Y-%m-%d}" in page


@pytest.mark.parametrize("kind", ["terms", "aup", "privacy"])
def test_contacts_and_support_hours_come_from_settings(client, settings, kind):  # R-LEG-3
    document_publish(kind=kind, title=f"The {kind}", body="Text.")
    settings.CONTACT_EMAILS = {
        "support": "help@panel.test", "billing": "money@panel.test", "legal": "law@panel.test",
        "privacy": "dpo@panel.test", "abuse": "abuse-desk@panel.test",
    }  # fmt: skip
    settings.SUPPORT_HOURS = "09:00-17:00 CET"
    page = client.get(f"/legal/{kind}/").content.decode()
    for address in settings.CONTACT_EMAILS.values():
        assert f'href="mailto:{address}"' in page
    assert "Support hours: 09:00-17:00 CET" in page


def test_staff_pages_of_the_compliance_layer_open(client, terms, customer):  # R-LEG-1, R-AUP-2
    from allauth.mfa.models import Authenticator

    staff = StaffFactory()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    for url in ("/admin/legal/document/", "/admin/legal/document/add/", "/admin/legal/hold/",
                "/admin/legal/hold/add/", "/admin/legal/privacyrequest/",
                "/admin/legal/dataexport/", "/admin/legal/acceptance/",
                f"/admin/accounts/user/{customer.pk}/change/"):  # fmt: skip
        assert client.get(url).status_code == 200, url
