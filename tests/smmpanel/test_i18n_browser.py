"""The language switcher in the footer, in Chromium (issue 14): a visitor picks Español and
the page comes back in Spanish, then English again; the choice sticks across pages."""

import pytest
from django.utils import translation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _back_to_english():
    yield
    translation.deactivate()


def test_switcher_shows_the_page_in_spanish(page):
    page.goto("/services/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").first.inner_text() == "Services"
    switcher = page.locator("#language-switcher")
    switcher.get_by_role("button", name="Español").click()
    page.wait_for_url("**/services/")
    page.wait_for_function("document.documentElement.lang === 'es'")
    assert page.locator("h1").first.inner_text() == "Servicios"
    assert page.locator("nav").get_by_role("link", name="Iniciar sesión").is_visible()
    # the choice is remembered on the next page
    page.goto("/")
    assert page.get_by_role("link", name="Crear una cuenta").is_visible()
    assert switcher.locator("[aria-current=true]").inner_text() == "Español"
    switcher.get_by_role("button", name="English").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.get_by_role("link", name="Create an account").is_visible()
