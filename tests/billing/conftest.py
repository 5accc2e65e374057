import pytest
from django.core.management import call_command

from billing.selectors import ledger_verify


@pytest.fixture
def assert_ledger_ok():
    """Call to prove the ledger: the command exits 0 and the report has no problems."""

    def check():
        report = ledger_verify()
        assert report.problems == []
        call_command("ledger_check")  # raises CommandError (exit 1) otherwise

    return check
