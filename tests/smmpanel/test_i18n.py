"""Languages (issue 14): English + Spanish. The template strings, the Spanish catalog and its
compiled .mo agree; the customer pages render in Spanish with no English UI phrase left; the
API keeps its English error wording (the contract) whatever the Accept-Language."""

import gettext
import html
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from tests.customer_pages import customer_urls, demo_customer

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
PO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.mo"
# Operator-only templates may stay English.
ENGLISH_ONLY = ("admin", "desk", "stats", "allauth")
TRANSLATE_TAG = re.compile(r"""{%\s*translate\s+(?:"([^"]*)"|'([^']*)')\s*%}""")
# Tokens that are not text a customer reads: template tags, comments, markup, code samples.
TOKEN = re.compile(
    r"({%.*?%}|{{.*?}}|{#.*?#}|<pre.*?</pre>|<code.*?</code>|<script.*?</script>"
    r"|<style.*?</style>|<!--.*?-->|<[^>]*>)",
    re.S,
)
BLOCK_TRANSLATE = re.compile(r"{%\s*blocktranslate\b[^%]*%}(.*?){%\s*endblocktranslate\s*%}", re.S)
# Blocks whose content is a CSS class, not text; blocktranslate bodies are translated.
NOT_TEXT = re.compile(r"{% block main_class %}[^{]*{% endblock %}|" + BLOCK_TRANSLATE.pattern, re.S)
# Attributes a customer reads (tooltips, confirmations, labels of stacked cards...).
READ_ATTRIBUTE = re.compile(
    r'\b(?:title|placeholder|aria-label|alt|data-confirm|data-label)="([^"]*)"'
)
# Customer extra pages beyond tests/customer_pages.PAGES.
EXTRA_PAGES = ["billing:withdrawals", "accounts:privacy", "billing:affiliates", "support:new"]


@pytest.fixture(autouse=True)
def _back_to_english():
    """A Spanish request leaves the thread's language active: later tests expect English."""
    yield
    translation.deactivate()


def customer_templates() -> list[Path]:
    return [
        path
        for path in sorted(TEMPLATES.rglob("*.html"))
        if not set(path.relative_to(TEMPLATES).parts[:-1]) & set(ENGLISH_ONLY)
    ]


