"""Pages stay light (issue 13, Done when): no page of the public side or of the cabinet weighs more than 60 KB of
HTML and CSS, and the public pages carry no JavaScript."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 60 * 1024
STYLESHEET = re.compile(r'<link rel="stylesheet" href="/static/([^"]+)"')


def weight(html: bytes) -> int:
    """The page's HTML and every stylesheet it links, in bytes."""
    sheets = STYLESHEET.findall(html.decode())
    return len(html) + sum((Path(settings.BASE_DIR) / "static" / sheet).stat().st_size for sheet in sheets)


def test_public_and_cabinet_pages_weigh_at_most_60_kb_of_html_and_css(phone_world):
    world = phone_world
    public = [
        "/ru/",
        "/kk/registry/",
        "/ru/registry/?access=general",
        "/ru/protocol/",
        "/kk/protocol/?days=all",
        f"/ru/protocol/temirtau/{world.protocol_day.isoformat()}/",
        f"/ru/schedule/temirtau/{world.schedule_year}/",
        f"/kk/queue/?number={world.application.number}",
        "/ru/accounts/sms/",
        "/ru/accounts/login/",
    ]
    cabinet = [
        "/ru/cabinet/",
        "/kk/registry/",
        "/ru/registry/?view=all",
        "/ru/cabinet/children/add/",
        "/kk/cabinet/apply/",
        f"/ru/cabinet/referrals/{world.referral.number}/",
    ]
    visitor, parent = Client(), Client()
    parent.force_login(world.parent)
    heavy = {}
    for client, paths in ((visitor, public), (parent, cabinet)):
        for path in paths:
            response = client.get(path, follow=True)
            assert response.status_code == 200, path
            html = response.content
            assert STYLESHEET.search(html.decode()), path
            if weight(html) > LIMIT:
                heavy[path] = weight(html)
            if client is visitor:
                assert b"<script" not in html, f"{path} carries JavaScript"
    assert heavy == {}
