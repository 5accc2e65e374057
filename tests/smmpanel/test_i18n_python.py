"""Languages (issue 14), beyond the templates: the strings Python builds for customers (form
labels and errors, refusals, notices) are marked for translation and have Spanish; the
visitor pages render in Spanish too; a notice is written, and mailed, in the language the
customer chose with the switcher."""

import ast
import html
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from tests.smmpanel.test_i18n import PO, ROOT, po_catalog, visible_text

# What makemessages reads for Python (docs/ARCHITECTURE.md "Languages"): every .py but these.
NOT_SCANNED = {".venv", "var", "tests", "node_modules", ".git"}
GETTEXT_CALLS = {"_", "gettext", "gettext_lazy", "gettext_noop"}


@pytest.fixture(autouse=True)
def _back_to_english():
    yield
    translation.deactivate()


def python_msgids() -> dict[str, str]:
    """msgid -> where, for every ``_("...")`` / ``gettext*("...")`` in the project's Python."""
    found: dict[str, str] = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if NOT_SCANNED & set(relative.parts) or "admin" in relative.parts[:-1]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            marked = name in GETTEXT_CALLS and isinstance(first, ast.Constant)
            if marked and isinstance(first.value, str) and first.value:
                found.setdefault(first.value, f"{relative}:{node.lineno}")
    return found


def test_every_python_msgid_has_a_spanish_translation():
    """A string marked in Python (a form label, a refusal, a notice) is in the catalog with
    Spanish: the template test alone never looked at Python."""
    catalog = po_catalog()
    msgids = python_msgids()
    assert len(msgids) > 250
    missing = sorted(f"{where}: {m!r}" for m, where in msgids.items() if not catalog.get(m))
    assert not missing, f"no Spanish in locale/es/LC_MESSAGES/django.po: {missing}"


def test_the_catalog_has_no_empty_or_fuzzy_entry():
    text = PO.read_text()
    assert "#, fuzzy" not in text.split("\n\n", 1)[1], "a fuzzy entry is not a translation"
    assert "\n#~" not in text, "obsolete entries belong deleted (makemessages does it)"
    empty = sorted(msgid for msgid, msgstr in po_catalog().items() if not msgstr)
    assert not empty, f"no Spanish yet: {empty}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")
def test_makemessages_finds_nothing_untranslated(tmp_path):
    """``manage.py makemessages`` (the command of docs/ARCHITECTURE.md), run on a copy of the
    project, leaves the catalog as committed: no new msgid, and every msgstr filled."""
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(*NOT_SCANNED, "static", "__pycache__", "*.mo", "docs"),
        symlinks=True,
    )
    command = [
        sys.executable, "manage.py", "makemessages", "-l", "es", "--no-location",
        "--ignore=.venv", "--ignore=var", "--ignore=tests", "--ignore=*/admin/*",
        "--ignore=templates/support/desk/*", "--ignore=templates/stats/*",
    ]  # fmt: skip
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "smmpanel.settings_test"}
    subprocess.run(command, cwd=copy, env=environment, check=True, capture_output=True)
    made = po_catalog_of(copy / PO.relative_to(ROOT))
    committed = po_catalog()
    assert sorted(set(made) - set(committed)) == [], "run makemessages and translate these"
    assert sorted(set(committed) - set(made)) == [], "run makemessages: these are gone"
    assert made == committed


def po_catalog_of(path: Path) -> dict[str, str]:
    import tests.smmpanel.test_i18n as i18n

    original = i18n.PO
    i18n.PO = path
    try:
        return i18n.po_catalog()
    finally:
        i18n.PO = original


def english_left(text: str, data=()) -> list[str]:
    """Catalog phrases (several words, Spanish different) still shown in English."""
    for value in sorted({v for v in data if v}, key=len, reverse=True):
        text = text.replace(value, " ")
    return [
        msgid
        for msgid, msgstr in po_catalog().items()
        if msgstr and msgstr != msgid and len(msgid) >= 12 and " " in msgid and msgid in text
    ]


def document_texts() -> list[str]:
    """Legal documents are published by staff as written: data, not interface."""
    from legal.models import Document

    lines = [
        re.sub(r"\s+", " ", line).strip()
        for body in Document.objects.values_list("body", flat=True)
        for line in body.splitlines()
    ]
    return [*Document.objects.values_list("title", flat=True), *lines]


