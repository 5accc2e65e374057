import pytest

from tests.catalog.fixtures import provider_simulator, sim_provider, simulator  # noqa: F401


@pytest.fixture(autouse=True)
def _no_link_check(settings):
    """Links of the tests point at the real internet: only the link-check tests fetch them."""
    settings.ORDERS_LINK_CHECK = False
