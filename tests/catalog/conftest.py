import pytest
from allauth.mfa.models import Authenticator

from tests.catalog.fixtures import provider_simulator, sim_provider, simulator  # noqa: F401
from tests.factories import StaffFactory


@pytest.fixture
def staff_client(client, db):
    """A signed-in staff member with TOTP set up, so the admin opens (R-ACC-7)."""
    staff = StaffFactory()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    client.staff = staff
    return client
