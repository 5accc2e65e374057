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
from django.utils.translation import gettext_lazy as _

from .money import MoneyField


class AccountKind(models.TextChoices):
    # A customer's accounts (user set, balance cached).
    DEPOSITED = "deposited", _("Deposited Funds")
    PROMOTIONAL = "promotional", _("Promotional Credit")
    OWED = "owed", _("Owed")
    # The panel's accounts (no user, no cached balance).
    PROCESSOR_CLEARING = "processor_clearing", _("Processor clearing")
    BANK = "bank", _("Bank (manual top-ups)")
    SALES = "sales", _("Sales")
    PROCESSOR_FEES = "processor_fees", _("Processor fees")
    PROMOTIONS_EXPENSE = "promotions_expense", _("Promotions expense")
    FORFEITURES = "forfeitures", _("Forfeitures")
    ADJUSTMENTS = "adjustments", _("Staff adjustments")
    # Issue 12 (money after the deposit). A customer's further accounts, created when first
    # needed, with the same cached balance and CHECK as the three above.
    PAYOUT_HOLD = "payout_hold", _("Pending payout")  # R-WDR-3: held until paid or canceled
    AFFILIATE = "affiliate", _("Affiliate balance")  # R-PRO-3
    DORMANT = "dormant", _("Frozen (dormant) funds")  # R-DOR-2
    # The panel's further accounts.
    WITHDRAWAL_FEES = "withdrawal_fees", _("Withdrawal fees")  # R-WDR-3 (income)
    AFFILIATE_EXPENSE = "affiliate_expense", _("Affiliate commissions")  # R-PRO-3 (expense)


_CUSTOMER_KIND_VALUES = [
    "deposited",
    "promotional",
    "owed",
    "payout_hold",
    "affiliate",
    "dormant",
]


class Account(models.Model):
    Kind = AccountKind

    # Created for every customer on first use of the ledger.
    CUSTOMER_KINDS = (Kind.DEPOSITED, Kind.PROMOTIONAL, Kind.OWED)
    # A customer's accounts created only when a withdrawal, commission or freeze needs them.
    EXTRA_CUSTOMER_KINDS = (Kind.PAYOUT_HOLD, Kind.AFFILIATE, Kind.DORMANT)
    ALL_CUSTOMER_KINDS = CUSTOMER_KINDS + EXTRA_CUSTOMER_KINDS
    # Accounts whose balance grows with debits (assets, expenses); the rest grow with credits.
    DEBIT_NORMAL = (
        Kind.OWED,
        Kind.PROCESSOR_CLEARING,
        Kind.BANK,
        Kind.PROCESSOR_FEES,
        Kind.PROMOTIONS_EXPENSE,
        Kind.ADJUSTMENTS,
        Kind.AFFILIATE_EXPENSE,
    )

    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    # Typed as always set: only customer accounts' balances are read (mypy, issue 14).
    balance: "models.DecimalField[Decimal | None, Decimal]" = MoneyField(
        null=True,
        blank=True,
        help_text="Cached balance of a customer's account (money held, or owed); "
        "empty for the panel's accounts.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        permissions = [
            ("adjust_balance", "Can grant credit and adjust customer balances"),
            ("restore_dormant", "Can restore frozen or forfeited dormant funds (goodwill)"),
        ]
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
                    Q(kind__in=_CUSTOMER_KIND_VALUES)
                    & Q(user__isnull=False)
                    & Q(balance__isnull=False)
                )
                | (
                    ~Q(kind__in=_CUSTOMER_KIND_VALUES)
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
    DEPOSIT = "deposit", _("Deposit")
    PROMO_BONUS = "promo_bonus", _("Promo code bonus")
    PROMO_GRANT = "promo_grant", _("Promotional credit")
    SPEND = "spend", _("Order charge")
    RETURN = "return", _("Return")
    ADJUSTMENT = "adjustment", _("Staff adjustment")
    # Issue 12.
    WITHDRAWAL = "withdrawal", _("Withdrawal requested")
    WITHDRAWAL_UNDO = "withdrawal_undo", _("Withdrawal canceled")
    PAYOUT = "payout", _("Paid out to card")
    REFUND = "refund", _("Refund")
    CHARGEBACK = "chargeback", _("Chargeback")
    FREEZE = "freeze", _("Dormancy freeze")
    FORFEIT = "forfeit", _("Forfeited")
    RESTORE = "restore", _("Restored")
    COMMISSION = "commission", _("Affiliate commission")
    CLAWBACK = "clawback", _("Commission clawback")
    TRANSFER = "transfer", _("Affiliate transfer")


class RefKind(models.TextChoices):
    ORDER = "order", _("Order")
    DEPOSIT = "deposit", _("Payment")
    PROMO_CODE = "promo_code", _("Promo code")
    STAFF = "staff", _("Staff action")
    # Issue 12.
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    DISPUTE = "dispute", _("Dispute")
    DORMANCY = "dormancy", _("Dormancy")
    COMMISSION = "commission", _("Commission")
    ACCOUNT = "account", _("Account")


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
        FIXED = "fixed", _("Fixed amount (USD)")
        PERCENT = "percent", _("Percentage of the deposit")

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
        STRIPE = "stripe", _("Card (Stripe)")
        MANUAL = "manual", _("Manual (operator)")

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        PROCESSING = "processing", _("Pending")
        CREDITED = "credited", _("Credited")
        FAILED = "failed", _("Failed")

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
    card_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="The card's fingerprint at Stripe (R-PRO-3)."
    )
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