@pytest.mark.django_db
def test_visitor_pages_render_in_spanish(client):
    """Sign-in, sign-up, password reset, the legal documents and the abuse form, in Spanish:
    the sign-up form's own label and errors (Python, not the template) included."""
    from tests.customer_pages import demo_customer

    demo_customer()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    urls = [
        "/",
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
        reverse("abuse:report"),
        *(reverse("legal:document", args=[kind]) for kind in ("terms", "aup", "privacy")),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == "es", url
        text = visible_text(response.content.decode())
        assert not english_left(text, document_texts()), (url, english_left(text))
    signup = visible_text(client.get(reverse("account_signup")).content.decode())
    assert "I accept the" not in signup
    assert "Acepto los Términos del servicio" in signup
    refused = visible_text(client.post(reverse("account_signup"), {}).content.decode())
    assert "You must" not in refused
    assert "Debes tener 18 años o más para usar el panel." in refused
    assert "Debes aceptar los Términos del servicio para registrarte." in refused


@pytest.mark.django_db
def test_python_built_customer_texts_are_spanish(client, settings):
    """The English that Python used to build for customers is gone from their Spanish pages:
    Add Funds' help texts, the privacy page's form, New Order's and Mass Order's errors,
    the ticket form's help texts, and more of the customer's pages."""
    from tests.customer_pages import demo_customer

    user = demo_customer()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    # Add Funds shows its form only with card payments set up (no Stripe call on GET).
    settings.STRIPE_SECRET_KEY = "sk_test_panel"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_panel"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_panel"
    english = {
        reverse("billing:add_funds"): ["From $", "Optional: its bonus"],
        reverse("accounts:privacy"): ["What is wrong", "Your password", "to confirm"],
        reverse("support:new"): ["PNG, JPEG, GIF or WebP, up to", "days after it is"],
        reverse("abuse:report"): ["PNG, JPEG, GIF or WebP, up to"],
        reverse("orders:refills"): [],
        reverse("billing:account_close"): [],
        reverse("billing:withdrawals"): [],
        reverse("billing:affiliates"): [],
    }
    for url, phrases in english.items():
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        assert not [p for p in phrases if p in text], (url, [p for p in phrases if p in text])
        assert not english_left(text, document_texts()), (url, english_left(text))
    add_funds = visible_text(client.get(reverse("billing:add_funds")).content.decode())
    assert "Opcional: su bonificación se añade como Crédito promocional." in add_funds
    assert re.search(r"De \$\d+\.\d\d a \$[\d,]+\.\d\d\.", add_funds)
    lines = "1|https://a.example/x|100\nx|y|z\n"
    mass = html.unescape(client.post(reverse("orders:mass"), {"orders": lines}).content.decode())
    assert "Escríbelo así" in mass or "El ID de servicio debe ser un número." in mass
    assert "The service ID must be a number." not in mass
    wrong = client.post(reverse("accounts:privacy_delete"), {"password": "x", "confirm": "no"})
    refused = html.unescape(wrong.content.decode())
    assert "Esa no es tu contraseña." in refused
    assert "Escribe DELETE en mayúsculas para confirmar." in refused


@pytest.mark.django_db
def test_the_switcher_keeps_the_signed_in_customers_language(client, customer):
    client.force_login(customer)
    client.post(reverse("set_language"), {"language": "es", "next": "/dashboard/"})
    customer.refresh_from_db()
    assert customer.language == "es"
    client.post(reverse("set_language"), {"language": "xx", "next": "/dashboard/"})
    customer.refresh_from_db()
    assert customer.language == "es"  # an unknown language changes nothing
    client.post(reverse("set_language"), {"language": "en", "next": "/dashboard/"})
    customer.refresh_from_db()
    assert customer.language == "en"


@pytest.mark.django_db
def test_signup_keeps_the_language_of_the_page(client, terms):
    from accounts.models import User

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    response = client.post(
        reverse("account_signup"),
        {
            "username": "nueva",
            "email": "nueva@example.com",
            "password1": "a-Long-pass-9871",
            "password2": "a-Long-pass-9871",
            "is_adult": "on",
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(username="nueva").language == "es"


@pytest.mark.django_db
def test_a_notice_is_written_and_mailed_in_the_customers_language(
    customer, django_capture_on_commit_callbacks
):
    """An order that ends Partial, told by a worker running in English: the notice and its
    mail are Spanish for a customer who chose Spanish, English for one who did not, and money
    keeps its one display rule."""
    from accounts.models import Notice
    from orders.services import order_staff_partial
    from tests.billing.factories import fund
    from tests.catalog.factories import ServiceFactory
    from tests.factories import UserFactory
    from tests.orders.factories import place

    customer.language = "es"
    customer.save(update_fields=["language"])
    other = UserFactory()
    service = ServiceFactory(rate=Decimal("3.15"), min_quantity=10)
    staff = UserFactory(is_staff=True)
    for user in (customer, other):
        fund(user, deposited="10")
        order = place(user, service, quantity=100)
        with django_capture_on_commit_callbacks(execute=True):
            order_staff_partial(order_id=order.pk, remains=50, actor=staff, reason="test")
    spanish = Notice.objects.get(user=customer, kind="order_partial")
    assert spanish.subject.startswith("El pedido #")
    assert "terminó Parcial: $0.1575 devueltos" in spanish.subject
    assert "volvieron a tu saldo" in spanish.body
    english = Notice.objects.get(user=other, kind="order_partial")
    assert english.subject.endswith("ended Partial: $0.1575 returned")
    sent = {message.to[0]: message for message in mail.outbox}
    to_customer, to_other = sent[customer.email], sent[other.email]
    assert "terminó Parcial" in to_customer.subject
    assert "volvieron a tu saldo" in to_customer.body
    assert "Recibes este correo de" in to_customer.body
    assert '<html lang="es">' in to_customer.alternatives[0][0]
    assert "Ábrelo en tu cuenta" in to_customer.alternatives[0][0]
    assert "ended Partial" in to_other.subject
    assert '<html lang="en' in to_other.alternatives[0][0]


@pytest.mark.django_db
def test_money_out_refusals_are_spanish(customer):
    """Closing the account, restoring a frozen balance, moving the Affiliate balance: the
    customer's refusals in their language (R-ACC-6, R-DOR-4, R-PRO-3)."""
    from billing.exceptions import AffiliateRefused, ClosureRefused, DormancyRefused
    from billing.services.affiliates import affiliate_transfer
    from billing.services.closure import account_close
    from billing.services.dormancy import dormancy_restore_request

    with translation.override("es"):
        with pytest.raises(ClosureRefused) as closing:
            account_close(user=customer, confirmation="someone else")
        with pytest.raises(DormancyRefused) as restoring:
            dormancy_restore_request(user=customer)
        with pytest.raises(AffiliateRefused) as moving:
            affiliate_transfer(user=customer, amount=Decimal("1"))
    assert closing.value.message == "Escribe tu nombre de usuario exactamente para confirmar."
    assert restoring.value.message == "Tu saldo no está congelado."
    assert moving.value.message == "Eso es más que tu saldo de afiliado."
