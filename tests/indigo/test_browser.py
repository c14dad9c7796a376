import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_page_switches_to_kazakh_and_back(browser_page, live_server):
    page = browser_page
    page.goto(f"{live_server.url}/ru/")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.get_by_role("heading", level=1).inner_text() == "Электронное распределение мест в детские сады"

    page.get_by_role("navigation", name="Язык").get_by_role("link", name="Қазақ").click()
    page.wait_for_url(f"{live_server.url}/kk/")
    assert page.locator("html").get_attribute("lang") == "kk"
    assert "балабақша" in page.get_by_role("heading", level=1).inner_text().lower()

    page.get_by_role("navigation", name="Тіл").get_by_role("link", name="Русский").click()
    page.wait_for_url(f"{live_server.url}/ru/")
    assert page.locator("html").get_attribute("lang") == "ru"


def test_keyboard_user_can_skip_to_the_main_content(browser_page, live_server):
    page = browser_page
    page.goto(f"{live_server.url}/en/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to main content"
