"""demo_data gives the desk a Support agent, canned replies and a few tickets."""

import io

import pytest
from django.core.management import call_command

from support.models import AbuseReport, CannedReply, Ticket

pytestmark = pytest.mark.django_db


def test_demo_data_adds_a_support_agent_and_tickets_once():
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    assert "support agent: support / demo-support-pass (set up TOTP at first sign-in; /desk/)" in (
        out.getvalue()
    )
    tickets = Ticket.objects.filter(user__username="demo")
    assert {t.status for t in tickets} == {"open", "answered", "closed"}
    agent = Ticket.objects.get(status="answered").assignee
    assert agent.username == "support"
    assert agent.is_staff
    assert not agent.is_superuser
    assert agent.has_perm("support.work_desk")
    assert not agent.has_perm("billing.adjust_balance")
    assert CannedReply.objects.count() == 3
    assert AbuseReport.objects.count() == 1
    call_command("demo_data", stdout=io.StringIO())
    assert tickets.count() == 3
