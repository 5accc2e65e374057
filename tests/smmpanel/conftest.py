# The provider simulator fixtures, for the admin tests of the provider balance (issue 14).
from tests.catalog.fixtures import provider_simulator, sim_provider, simulator  # noqa: F401
