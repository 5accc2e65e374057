"""Dormancy (R-DOR-1..7) on a controlled clock: the daily job is run with ``now=`` at -14 days,
the freeze, +6 months (-14 days) and +18 months."""

from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from billing.exceptions import DormancyRefused, InsufficientFunds, WithdrawalRefused
from billing.models import Account, DormancyCase, Transaction
from billing.selectors import balance_get
from billing.services import deposit_credit, funds_spend, promo_credit_grant, staff_adjust
from billing.services.dormancy import (
    dormancy_restore_goodwill,
    dormancy_restore_request,
    dormancy_run,
)
from billing.services.withdrawals import withdrawal_request
from tests.billing.money_out import system_balance
from tests.factories import StaffFactory, UserFactory

D = Decimal
pytestmark = pytest.mark.django_db
State = DormancyCase.State


@pytest.fixture
def clock():
    """Today, and the last activity that makes today the day of the freeze notice."""
    base = timezone.now()
    return base, base - relativedelta(months=12) + timedelta(days=14)


def _inactive(*, deposited: str, promotional: str = "0", since, owed: str = "0"):
    user = UserFactory()
    deposit_credit(user=user, amount=D(deposited), manual=True, memo="bank transfer")
    if D(promotional):
        promo_credit_grant(user=user, amount=D(promotional), memo="bonus")
    if D(owed):  # a correction beyond the promotional credit leaves money owed (R-BAL-5)
        staff_adjust(
            user=user, source="promotional", amount=-(D(promotional) + D(owed)),
            reason="correction", actor=StaffFactory(),
        )  # fmt: skip
        promo_credit_grant(user=user, amount=D(promotional), memo="bonus again")
    type(user).objects.filter(pk=user.pk).update(last_activity_at=since)
    return user


def _run(now, capture):
    with capture(execute=True):  # the notices' mails go out after commit (Celery, eager)
        return dormancy_run(now=now)


