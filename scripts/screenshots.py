"""Phone screenshots of the demo for the README (issue 13): the registry and the cabinet of the demo parent who may
take places now, at 390x844 in Russian, in Debian's chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

It builds the demo in a directory of its own (the embedded default: SQLite, never your var/ or DATABASE_URL), runs
the web server there on a free port, logs the demo parent in and saves one PNG per page.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHONE = {"width": 390, "height": 844}
# (file, path, the element scrolled to the top of the screen: the page's key fact under its heading)
SHOTS = [
    ("registry-phone.png", "/ru/registry/", "#chances-title"),
    ("cabinet-phone.png", "/ru/cabinet/", "article.child-card:has(.eligible)"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local server
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the web server did not answer at {url}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("Debian's chromium is needed (scripts/ensure-chromium.sh)")

    var_dir = tempfile.mkdtemp(prefix="indigo-screenshots-")
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ.update({"INDIGO_VAR_DIR": var_dir, "DJANGO_SETTINGS_MODULE": "indigo.settings", "LOG_LEVEL": "WARNING"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from placement.demo import DEMO_PARENT_LOGIN_PHONE, demo_seed

    call_command("migrate", verbosity=0)
    demo_seed()
    client = Client()
    client.force_login(get_user_model().objects.get(phone=DEMO_PARENT_LOGIN_PHONE))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"{base}/healthz")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            context = browser.new_context(viewport=PHONE, locale="ru-RU")
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])
            page = context.new_page()
            for filename, path, anchor in SHOTS:
                page.goto(base + path)
                page.evaluate(
                    "(anchor) => window.scrollTo(0, document.querySelector(anchor).getBoundingClientRect().top"
                    " + window.scrollY - 8)",
                    anchor,
                )
                page.screenshot(path=str(out / filename))
                print(out / filename)
            browser.close()
    finally:
        web.terminate()
        web.wait(timeout=20)
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
