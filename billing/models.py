"""The ledger (double entry), deposits, promo codes.

Ledger in the shape of django-hordak: a ``Transaction`` has two or more ``Entry`` rows,
each a signed amount on one ``Account``; the amounts of a transaction sum to zero
(R-BAL-3). Sign convention: **a positive amount is a credit, a negative one a debit.**

A customer has three accounts: Deposited Funds and Promotional Credit (what the panel
owes the customer, credit-normal) and Owed (what the customer owes the panel after a
reversal, debit-normal). Their balances are cached on the account row in the natural
sense (money the customer has, or owes) and can never be negative (R-BAL-5). The
panel's own accounts carry no cached balance: they are hot rows shared by everyone.

PostgreSQL enforces the rules itself (migration 0002): a deferred constraint trigger
refuses an unbalanced transaction, triggers refuse UPDATE, DELETE and TRUNCATE of the
ledger; the CHECK constraints below refuse zero entries and negative balances.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from .money import MoneyField


class AccountKind(models.TextChoices):
    # A customer's accounts (user set, balance cached).
    DEPOSITED = "deposited", "Deposited Funds"
    PROMOTIONAL = "promotional", "Promotional Credit"
    OWED = "owed", "Owed"
    # The panel's accounts (no user, no cached balance).
    PROCESSOR_CLEARING = "processor_clearing", "Processor clearing"
    BANK = "bank", "Bank (manual top-ups)"
    SALES = "sales", "Sales"
    PROCESSOR_FEES = "processor_fees", "Processor fees"
    PROMOTIONS_EXPENSE = "promotions_expense", "Promotions expense"
    FORFEITURES = "forfeitures", "Forfeitures"
    ADJUSTMENTS = "adjustments", "Staff adjustments"


class Account(models.Model):
    Kind = AccountKind

    CUSTOMER_KINDS = (Kind.DEPOSITED, Kind.PROMOTIONAL, Kind.OWED)
    # Accounts whose balance grows with debits (assets, expenses); the rest grow with credits.
    DEBIT_NORMAL = (
        Kind.OWED,
        Kind.PROCESSOR_CLEARING,
        Kind.BANK,
        Kind.PROCESSOR_FEES,
        Kind.PROMOTIONS_EXPENSE,
        Kind.ADJUSTMENTS,
    )

    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    balance = MoneyField(
        null=True,
        blank=True,
        help_text="Cached balance of a customer's account (money held, or owed); "
        "empty for the panel's accounts.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        permissions = [("adjust_balance", "Can grant credit and adjust customer balances")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=AccountKind.values), name="billing_account_kind_valid"
            ),
            # R-BAL-5: no spendable (or owed) balance is ever negative.
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="billing_account_balance_gte_0"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["deposited", "promotional", "owed"])
                    & Q(user__isnull=False)
                    & Q(balance__isnull=False)
                )
                | (
                    ~Q(kind__in=["deposited", "promotional", "owed"])
                    & Q(user__isnull=True)
                    & Q(balance__isnull=True)
                ),
                name="billing_account_customer_xor_system",
            ),
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=Q(user__isnull=False),
                name="billing_account_one_per_customer_kind",
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(user__isnull=True), name="billing_account_one_system"
            ),
        ]

    def __str__(self) -> str:
        if self.user_id:
            return f"{self.get_kind_display()} of {self.user}"
        return self.get_kind_display()

    @property
    def is_customer(self) -> bool:
        return self.user_id is not None

    @property
    def sign(self) -> int:
        """+1 if a credit raises this account's balance, -1 if a debit does."""
        return -1 if self.kind in self.DEBIT_NORMAL else 1


class TransactionReason(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    PROMO_BONUS = "promo_bonus", "Promo code bonus"
    PROMO_GRANT = "promo_grant", "Promotional credit"
    SPEND = "spend", "Order charge"
    RETURN = "return", "Return"
    ADJUSTMENT = "adjustment", "Staff adjustment"


class RefKind(models.TextChoices):
    ORDER = "order", "Order"
    DEPOSIT = "deposit", "Payment"
    PROMO_CODE = "promo_code", "Promo code"
    STAFF = "staff", "Staff action"


class Transaction(models.Model):
    """One balanced movement of money (R-BAL-3); immutable once written."""

    Reason = TransactionReason
    RefKind = RefKind

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    memo = models.CharField(max_length=255)
    ref_kind = models.CharField(max_length=16, choices=RefKind.choices)
    ref_id = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_transactions",
        help_text="The customer whose accounts this transaction moves.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The staff member who made a manual movement.",
    )
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user", "-id"], name="billing_txn_user_id"),
            models.Index(fields=["ref_kind", "ref_id"], name="billing_txn_ref"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=TransactionReason.values), name="billing_txn_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(ref_kind__in=RefKind.values),
                name="billing_txn_ref_kind_valid",
            ),
            models.CheckConstraint(condition=~Q(memo=""), name="billing_txn_memo_required"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()}: {self.memo}"


