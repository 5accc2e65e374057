"""Publish version 1 of the Terms, the Acceptable Use Policy and the Privacy Policy.

Staff edit and version them in the admin afterwards (R-LEG-1); sign-up needs a
current Terms version to accept (R-ACC-1).
"""

from django.db import migrations
from django.utils import timezone

TERMS = """\
1. The service. The panel sells social-media marketing services ("services"), delivered by \
upstream providers to the public link you give. Results depend on third-party platforms, \
which may change or remove them.
2. Your account. You must be 18 or older. One account per person; resellers and agencies may \
link up to 10 accounts. Keep your password and API key private.
3. Balance. You pay in USD into your balance. Deposited Funds are what you paid in; \
Promotional Credit is granted by us, has no cash value and is spent first.
4. Orders. An order is charged when placed, at the price shown then. A Partial order returns \
the undelivered part, a Canceled order the whole charge, to the funding sources it was paid from.
5. Claims. Problems with an order can be raised in a ticket within 3 days of its completion.
6. Refunds. Refunds to a payment method are at our discretion, less non-refundable processor \
fees and any Promotional Credit granted. A chargeback suspends the account.
7. Dormancy. After 12 months without sign-in, deposit or order the balance is frozen; \
Promotional Credit is forfeited and Deposited Funds are handled as the Terms describe.
8. Acceptable use. You agree to the Acceptable Use Policy.
"""

AUP = """\
Order only for public links you are entitled to promote, with the service that matches the \
platform and link type. Do not use the panel for anything illegal, for harassment, \
impersonation, fraud, malware or phishing, or for content that exploits anyone. We refuse \
orders for blocked links and keywords and may hold or cancel orders and accounts under \
investigation. Anyone can report a violation to the abuse address below.
"""

PRIVACY = """\
We keep only what the panel needs: your email, username, IP address and country, your orders, \
tickets and their attachments, and the outcome of your payments. Card data goes to the payment \
processor, never to us. Providers receive only the link, quantity and service parameters of an \
order. We use no third-party analytics or trackers. You can download a copy of your data and \
ask for correction or deletion; we erase or anonymise what we need not keep for legal, \
accounting or fraud reasons.
"""


def publish(apps, schema_editor):
    Document = apps.get_model("legal", "Document")
    now = timezone.now()
    for kind, title, body in (
        ("terms", "Terms of Service", TERMS),
        ("aup", "Acceptable Use Policy", AUP),
        ("privacy", "Privacy Policy", PRIVACY),
    ):
        Document.objects.get_or_create(
            kind=kind, version=1, defaults={"title": title, "body": body, "effective_at": now}
        )


def unpublish(apps, schema_editor):
    apps.get_model("legal", "Document").objects.filter(version=1, acceptances=None).delete()


class Migration(migrations.Migration):
    dependencies = [("legal", "0001_initial")]

    operations = [migrations.RunPython(publish, unpublish)]