def test_small_balance_timeline(clock, django_capture_on_commit_callbacks, assert_ledger_ok):
    base, since = clock
    user = _inactive(deposited="500", promotional="20", since=since, owed="10")
    assert balance_get(user=user).owed == D("10")

    # Not yet 14 days before the freeze: nothing.
    assert _run(base - timedelta(days=1), django_capture_on_commit_callbacks)["opened"] == 0
    # R-DOR-2: 14 days before the freeze, a notice to the verified address.
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    case = DormancyCase.objects.get(user=user)
    assert case.state == State.NOTICED
    assert len(mail.outbox) == 1
    assert case.freeze_notice.emailed_at is not None  # R-DOR-7: logged when mailed
    # Run again (and again): never a second notice (R-DOR-7).
    _run(base + timedelta(days=2), django_capture_on_commit_callbacks)
    _run(base + timedelta(days=13), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert DormancyCase.objects.get(user=user).state == State.NOTICED

    # The freeze: Deposited Funds frozen, Promotional Credit forfeited (R-DOR-3), owed kept.
    frozen_at = base + timedelta(days=14, hours=1)
    _run(frozen_at, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert case.state == State.FROZEN
    balance = balance_get(user=user)
    assert (balance.deposited, balance.promotional, balance.frozen) == (D("0"), D("0"), D("500"))
    assert balance.owed == D("10")  # R-DOR-6
    assert (case.frozen_deposited, case.promo_forfeited) == (D("500"), D("20"))
    assert case.forfeit_at == frozen_at + relativedelta(months=6)  # R-DOR-4
    # Frozen: no spending, no withdrawals.
    with pytest.raises(InsufficientFunds):
        funds_spend(user=user, amount=D("1"), memo="o", ref_kind="order", ref_id=1)
    with pytest.raises(WithdrawalRefused, match="frozen"):
        withdrawal_request(user=user)

    # R-DOR-4: a notice 14 days before the forfeiture, then the forfeiture.
    _run(case.forfeit_at - timedelta(days=15), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    _run(case.forfeit_at - timedelta(days=14), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    assert Notice.objects.filter(user=user, kind="dormancy_forfeit").count() == 1
    _run(case.forfeit_at + timedelta(hours=1), django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert (case.state, case.forfeited) == (State.FORFEITED, D("500"))
    balance = balance_get(user=user)
    assert (balance.frozen, balance.owed) == (D("0"), D("10"))  # R-DOR-6: owed never canceled
    assert system_balance(Account.Kind.FORFEITURES) == D("520")
    assert len(mail.outbox) == 2
    # Afterwards only a staff goodwill action restores, with a reason.
    with pytest.raises(DormancyRefused):
        dormancy_restore_request(user=user)
    with pytest.raises(DormancyRefused):
        dormancy_restore_goodwill(case_id=case.pk, actor=StaffFactory(), reason=" ")
    dormancy_restore_goodwill(case_id=case.pk, actor=StaffFactory(), reason="asked by ticket")
    assert balance_get(user=user).deposited == D("500")
    assert_ledger_ok()


def test_dormancy_texts_show_money_by_the_one_display_rule(
    clock, django_capture_on_commit_callbacks
):  # R-DOR-2, R-DOR-4, issue 14
    """The freeze memo and the forfeit notice show the ledger's amount by usd_text
    ("$12.34567", "$0.50"), not rounded to the cent; the notice in the customer's language."""
    base, since = clock
    user = _inactive(deposited="12.34567", promotional="0.5", since=since)
    spanish = _inactive(deposited="7", since=since)
    type(spanish).objects.filter(pk=spanish.pk).update(language="es")
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    _run(base + timedelta(days=14, hours=1), django_capture_on_commit_callbacks)
    memo = Transaction.objects.get(user=user, reason=Transaction.Reason.FREEZE).memo
    assert "Deposited Funds $12.34567 frozen" in memo
    assert "Promotional Credit $0.50 forfeited" in memo
    case = DormancyCase.objects.get(user=user)
    _run(case.forfeit_at - timedelta(days=14), django_capture_on_commit_callbacks)
    notice = Notice.objects.get(user=user, kind="dormancy_forfeit")
    assert notice.body == (
        f"Your frozen Deposited Funds of $12.34567 will be forfeited on "
        f"{case.forfeit_at:%Y-%m-%d}. Sign in and ask to restore them before then."
    )
    told = Notice.objects.get(user=spanish, kind="dormancy_forfeit")
    assert told.subject == "Tu saldo congelado se perderá"
    assert told.body.startswith("Tus Fondos depositados congelados de $7.00 se perderán el ")


def test_large_balance_restorable_for_eighteen_months(clock, django_capture_on_commit_callbacks,
                                                      assert_ledger_ok):  # fmt: skip
    # R-DOR-5: 1,000 USD or more stay restorable on request for 18 months, then forfeited.
    base, since = clock
    keeps = _inactive(deposited="1000", since=since)
    waits = _inactive(deposited="1500.50", since=since)
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    frozen_at = base + timedelta(days=14, hours=1)
    _run(frozen_at, django_capture_on_commit_callbacks)
    case = DormancyCase.objects.get(user=waits)
    assert case.forfeit_at == frozen_at + relativedelta(months=18)
    # Six months on: nothing is forfeited.
    _run(frozen_at + relativedelta(months=6, days=1), django_capture_on_commit_callbacks)
    assert balance_get(user=waits).frozen == D("1500.50")
    # 17 months on, one customer asks: restored (Promotional Credit stays forfeited).
    dormancy_restore_request(user=keeps, now=frozen_at + relativedelta(months=17))
    assert balance_get(user=keeps).deposited == D("1000")
    # 18 months on, the other is forfeited (after the notice 14 days before).
    _run(case.forfeit_at - timedelta(days=14), django_capture_on_commit_callbacks)
    _run(case.forfeit_at + timedelta(hours=1), django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert (case.state, case.forfeited) == (State.FORFEITED, D("1500.50"))
    assert balance_get(user=waits).frozen == 0
    assert balance_get(user=keeps).deposited == D("1000")
    assert_ledger_ok()


def test_activity_before_the_freeze_keeps_the_balance(clock, django_capture_on_commit_callbacks):
    # R-DOR-1: a sign-in, deposit or order counts; an order here.
    base, since = clock
    user = _inactive(deposited="50", since=since)
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    funds_spend(user=user, amount=D("1"), memo="order", ref_kind="order", ref_id=1)
    _run(base + timedelta(days=15), django_capture_on_commit_callbacks)
    assert DormancyCase.objects.get(user=user).state == State.LAPSED
    assert balance_get(user=user).deposited == D("49")


def test_sign_in_counts_as_activity(client, customer):  # R-DOR-1
    from tests.factories import PASSWORD

    type(customer).objects.filter(pk=customer.pk).update(last_activity_at=None)
    client.post("/accounts/login/", {"login": customer.username, "password": PASSWORD})
    customer.refresh_from_db()
    assert customer.last_activity_at is not None


def test_unverified_address_gets_no_mail_but_is_frozen(clock, django_capture_on_commit_callbacks):
    # R-ACC-3 / R-DOR-2: only verified addresses receive dormancy notices.
    from allauth.account.models import EmailAddress

    base, since = clock
    user = _inactive(deposited="30", since=since)
    EmailAddress.objects.filter(user=user).update(verified=False)
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert mail.outbox == []
    _run(base + timedelta(days=14, hours=1), django_capture_on_commit_callbacks)
    assert balance_get(user=user).frozen == D("30")


def test_freeze_waits_until_the_notice_was_mailed(clock):
    # R-DOR-7: a notice counts once the mail is sent; the freeze comes 14 days after that.
    base, since = clock
    user = _inactive(deposited="80", since=since)
    dormancy_run(now=base + timedelta(minutes=1))  # the mail is not sent (no commit here)
    case = DormancyCase.objects.get(user=user)
    assert case.freeze_notice.emailed_at is None
    dormancy_run(now=base + timedelta(days=15))
    case.refresh_from_db()
    assert case.state == State.NOTICED  # postponed, nothing frozen
    assert balance_get(user=user).deposited == D("80")
    Notice.objects.filter(pk=case.freeze_notice_id).update(emailed_at=base + timedelta(days=16))
    dormancy_run(now=base + timedelta(days=29))
    assert DormancyCase.objects.get(user=user).state == State.NOTICED
    dormancy_run(now=base + timedelta(days=30, hours=1))
    assert DormancyCase.objects.get(user=user).state == State.FROZEN


def test_daily_task_is_registered_and_scheduled(settings):
    from billing.tasks import dormancy_run_task

    assert dormancy_run_task.name == "billing.dormancy_run"
    beat = settings.CELERY_BEAT_SCHEDULE["billing-dormancy"]
    assert (beat["task"], beat["schedule"]) == ("billing.dormancy_run", 86400.0)
    assert dormancy_run_task.delay().get() == {"opened": 0, "moved": 0}


def test_a_frozen_account_key_is_refused_and_web_orders_too(
    client, clock, django_capture_on_commit_callbacks
):  # R-KEY-3, R-DOR-2
    from accounts.selectors import api_key_user
    from accounts.services import api_key_issue

    base, since = clock
    user = _inactive(deposited="40", since=since)
    _, key = api_key_issue(user=user)
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert api_key_user(key=key) == user  # noticed, not frozen yet
    _run(base + timedelta(days=14, hours=1), django_capture_on_commit_callbacks)
    assert DormancyCase.objects.get(user=user).state == State.FROZEN

    assert api_key_user(key=key) is None
    for action in ("balance", "services", "add"):
        response = client.post("/api/v2", {"key": key, "action": action})
        assert (response.status_code, response.json()) == (200, {"error": "Invalid API key"})
    client.force_login(user)
    page = client.get("/orders/new/")
    assert page.status_code == 403
    assert "Your balance is frozen after a long inactivity" in page.content.decode()

    dormancy_restore_request(user=user)  # the freeze ends: the key and the order page work
    assert api_key_user(key=key) == user
    assert client.post("/api/v2", {"key": key, "action": "balance"}).json()["balance"] == "40.00"
    assert client.get("/orders/new/").status_code == 200


def test_activity_is_recorded_to_the_hour(customer):
    # R-DOR-1: every order counts, but a busy account's row is rewritten at most hourly.
    from accounts.services import user_activity_touch

    User = type(customer)
    User.objects.filter(pk=customer.pk).update(last_activity_at=None)
    start = timezone.now()
    user_activity_touch(user=customer, now=start)
    assert User.objects.get(pk=customer.pk).last_activity_at == start
    user_activity_touch(user=customer, now=start + timedelta(minutes=59))
    assert User.objects.get(pk=customer.pk).last_activity_at == start
    user_activity_touch(user=customer, now=start + timedelta(minutes=61))
    assert User.objects.get(pk=customer.pk).last_activity_at == start + timedelta(minutes=61)
    # The row in memory does not decide: the database's value does.
    User.objects.filter(pk=customer.pk).update(last_activity_at=start - relativedelta(months=11))
    user_activity_touch(user=customer, now=start + timedelta(minutes=62))
    assert User.objects.get(pk=customer.pk).last_activity_at == start + timedelta(minutes=62)


def test_no_second_case_while_one_is_frozen(clock, django_capture_on_commit_callbacks,
                                            assert_ledger_ok):  # fmt: skip
    # R-DOR-5, R-DOR-4: one customer's frozen funds sit in one Dormant account, so a second
    # spell of inactivity opens no case while the first is frozen (restorable): it would
    # freeze into the same account and the first case's forfeiture would take both.
    base, since = clock
    user = _inactive(deposited="1200", since=since)
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    frozen_at = base + timedelta(days=14, hours=1)
    _run(frozen_at, django_capture_on_commit_callbacks)
    first = DormancyCase.objects.get(user=user)
    assert (first.state, balance_get(user=user).frozen) == (State.FROZEN, D("1200"))

    # Active again a month later (a bank transfer of 50), then 12 more idle months.
    active = frozen_at + relativedelta(months=1)
    deposit_credit(user=user, amount=D("50"), manual=True, memo="bank transfer")
    type(user).objects.filter(pk=user.pk).update(last_activity_at=active)
    second_notice = active + relativedelta(months=12) - timedelta(days=14)
    for day in (0, 15, 60):
        _run(second_notice + timedelta(days=day), django_capture_on_commit_callbacks)
    assert list(DormancyCase.objects.filter(user=user)) == [first]
    assert balance_get(user=user).deposited == D("50")  # not frozen meanwhile
    with pytest.raises(IntegrityError), transaction.atomic():  # and Postgres says so too
        DormancyCase.objects.create(user=user, activity_at=active, freeze_at=second_notice)

    # The first case ends with its own 1,200 forfeited, not the 50.
    first.refresh_from_db()
    _run(first.forfeit_at - timedelta(days=14), django_capture_on_commit_callbacks)
    _run(first.forfeit_at + timedelta(hours=1), django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert (first.state, first.forfeited) == (State.FORFEITED, D("1200"))
    assert balance_get(user=user).deposited == D("50")
    # Then the second spell gets its case: notice first, the freeze 14 days after the mail.
    after = first.forfeit_at + timedelta(days=1)
    _run(after, django_capture_on_commit_callbacks)
    second = DormancyCase.objects.exclude(pk=first.pk).get(user=user)
    assert (second.state, second.activity_at) == (State.NOTICED, active)
    _run(after + timedelta(days=14, hours=1), django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert (second.state, second.frozen_deposited) == (State.FROZEN, D("50"))
    assert balance_get(user=user).frozen == D("50")
    assert_ledger_ok()


def _affiliate(user, commission: str):
    """Give ``user`` an Affiliate balance of ``commission``: 5 % of a referred friend's bank
    transfer (R-PRO-3); the friend signed up from another address and shares nothing."""
    from billing.services.affiliates import affiliate_link_get_or_create, referral_attach
    from billing.services.deposits import deposit_manual_create

    friend = UserFactory()
    code = affiliate_link_get_or_create(user=user).code
    referral_attach(user=friend, code=code, ip_address="192.0.2.90")
    deposit_manual_create(user=friend, amount=D(commission) * 20, memo="bank transfer")
    assert balance_get(user=user).affiliate == D(commission)
    return friend


def test_affiliate_balance_is_frozen_with_the_deposited_funds(
    client, clock, django_capture_on_commit_callbacks, assert_ledger_ok
):
    # R-DOR-2: "its balance is frozen". A commission is earned money, not Promotional Credit
    # (R-BAL-2: granted by the panel), so it is frozen and counted like Deposited Funds:
    # 980 + 30 reach R-DOR-5's 1,000 USD. Frozen, it cannot be moved to the panel balance.
    from billing.exceptions import AffiliateRefused
    from billing.services.affiliates import affiliate_transfer
    from billing.services.deposits import deposit_manual_create

    base, since = clock
    user = _inactive(deposited="980", promotional="5", since=since)
    friend = _affiliate(user, "30")
    type(user).objects.filter(pk=user.pk).update(last_activity_at=since)
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    frozen_at = base + timedelta(days=14, hours=1)
    _run(frozen_at, django_capture_on_commit_callbacks)

    case = DormancyCase.objects.get(user=user)
    assert case.state == State.FROZEN
    assert (case.frozen_deposited, case.frozen_affiliate, case.promo_forfeited) == (
        D("980"), D("30"), D("5"),
    )  # fmt: skip
    balance = balance_get(user=user)
    assert (balance.deposited, balance.affiliate, balance.frozen) == (D("0"), D("0"), D("1010"))
    assert case.forfeit_at == frozen_at + relativedelta(months=18)  # R-DOR-5
    # A commission earned while frozen is credited but cannot leave the Affiliate balance.
    deposit_manual_create(user=friend, amount=D("20"), memo="bank transfer")
    assert balance_get(user=user).affiliate == D("1.00")
    with pytest.raises(AffiliateRefused, match="frozen"):
        affiliate_transfer(user=user, amount=D("1.00"))
    with pytest.raises(WithdrawalRefused, match="frozen"):
        withdrawal_request(user=user)
    client.force_login(user)
    page = client.post(reverse("billing:affiliates"), {"amount": "1.00"}).content.decode()
    assert "Your balance is frozen after a long inactivity" in page
    assert balance_get(user=user).affiliate == D("1.00")
    page = client.get(reverse("billing:withdrawals")).content.decode()
    assert "$1,010.00 of Deposited Funds and Affiliate balance are frozen" in page

    # Restored on request (R-DOR-5): each part back where it was.
    dormancy_restore_request(user=user, now=frozen_at + relativedelta(months=2))
    balance = balance_get(user=user)
    assert (balance.deposited, balance.affiliate, balance.frozen) == (D("980"), D("31"), D("0"))
    assert balance.promotional == 0  # R-DOR-3: stays forfeited
    affiliate_transfer(user=user, amount=D("31"))
    assert balance_get(user=user).deposited == D("1011")
    assert_ledger_ok()


def test_an_affiliate_balance_alone_is_frozen_and_forfeited(
    clock, django_capture_on_commit_callbacks, assert_ledger_ok
):
    # R-DOR-1/2/4: an account whose only money is its Affiliate balance gets its case too;
    # under 1,000 USD it is forfeited 6 months after the freeze, then only staff restore it.
    base, since = clock
    user = UserFactory()
    _affiliate(user, "40")
    type(user).objects.filter(pk=user.pk).update(last_activity_at=since)
    _run(base + timedelta(minutes=1), django_capture_on_commit_callbacks)
    case = DormancyCase.objects.get(user=user)
    assert case.state == State.NOTICED
    frozen_at = base + timedelta(days=14, hours=1)
    _run(frozen_at, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert (case.state, case.frozen_deposited, case.frozen_affiliate) == (
        State.FROZEN, D("0"), D("40"),
    )  # fmt: skip
    assert (balance_get(user=user).affiliate, balance_get(user=user).frozen) == (0, D("40"))
    assert case.forfeit_at == frozen_at + relativedelta(months=6)  # R-DOR-4
    forfeitures = system_balance(Account.Kind.FORFEITURES)

    _run(case.forfeit_at - timedelta(days=14), django_capture_on_commit_callbacks)
    _run(case.forfeit_at + timedelta(hours=1), django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert (case.state, case.forfeited) == (State.FORFEITED, D("40"))
    assert system_balance(Account.Kind.FORFEITURES) - forfeitures == D("40")
    assert balance_get(user=user).frozen == 0
    dormancy_restore_goodwill(case_id=case.pk, actor=StaffFactory(), reason="asked by ticket")
    balance = balance_get(user=user)
    assert (balance.affiliate, balance.deposited) == (D("40"), D("0"))
    assert_ledger_ok()
