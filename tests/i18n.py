"""Pages in a language: a page's address in it, its visible text, and the checks that a page is fully translated
(its visible text against the catalogs and against English)."""

from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po
from django.conf import settings
from django.urls import reverse
from django.utils import translation

# Words that are the same in every language on purpose: the portal's name, the languages' own names.
SAME_IN_EVERY_LANGUAGE = {"INDIGO", "Русский", "Қазақ", "English", "·", "API"}


class _TextCollector(HTMLParser):
    VISIBLE_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt", "value"}

    def __init__(self):
        super().__init__()
        self.segments: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._skip += 1
        attributes = dict(attrs)
        hidden_input = tag == "input" and attributes.get("type") == "hidden"
        for name, value in attrs:
            if value and name in self.VISIBLE_ATTRIBUTES and not hidden_input and name != "value":
                self.segments.append(value.strip())
            if tag == "input" and name == "value" and attributes.get("type") in {"submit", "button"} and value:
                self.segments.append(value.strip())

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self._skip -= 1

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self._skip:
            self.segments.append(text)


def visible_text(html: str) -> list[str]:
    collector = _TextCollector()
    collector.feed(html)
    return collector.segments


def text_of(response) -> str:
    """A page's visible text, in one line."""
    return " ".join(visible_text(response.content.decode()))


def url(name: str, language: str = "ru", query: str = "", **kwargs) -> str:
    """The address of the placement page `name` in `language`, with `query` (already encoded) if given."""
    with translation.override(language):
        path = reverse(f"placement:{name}", kwargs=kwargs or None)
    return f"{path}?{query}" if query else path


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def catalog(language: str):
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def untranslated_segments(page_html: str, english_html: str) -> list[str]:
    """Segments of a ru/kk page that are still the English source text."""
    english = {s for s in visible_text(english_html) if has_letters(s)}
    return sorted(
        s for s in visible_text(page_html) if has_letters(s) and s in english and s not in SAME_IN_EVERY_LANGUAGE
    )