def template_msgids() -> set[str]:
    found = set()
    for path in customer_templates():
        for double, single in TRANSLATE_TAG.findall(path.read_text()):
            # Django's {% translate %} doubles % for its python-format msgid.
            found.add((double or single).replace("%", "%%"))
        for body in BLOCK_TRANSLATE.findall(path.read_text()):
            found.add(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", body))
    return found


def po_catalog() -> dict[str, str]:
    """msgid -> msgstr of the .po (no plurals or contexts are used)."""
    catalog: dict[str, str] = {}
    key = None
    current = None
    msgid = ""
    msgstr = ""

    def unquote(line: str) -> str:
        return line.strip()[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")

    for line in [*PO.read_text().splitlines(), ""]:
        if line.startswith("msgid "):
            if key is not None and msgid:
                catalog[msgid] = msgstr
            msgid, msgstr, current, key = unquote(line[6:]), "", "id", True
        elif line.startswith("msgstr "):
            msgstr, current = unquote(line[7:]), "str"
        elif line.startswith('"'):
            if current == "id":
                msgid += unquote(line)
            elif current == "str":
                msgstr += unquote(line)
        elif not line.strip() and key is not None:
            if msgid:
                catalog[msgid] = msgstr
            key, current, msgid, msgstr = None, None, "", ""
    return catalog


def test_every_template_string_has_a_spanish_translation():
    catalog = po_catalog()
    msgids = template_msgids()
    assert len(msgids) > 300
    missing = sorted(m for m in msgids if m not in catalog)
    empty = sorted(m for m in msgids if catalog.get(m) == "")
    assert not missing, f"not in locale/es/LC_MESSAGES/django.po (run makemessages): {missing}"
    assert not empty, f"no Spanish text yet: {empty}"


def test_compiled_catalog_is_up_to_date():
    """The committed .mo holds exactly the .po's translations (run compilemessages)."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    compiled = {k: v for k, v in compiled.items() if k}
    expected = {k: v for k, v in po_catalog().items() if v}
    # msgfmt stores the %%-escaped form Django extracted: compare like with like.
    assert compiled == expected


def test_no_customer_template_has_text_outside_translate():
    """A new English sentence in a customer template must be marked for translation."""
    leftovers = []
    for path in customer_templates():
        source = NOT_TEXT.sub("", path.read_text())
        for text in TOKEN.split(source)[::2]:
            words = re.sub(r"&[a-z]+;", " ", text)
            if re.search(r"[A-Za-z]{2}", words):
                leftovers.append(f"{path.relative_to(TEMPLATES)}: {text.strip()!r}")
        leftovers.extend(
            f"{path.relative_to(TEMPLATES)}: attribute {value!r}"
            for value in READ_ATTRIBUTE.findall(source)
            if re.search(r"[A-Za-z]{2}", re.sub(r"{%.*?%}|{{.*?}}|\bUTC\b", "", value))
        )
    assert not leftovers, leftovers


def visible_text(body: str) -> str:
    body = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.django_db
def test_customer_pages_render_in_spanish(client):
    user = demo_customer()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    urls = customer_urls(user)
    for name in EXTRA_PAGES:
        try:
            urls.append(reverse(name))
        except NoReverseMatch:
            continue
    from support.models import Ticket

    urls += [
        reverse("support:detail", args=[pk])
        for pk in Ticket.objects.filter(user=user).values_list("pk", flat=True)[:2]
    ]
    # Phrases of several words whose Spanish differs: the English must not show.
    catalog = po_catalog()
    phrases = [
        msgid.replace("%%", "%")
        for msgid, msgstr in catalog.items()
        if msgstr and msgstr != msgid and len(msgid) >= 12 and " " in msgid
    ]
    assert len(phrases) > 150
    # Data is not UI: service and category names come from the providers as they are, ledger
    # memos, order history notes and notices are stored as written.
    from accounts.models import Notice
    from billing.models import Transaction
    from catalog.models import Category, Service
    from orders.models import OrderEvent

    data = sorted(
        {*Service.objects.values_list("name", flat=True)}
        | {*Category.objects.values_list("name", flat=True)}
        | {*Transaction.objects.values_list("memo", flat=True)}
        | {*OrderEvent.objects.values_list("note", flat=True)}
        | {*Notice.objects.values_list("subject", flat=True)}
        | {*Notice.objects.values_list("body", flat=True)},
        key=len,
        reverse=True,
    )
    seen_spanish = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == "es", url
        text = visible_text(response.content.decode())
        for name in data:
            text = text.replace(name, " ")
        left = [phrase for phrase in phrases if phrase in text]
        assert not left, f"{url} still shows English: {left}"
        # Money keeps its one display rule (billing.money.usd_text) in Spanish too.
        assert not re.search(r"\$\d+,\d{1,2}(?!\d)", text), f"{url}: a decimal comma in money"
        seen_spanish += "Pedidos" in text
    assert seen_spanish == len(urls)  # the navbar at least, on every page


@pytest.mark.django_db
def test_accept_language_picks_spanish_for_visitors(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert response.headers["Content-Language"] == "es"
    assert "Crear una cuenta" in response.content.decode()
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Create an account" in english.content.decode()


@pytest.mark.django_db
def test_language_switcher_sets_spanish(client):
    response = client.post(reverse("set_language"), {"language": "es", "next": "/services/"})
    assert response.status_code == 302
    assert response["Location"] == "/services/"
    page = client.get("/services/").content.decode()
    assert "Servicios y precios" in page
    assert 'id="language-switcher"' in page
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.django_db
def test_api_errors_stay_english_in_spanish(client):
    """The API's error strings are the contract: English whatever the Accept-Language."""
    response = client.post(
        "/api/v2", {"key": "not-a-key", "action": "balance"}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.json() == {"error": "Invalid API key"}
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    response = client.post("/api/v2", {"action": "balance"}, HTTP_ACCEPT_LANGUAGE="es")
    assert "error" in response.json()
    assert response.json()["error"].isascii()


@pytest.mark.django_db
def test_view_messages_are_spanish_and_money_keeps_its_rule(client):
    from decimal import Decimal

    from tests.catalog.factories import ServiceFactory
    from tests.orders.factories import funded_customer, place

    user = funded_customer(deposited="5")
    service = ServiceFactory(rate=Decimal("2.00"), min_quantity=10, cancel=True)
    order = place(user, service, quantity=1000)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = client.post(reverse("orders:cancel", args=[order.pk]), follow=True).content.decode()
    assert f"El pedido #{order.pk} está cancelado; $2.00 ha vuelto." in html.unescape(page)


@pytest.mark.django_db
def test_withdrawal_and_affiliate_form_errors_are_spanish(client, customer):
    # The two page errors the views write themselves (R-WDR-3's confirmation, R-PRO-3's move).
    client.force_login(customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    withdrawals = client.post(reverse("billing:withdrawals"), {"expected_amount": "x"})
    assert "Revisa el importe y vuelve a confirmar." in html.unescape(withdrawals.content.decode())
    affiliates = client.post(reverse("billing:affiliates"), {"amount": "diez"})
    assert "Escribe un importe en dólares y centavos." in html.unescape(affiliates.content.decode())


@pytest.mark.django_db
def test_new_order_refusal_and_script_texts_are_spanish(client):
    """A New Order refusal (the service's message) and the script's texts (data-text-* on the
    form, translated by the template) render in Spanish; the API keeps its English wording."""
    from decimal import Decimal

    from tests.catalog.factories import ServiceFactory
    from tests.orders.factories import funded_customer

    user = funded_customer(deposited="5")
    service = ServiceFactory(rate=Decimal("1.00"), min_quantity=50, max_quantity=1000)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    form = client.get(reverse("orders:new")).content.decode()
    assert 'data-text-min="El mínimo de este servicio es {min}."' in form
    assert 'data-text-max="El máximo de este servicio es {max}."' in form
    assert 'data-text-runs="{count} x {runs} tandas."' in form
    assert 'data-text-per-thousand="por 1.000"' in form
    link = "https://www.instagram.com/p/abc/"
    data = {"service": service.pk, "link": link, "quantity": "10"}
    page = html.unescape(client.post(reverse("orders:new"), data).content.decode())
    assert "El mínimo de este servicio es 50." in page
    assert "The minimum for this service is" not in page
    refused = html.unescape(
        client.post(reverse("orders:new"), {**data, "quantity": "99999"}).content.decode()
    )
    assert "El máximo de este servicio es 1000." in refused
    wrong_link = html.unescape(
        client.post(
            reverse("orders:new"), {**data, "link": "https://example.com/x", "quantity": "100"}
        ).content.decode()
    )
    assert "Este servicio necesita un enlace de este tipo:" in wrong_link


def test_domain_refusals_default_to_the_active_language():
    """A refusal without its own message shows its default in the customer's language; the
    API's wording (``api_message``) stays English."""
    from billing.exceptions import InsufficientFunds
    from orders.exceptions import CANNOT_CANCEL, CancelRefused

    with translation.override("es"):
        refused = CancelRefused()
        funds = InsufficientFunds(required=1, available=0)
    assert refused.message == "Este pedido no se puede cancelar."
    assert refused.api_message == CANNOT_CANCEL == "Order cannot be canceled"
    assert funds.message == "No hay fondos suficientes en el saldo."
    with translation.override("en"):
        assert CancelRefused().message == "This order cannot be canceled."


def test_ticket_and_deposit_refusals_are_spanish():
    from decimal import Decimal

    from billing.exceptions import DepositRefused
    from billing.services.deposits import deposit_amount_check
    from support.exceptions import OrderIdsRefused
    from support.services.tickets import order_ids_parse

    with translation.override("es"):
        with pytest.raises(OrderIdsRefused) as ids:
            order_ids_parse("12, abc")
        with pytest.raises(DepositRefused) as small:
            deposit_amount_check(amount=Decimal("0.01"))
    assert ids.value.message == "«abc» no es un número de pedido; escribe números como 1234."
    assert small.value.message.startswith("El depósito mínimo es $")
