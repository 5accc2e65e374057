"""Fixtures around the provider simulator, importable by other apps' conftest files:

    from tests.catalog.fixtures import provider_simulator, simulator, sim_provider  # noqa: F401

``provider_simulator`` runs once per test session (per xdist worker) on a free port on
127.0.0.1 and is stopped at the end; ``simulator`` hands it to a test reset (no orders,
faults or counts; the demo catalog; 0.05 s per order step).
"""

import pytest

from catalog.services import provider_create
from devtools.simulator import ProviderSimulator

SIMULATOR_KEY = "sim-test-key-5d1c"
FAST_STEP_SECONDS = 0.05


@pytest.fixture(scope="session")
def provider_simulator():
    simulator = ProviderSimulator(api_key=SIMULATOR_KEY, step_seconds=FAST_STEP_SECONDS).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(provider_simulator):
    provider_simulator.reset()
    provider_simulator.step_seconds = FAST_STEP_SECONDS
    yield provider_simulator
    provider_simulator.reset()


@pytest.fixture
def sim_provider(db, simulator):
    """A Provider row pointing at the running simulator, with its key encrypted."""
    return provider_create(name="Simulator", api_url=simulator.url, api_key=SIMULATOR_KEY)
