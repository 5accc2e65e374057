from django.core.management.base import BaseCommand, CommandError

from billing.selectors import ledger_verify


class Command(BaseCommand):
    help = (
        "Prove the ledger (R-BAL-3): every transaction sums to zero and every cached "
        "balance equals the sum of its entries. Exit code 0 only then."
    )

    def handle(self, *args, **options):
        report = ledger_verify()
        summary = (
            f"{report.transactions} transactions, {report.entries} entries, "
            f"{report.accounts} customer accounts checked"
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"Ledger OK: {summary}."))
            return
        lines = [f"Ledger check FAILED ({len(report.problems)} problems; {summary}):"]
        lines += [f"  - {problem}" for problem in report.problems]
        raise CommandError("\n".join(lines), returncode=1)
