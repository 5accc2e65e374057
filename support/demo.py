"""Demo support desk: a Support agent login, canned replies, a few tickets, an abuse report."""

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.demo import staff_totp_note
from accounts.roles import SUPPORT
from orders.models import Order
from support.models import AbuseReport, CannedReply, Ticket
from support.services import (
    abuse_report_create,
    ticket_assign,
    ticket_close,
    ticket_open,
    ticket_reply_staff,
)

DEMO_AGENT = ("support", "support@example.com", "demo-support-pass")
CANNED = [
    ("Refill started", "refill",
     "We have started a refill for your order; it takes up to 24 hours."),
    ("Checking with the provider", "order",
     "We are checking this order with the provider and will update you here."),
    ("Payment received", "payment",
     "Your payment has been received and the balance updated."),
]  # fmt: skip


def _agent():
    username, email, password = DEMO_AGENT
    User = get_user_model()
    agent, created = User.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": True, "is_superuser": False}
    )
    if created:
        agent.set_password(password)
        agent.save()
    agent.groups.add(Group.objects.get(name=SUPPORT))
    EmailAddress.objects.get_or_create(
        user=agent, email=email, defaults={"verified": True, "primary": True}
    )
    return agent


def seed(stdout) -> None:
    agent = _agent()
    for title, kind, body in CANNED:
        CannedReply.objects.get_or_create(title=title, defaults={"kind": kind, "body": body})
    totp = staff_totp_note(agent)
    stdout.write(f"  support agent: {DEMO_AGENT[0]} / {DEMO_AGENT[2]} ({totp}; /desk/)")
    customer = get_user_model().objects.filter(username="demo").first()
    if customer is None or Ticket.objects.filter(user=customer).exists():
        return
    order_ids = list(
        Order.objects.filter(user=customer).order_by("pk").values_list("pk", flat=True)[:1]
    )
    ticket_open(
        user=customer, kind=Ticket.Kind.ORDER, subject="When does my order start?",
        body="I placed it a few minutes ago; how long until it starts?", order_ids=order_ids,
    )  # fmt: skip
    answered = ticket_open(
        user=customer, kind=Ticket.Kind.PAYMENT, subject="Card payment not showing",
        body="I paid 10 USD but my balance did not change.",
    )  # fmt: skip
    ticket_assign(ticket_id=answered.pk, assignee=agent, actor=agent)
    ticket_reply_staff(
        ticket_id=answered.pk, actor=agent, body="Customer's payment is in Stripe.", internal=True
    )
    ticket_reply_staff(ticket_id=answered.pk, actor=agent, body=CANNED[2][2])
    done = ticket_open(
        user=customer, kind=Ticket.Kind.API, subject="API key question",
        body="Can I have two API keys?",
    )  # fmt: skip
    ticket_reply_staff(
        ticket_id=done.pk, actor=agent, body="One active key per account; regenerating it "
        "revokes the old one at once.",
    )  # fmt: skip
    ticket_close(ticket_id=done.pk, actor=agent)
    if not AbuseReport.objects.exists():
        abuse_report_create(
            reporter=None, email="", link="https://www.instagram.com/p/demo-impersonation/",
            order_reference="", description="This account impersonates our brand.",
        )  # fmt: skip
    stdout.write("  support: 3 demo tickets for the demo customer, 1 abuse report")
