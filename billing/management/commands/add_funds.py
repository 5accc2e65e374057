from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from billing.models import Account
from billing.services import funds_add_manual


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise CommandError(f"not an amount: {text!r}") from exc
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.00001")):
        raise CommandError(f"the amount must be positive, at most 5 decimal places: {text!r}")
    return amount


class Command(BaseCommand):
    help = (
        "Top up a customer's balance by hand (bank transfer, goodwill) through the ledger: "
        "Deposited Funds as a manual deposit, or Promotional Credit."
    )

    def add_arguments(self, parser):
        parser.add_argument("user", help="username or email")
        parser.add_argument("amount", help="USD, e.g. 25.00")
        parser.add_argument(
            "--source",
            choices=[Account.Kind.DEPOSITED.value, Account.Kind.PROMOTIONAL.value],
            default=Account.Kind.DEPOSITED.value,
        )
        parser.add_argument("--reason", required=True, help="why, kept in the ledger")

    def handle(self, *args, **options):
        User = get_user_model()
        try:
            user = User.objects.get(Q(username=options["user"]) | Q(email__iexact=options["user"]))
        except User.DoesNotExist as exc:
            raise CommandError(f"no such user: {options['user']}") from exc
        if not options["reason"].strip():
            raise CommandError("--reason cannot be empty")
        amount = _amount(options["amount"])
        txn = funds_add_manual(
            user=user, amount=amount, source=options["source"], reason=options["reason"]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {amount} USD of {Account.Kind(options['source']).label} to "
                f"{user.username} (ledger transaction #{txn.pk})."
            )
        )