class Entry(models.Model):
    """One leg of a transaction: a signed amount (credit > 0, debit < 0) on one account."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = MoneyField()
    balance_after = MoneyField(
        null=True,
        blank=True,
        help_text="The customer account's cached balance right after this entry.",
    )

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "entries"
        indexes = [models.Index(fields=["account", "transaction"], name="billing_entry_acct_txn")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="billing_entry_amount_nonzero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="billing_entry_balance_after_gte_0"
            ),
        ]

    def __str__(self) -> str:
        side = "credit" if self.amount > 0 else "debit"
        return f"{side} {abs(self.amount)} {self.account}"


class PromoCode(models.Model):
    """A code that adds Promotional Credit to a deposit (R-PRO-1)."""

    class Kind(models.TextChoices):
        FIXED = "fixed", "Fixed amount (USD)"
        PERCENT = "percent", "Percentage of the deposit"

    code = models.CharField(max_length=32, unique=True, help_text="Stored in capitals.")
    description = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERCENT)
    value = MoneyField(help_text="USD for a fixed bonus, percent (10 = 10 %) for a percentage.")
    max_bonus = MoneyField(
        null=True, blank=True, help_text="Cap on a percentage bonus, in USD (empty: none)."
    )
    min_deposit = MoneyField(default=Decimal("0"))
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses_total = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: no limit."
    )
    max_uses_per_account = models.PositiveIntegerField(
        null=True, blank=True, default=1, help_text="Empty: no limit."
    )
    eligible_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Only these accounts may use the code; none selected: every account.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="billing_promo_value_gt_0"),
            models.CheckConstraint(
                condition=Q(kind="fixed") | Q(value__lte=100), name="billing_promo_percent_lte_100"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["fixed", "percent"]), name="billing_promo_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(min_deposit__gte=0), name="billing_promo_min_deposit_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(max_bonus__isnull=True) | Q(max_bonus__gt=0),
                name="billing_promo_max_bonus_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="billing_promo_window_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)


class Deposit(models.Model):
    """A top-up: paid by card through Stripe, or booked by an operator (R-BAL-2)."""

    class Method(models.TextChoices):
        STRIPE = "stripe", "Card (Stripe)"
        MANUAL = "manual", "Manual (operator)"

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        PROCESSING = "processing", "Pending"
        CREDITED = "credited", "Credited"
        FAILED = "failed", "Failed"

    FINAL = (Status.CREDITED, Status.FAILED)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits"
    )
    method = models.CharField(max_length=8, choices=Method.choices)
    amount = MoneyField()
    fee = MoneyField(
        default=Decimal("0"), help_text="The processor's non-refundable fee (R-PAY-3)."
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_PAYMENT
    )
    memo = models.CharField(max_length=255, blank=True)
    promo_code = models.ForeignKey(
        PromoCode, null=True, blank=True, on_delete=models.PROTECT, related_name="deposits"
    )
    promo_note = models.CharField(
        max_length=255, blank=True, help_text="Why the promo code was not applied, if it was not."
    )
    failure_message = models.CharField(max_length=255, blank=True)
    stripe_setup_intent = models.CharField(max_length=255, blank=True)
    stripe_payment_intent = models.CharField(max_length=255, null=True, blank=True, unique=True)
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="deposit"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_deposit_amount_gt_0"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="billing_deposit_fee_gte_0"),
            models.CheckConstraint(
                condition=Q(fee__lte=models.F("amount")), name="billing_deposit_fee_lte_amount"
            ),
            models.CheckConstraint(
                condition=Q(method__in=["stripe", "manual"]), name="billing_deposit_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["awaiting_payment", "processing", "credited", "failed"]),
                name="billing_deposit_status_valid",
            ),
            # Credited exactly when its ledger transaction exists (R-PAY-2).
            models.CheckConstraint(
                condition=(Q(status="credited") & Q(transaction__isnull=False))
                | (~Q(status="credited") & Q(transaction__isnull=True)),
                name="billing_deposit_credited_has_txn",
            ),
        ]

    def __str__(self) -> str:
        return f"Deposit #{self.pk} ({self.amount} USD, {self.get_status_display()})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class PromoRedemption(models.Model):
    promo_code = models.ForeignKey(PromoCode, on_delete=models.PROTECT, related_name="redemptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deposit = models.OneToOneField(Deposit, on_delete=models.PROTECT, related_name="redemption")
    bonus = MoneyField()
    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(bonus__gt=0), name="billing_redemption_bonus_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.promo_code} on deposit #{self.deposit_id}"


class StripeCustomer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_customer"
    )
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.customer_id


class StripeEvent(models.Model):
    """A webhook event handled once: its id is unique (R-PAY-2)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payment_intent = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookAnomaly(models.Model):
    """A signed webhook event that can never succeed (an intent Stripe does not know, an
    intent pointed at a deposit it does not pay): acknowledged with 2xx so Stripe stops
    retrying, logged, and kept here for staff to look at (issue 9, R-PAY-2)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payment_intent = models.CharField(max_length=255, blank=True)
    deposit_id = models.CharField(max_length=32, blank=True)
    reason = models.TextField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook anomalies"

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}: {self.reason[:60]}"