# --- Issue 12: money after the deposit ---------------------------------------------------------
# Withdrawals and refunds to a payment method (R-WDR-*), disputes (R-PAY-4), affiliates
# (R-PRO-3), dormancy (R-DOR-*). Every state machine: TRANSITIONS as data, one transition
# service (``billing.services.states``) and a history row per move.


class Withdrawal(models.Model):
    """Money going back to the customer's card: a withdrawal the customer asks for (R-WDR-3) or
    a refund staff offer (R-WDR-1/2). Confirmed, its payout sits in the customer's Pending
    payout account until Stripe refunds it to the original payments or it is canceled."""

    class Kind(models.TextChoices):
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        REFUND = "refund", _("Refund to card")

    class Status(models.TextChoices):
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting your confirmation")
        PENDING = "pending", _("Pending")
        PAYING = "paying", _("Being paid")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed (returned to balance)")
        CANCELED = "canceled", _("Canceled")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS = {
        Status.AWAITING_CONFIRMATION: {Status.PENDING, Status.CANCELED, Status.REJECTED},
        Status.PENDING: {Status.PAYING, Status.CANCELED, Status.REJECTED},
        Status.PAYING: {Status.PAID, Status.FAILED},
        Status.PAID: set(),
        Status.FAILED: set(),
        Status.CANCELED: set(),
        Status.REJECTED: set(),
    }
    # Money is held (or about to be paid) in these.
    HELD = (Status.PENDING, Status.PAYING)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.WITHDRAWAL)
    status = models.CharField(max_length=24, choices=Status.choices)
    deposited = MoneyField(help_text="Unused Deposited Funds when the figure was made.")
    fee_percent = MoneyField(default=Decimal("0"), help_text="Processing fee, percent.")
    fee = MoneyField(default=Decimal("0"), help_text="Processing fee kept by the panel.")
    deposit_fees = MoneyField(
        default=Decimal("0"), help_text="The processor's non-refundable deposit fees withheld."
    )
    promo_deducted = MoneyField(
        default=Decimal("0"), help_text="Promotional Credit granted and not yet deducted (R-WDR-2)."
    )
    amount = MoneyField(help_text="What goes back to the card.")
    paid_amount = MoneyField(default=Decimal("0"))
    requires_verification = models.BooleanField(default=False)  # R-WDR-5
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text="The ticket the refund was asked in (R-WDR-1)."
    )
    failure_message = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("approve_withdrawal", "Can approve, pay or reject withdrawals and refunds"),
            ("verify_withdrawal", "Can require or give verification before a payout"),
            ("offer_refund", "Can offer a refund to a payment method"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "awaiting_confirmation",
                        "pending",
                        "paying",
                        "paid",
                        "failed",
                        "canceled",
                        "rejected",
                    ]
                ),
                name="billing_withdrawal_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["withdrawal", "refund"]), name="billing_withdrawal_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="billing_withdrawal_amount_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0)
                & Q(deposit_fees__gte=0)
                & Q(promo_deducted__gte=0)
                & Q(paid_amount__gte=0)
                & Q(paid_amount__lte=models.F("amount"))
                & Q(fee_percent__gte=0)
                & Q(fee_percent__lte=10),
                name="billing_withdrawal_parts_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    amount__lte=models.F("deposited")
                    - models.F("fee")
                    - models.F("deposit_fees")
                    - models.F("promo_deducted")
                ),
                name="billing_withdrawal_figure_valid",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} #{self.pk} ({self.amount} USD, {self.get_status_display()})"
        )

    @property
    def held(self) -> Decimal:
        """What sits in Pending payout for it: the payout and the deposit fees withheld."""
        return self.amount + self.deposit_fees

    @property
    def awaits_verification(self) -> bool:
        return self.requires_verification and self.verified_at is None


class WithdrawalEvent(models.Model):
    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.CASCADE, related_name="events")
    old_status = models.CharField(max_length=24, blank=True)
    new_status = models.CharField(max_length=24)
    cause = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.old_status or '-'} -> {self.new_status} ({self.cause})"


