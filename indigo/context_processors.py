from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, get_language_info

from schedules.calendar import support_status


def portal(request):
    """What every page shows: support hours and whether support answers now (DOMAIN.md, People and security), and
    the language switch."""
    support = support_status(timezone.now())
    opens = None if support.open_now else date_format(timezone.localtime(support.opens_at), "l, j E, H:i")
    return {
        "support": support,
        "support_opens": in_sentence(opens) if opens else None,
        "language_links": language_links(request),
    }


# Weekday names are common nouns in Russian and Kazakh: capitalised at the start of a sentence only ("откроется в
# понедельник", "дүйсенбі"), while Django's catalogs give them capitalised, as English writes them.
LOWER_CASE_WEEKDAYS = ("ru", "kk")


def in_sentence(text: str) -> str:
    """A date that starts with the weekday, as written in the middle of a sentence in the active language."""
    return text[:1].lower() + text[1:] if get_language() in LOWER_CASE_WEEKDAYS else text


def language_links(request) -> list[dict]:
    """The current page in each language: its path with the other language prefix, the query string kept.

    Plain links, so the page's own prefix decides the language whatever the cookie or Accept-Language say (issue
    13: Django's set_language resolved the page under the cookie's language and kept a /kk/ page in Kazakh).
    A path without a language prefix (a machine endpoint, an error) leads to each language's home page."""
    codes = [code for code, _name in settings.LANGUAGES]
    _empty, first, *rest = request.path.split("/", 2)
    tail = rest[0] if first in codes and rest else ""
    query = request.META.get("QUERY_STRING", "")
    current = get_language()
    return [
        {
            "code": code,
            "name": get_language_info(code)["name_local"],
            "url": f"/{code}/{tail}" + (f"?{query}" if query else ""),
            "current": code == current,
        }
        for code in codes
    ]
