"""Production headers, the Content-Security-Policy and no debug pages (issue 7, Production settings)."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path

from indigo.middleware import HEADER as CSP

pytestmark = pytest.mark.django_db

TEMPLATES = Path(django_settings.BASE_DIR) / "templates"


@pytest.fixture
def production(settings):
    """The values DEBUG=0 gives (indigo/settings.py, Security), except the HTTPS redirect the test client cannot
    follow: it answers over plain HTTP."""
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.ALLOWED_HOSTS = ["portal.example.kz"]
    return Client(HTTP_HOST="portal.example.kz", **{"wsgi.url_scheme": "https"})


def directives(header: str) -> dict[str, list[str]]:
    result = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            result[words[0]] = words[1:]
    return result


@pytest.mark.parametrize("url", ["/ru/", "/kk/registry/", "/en/protocol/", "/api/v1/registry/", "/healthz"])
def test_production_responses_carry_hsts_frame_sniffing_referrer_and_csp_headers(production, url):
    response = production.get(url, secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    policy = directives(response[CSP])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]


def test_no_inline_script_anywhere_but_the_api_docs(production, admin_user):
    production.force_login(admin_user)
    admin = production.get("/ru/admin/", secure=True)
    assert admin.status_code == 200
    assert "'unsafe-inline'" not in admin[CSP]
    docs = production.get("/api/docs/", secure=True)
    assert docs.status_code == 200
    # Swagger UI's start-up script is inline and embeds the CSRF token: this page alone allows inline code.
    assert "'unsafe-inline'" in directives(docs[CSP])["script-src"]
    assert directives(docs[CSP])["frame-ancestors"] == ["'none'"]


def test_session_and_csrf_cookies_are_secure_and_the_session_cookie_is_http_only(production, admin_user):
    response = production.post(
        "/ru/accounts/login/", {"username": admin_user.username, "password": "password"}, secure=True
    )
    assert response.status_code == 302
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"]
    page = production.get("/ru/accounts/login/", secure=True)
    csrf = page.cookies.get(django_settings.CSRF_COOKIE_NAME)
    assert csrf is None or csrf["secure"]


def test_the_admin_works_under_the_policy(admin_client):
    """The admin's pages load only scripts from static files (no inline code for the policy to block)."""
    response = admin_client.get("/ru/admin/placement/kindergarten/add/")
    assert response.status_code == 200
    assert not inline_scripts(response.content.decode())


# --- Templates ---------------------------------------------------------------------------------------------

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
DATA_SCRIPT_TYPES = ("application/json", "application/ld+json", "text/template")


def inline_scripts(html: str) -> list[str]:
    """Scripts the browser would run from the page's own text (JSON data blocks do not run)."""
    found = []
    for attributes, body in SCRIPT.findall(html):
        if any(kind in attributes for kind in DATA_SCRIPT_TYPES):
            continue
        if body.strip():
            found.append(body.strip()[:80])
    return found


def all_templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_there_are_templates_to_check():
    assert len(all_templates()) > 10


@pytest.mark.parametrize("template", all_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_code_or_an_event_handler_attribute(template):
    text = template.read_text()
    assert inline_scripts(text) == []
    assert EVENT_HANDLER.findall(text) == []
    assert "javascript:" not in text.lower()
    assert not re.search(r"<style\b|\sstyle\s*=", text, re.IGNORECASE), "inline styles are blocked by style-src"


# --- No debug pages ----------------------------------------------------------------------------------------


def boom(request):
    raise RuntimeError("secret detail of a failure")


urlpatterns = [path("boom/", boom)]


def test_a_404_under_debug_off_is_the_plain_page_not_the_debug_one(production):
    response = production.get("/ru/no-such-page/", secure=True)
    assert response.status_code == 404
    body = response.content.decode()
    assert "URLconf" not in body and "Traceback" not in body and "DEBUG = True" not in body


def test_a_500_under_debug_off_shows_no_traceback(production, settings):
    settings.ROOT_URLCONF = __name__
    production.raise_request_exception = False
    response = production.get("/boom/", secure=True)
    assert response.status_code == 500
    body = response.content.decode()
    assert "secret detail" not in body and "Traceback" not in body and "RuntimeError" not in body


# --- In a browser: the policy breaks neither the admin nor the API docs -------------------------------------


@pytest.mark.browser
def test_the_admin_and_the_api_docs_run_in_a_browser_without_policy_violations(browser_page, live_server, admin_user):
    violations = []
    browser_page.on(
        "console", lambda message: "Content Security Policy" in message.text and violations.append(message.text)
    )
    browser_page.goto(f"{live_server.url}/ru/admin/login/")
    browser_page.fill("#id_username", admin_user.username)
    browser_page.fill("#id_password", "password")
    browser_page.click("input[type=submit]")
    browser_page.goto(f"{live_server.url}/ru/admin/placement/kindergarten/add/")
    # modeltranslation's language tabs are built by jQuery UI from static files.
    browser_page.wait_for_selector(".ui-tabs-nav")
    assert violations == []
    browser_page.goto(f"{live_server.url}/api/docs/")
    browser_page.wait_for_selector(".swagger-ui .info .title")
    assert "INDIGO API" in browser_page.inner_text(".swagger-ui .info .title")
    assert violations == []