class WithdrawalRefund(models.Model):
    """One Stripe Refund of a withdrawal's payout on one original PaymentIntent."""

    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="refunds")
    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="refunds")
    amount = MoneyField()
    succeeded = models.BooleanField(default=False)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_wrefund_amount_gt_0"),
            models.UniqueConstraint(
                fields=["withdrawal", "deposit"], name="billing_wrefund_one_per_deposit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of deposit #{self.deposit_id}"


class CustomerFlag(models.Model):
    """Staff's standing instruction for one customer: verify before any payout (R-WDR-5)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_flag"
    )
    verification_required = models.BooleanField(default=False)
    note = models.CharField(max_length=255, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: verification {'required' if self.verification_required else 'off'}"


class Dispute(models.Model):
    """A Stripe dispute (chargeback) of a deposit (R-PAY-4), handled once per dispute id."""

    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    deposit = models.ForeignKey(
        Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes"
    )
    amount = MoneyField()
    reason = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32, default="needs_response")
    forfeited = MoneyField(default=Decimal("0"))
    promo_canceled = MoneyField(default=Decimal("0"))
    owed = MoneyField(default=Decimal("0"))
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="dispute"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Dispute {self.stripe_dispute_id} ({self.status})"


class AffiliateLink(models.Model):
    """A customer's referral code (R-PRO-3): ``/r/<code>/``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="affiliate_link"
    )
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    """A sign-up that came through a referral link, linked to its referrer (R-PRO-3)."""

    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals"
    )
    referred = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referred_by"
    )
    signup_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(referrer=models.F("referred")), name="billing_referral_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.referred} referred by {self.referrer}"


class Commission(models.Model):
    """The referrer's commission on one deposit of a referred customer (R-PRO-3)."""

    class Status(models.TextChoices):
        CREDITED = "credited", _("Credited")
        REFUSED = "refused", _("Refused (self-referral)")
        CLAWED_BACK = "clawed_back", _("Clawed back")

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="commissions")
    deposit = models.OneToOneField(Deposit, on_delete=models.PROTECT, related_name="commission")
    amount = MoneyField()
    clawed_back = MoneyField(default=Decimal("0"))
    status = models.CharField(max_length=16, choices=Status.choices)
    refusal_reason = models.CharField(max_length=255, blank=True)
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clawback_transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_commission_gte_0"),
            models.CheckConstraint(
                condition=Q(status__in=["credited", "refused", "clawed_back"]),
                name="billing_commission_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Commission {self.amount} on deposit #{self.deposit_id}"


class DormancyCase(models.Model):
    """One spell of inactivity of one account (R-DOR-1..7), a due row for the daily task.

    Opened with the notice 14 days before the freeze; ``next_due_at`` is when the task must
    look at it again (freeze, the forfeiture notice, the forfeiture), claimed with SKIP LOCKED.
    """

    class State(models.TextChoices):
        NOTICED = "noticed", _("Freeze notice sent")
        FROZEN = "frozen", _("Frozen")
        FORFEITED = "forfeited", _("Forfeited")
        RESTORED = "restored", _("Restored")
        LAPSED = "lapsed", _("Active again before the freeze")

    TRANSITIONS = {
        State.NOTICED: {State.FROZEN, State.LAPSED},
        State.FROZEN: {State.FORFEITED, State.RESTORED},
        State.FORFEITED: {State.RESTORED},
        State.RESTORED: set(),
        State.LAPSED: set(),
    }

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dormancy_cases"
    )
    activity_at = models.DateTimeField(help_text="The last activity this spell started after.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.NOTICED)
    freeze_notice = models.ForeignKey(
        "accounts.Notice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    freeze_at = models.DateTimeField()
    frozen_at = models.DateTimeField(null=True, blank=True)
    frozen_deposited = MoneyField(default=Decimal("0"))
    frozen_affiliate = MoneyField(
        default=Decimal("0"), help_text="The Affiliate balance frozen with the Deposited Funds."
    )
    promo_forfeited = MoneyField(default=Decimal("0"))
    forfeit_at = models.DateTimeField(null=True, blank=True)
    forfeit_notice = models.ForeignKey(
        "accounts.Notice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    forfeited_at = models.DateTimeField(null=True, blank=True)
    forfeited = MoneyField(default=Decimal("0"))
    next_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["next_due_at"], name="billing_dormancy_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "activity_at"], name="billing_dormancy_once_per_spell"
            ),
            # One open case per customer: one Dormant account holds their frozen funds.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(state__in=["noticed", "frozen"]),
                name="billing_dormancy_one_open_case",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["noticed", "frozen", "forfeited", "restored", "lapsed"]),
                name="billing_dormancy_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Dormancy of {self.user} ({self.get_state_display()})"


class DormancyEvent(models.Model):
    case = models.ForeignKey(DormancyCase, on_delete=models.CASCADE, related_name="events")
    old_state = models.CharField(max_length=16, blank=True)
    new_state = models.CharField(max_length=16)
    cause = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.old_state or '-'} -> {self.new_state} ({self.cause})"


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
