"""Public pages: the free-places registry and the release protocol (no login)."""

from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.forms.utils import flatatt
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views import View

from accounts.permissions import is_cabinet_holder
from schedules.calendar import astana, support_changes_at

from .. import exports, registry_cache
from ..errors import ProtocolMissing
from ..models import City, GroupType, Language
from ..selectors import protocols, registry
from ..selectors.claims import BundleChoice, registry_choices
from ..selectors.offer_pages import city_offers
from ..selectors.offers import protocol_allocation
from ..selectors.parents import claimable_applications

REGISTRY_PAGE_SIZE = 25
FILTERS = ("birth_year", "language", "group_type", "access", "kindergarten")  # the registry's, besides the city
PROTOCOL_DAYS_PAGE_SIZE = 31

ACCESS_CHOICES = [("priority", _("Priority access")), ("general", _("General access"))]


def _any(label):
    return [("", label)]


class PlainSelect(forms.Select):
    """A <select> built by joining strings. The kindergarten filter has one option per kindergarten of the city
    (hundreds), and Django's Select renders each option through a template of its own (most of the page's time)."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        options = "".join(
            f'<option value="{escape(str(option))}"{" selected" if str(option) in chosen else ""}>'
            f"{escape(str(label))}</option>"
            for option, label in self.choices
        )
        final_attrs = {"name": name, **self.build_attrs(self.attrs, attrs)}
        return mark_safe(f"<select{flatatt(final_attrs)}>{options}</select>")  # noqa: S308 - every part is escaped


class OptionsSelect(forms.Select):
    """A <select> whose options come rendered (cached with the registry, see `registry_filter_choices`): the
    kindergarten filter has one option per kindergarten of the city, hundreds of them."""

    options_html = ""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = "" if value in (None, "") else escape(str(value))
        options = self.options_html.replace(f'<option value="{chosen}">', f'<option value="{chosen}" selected>', 1)
        final_attrs = {"name": name, **self.build_attrs(self.attrs, attrs)}
        return mark_safe(f"<select{flatatt(final_attrs)}>{options}</select>")  # noqa: S308 - escaped when rendered


def _filter(label, invalid, *, field=forms.ChoiceField, widget=PlainSelect, **options):
    """An optional filter: a value that does not parse is reported with `invalid` and left out of the search."""
    errors = {"invalid": invalid, "invalid_choice": invalid}  # a number that is no number, or a choice not offered
    return field(label=label, required=False, widget=widget, error_messages=errors, **options)


class RegistryFilterForm(forms.Form):
    """The registry's GET filters. Values that do not parse are reported and left out of the search.

    The choices come from `registry_filter_choices` (cached with the registry), so validating needs no query."""

    city = _filter(_("City"), _("There is no such city."))
    birth_year = _filter(
        _("Birth year (age)"),
        _("Choose a birth year from the list."),
        field=forms.TypedChoiceField,
        coerce=int,
        empty_value=None,
    )
    language = _filter(
        _("Language of instruction"),
        _("Choose a language from the list."),
        choices=_any(_("Any language")) + list(Language.choices),
    )
    group_type = _filter(
        _("Group type"), _("Choose a group type from the list."), choices=_any(_("Any type")) + list(GroupType.choices)
    )
    access = _filter(
        _("Access"), _("Choose priority or general access."), choices=_any(_("Any access")) + ACCESS_CHOICES
    )
    kindergarten = _filter(
        _("Kindergarten"),
        _("There is no such kindergarten in this city."),
        field=forms.IntegerField,
        widget=OptionsSelect,
    )

    def __init__(self, *args, cities, city, choices: "RegistryFilterChoices", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["city"].choices = [(c.slug, c.name) for c in cities]
        self.fields["birth_year"].choices = _any(_("Any year")) + choices.birth_years
        self.fields["kindergarten"].widget.options_html = choices.kindergarten_options
        self.kindergarten_ids = choices.kindergarten_ids
        self.city = city

    def clean_kindergarten(self) -> int | None:
        kindergarten = self.cleaned_data.get("kindergarten")
        if kindergarten is not None and kindergarten not in self.kindergarten_ids:
            raise forms.ValidationError(self.fields["kindergarten"].error_messages["invalid"], code="invalid_choice")
        return kindergarten

    def filters(self) -> registry.RegistryFilters:
        """The valid part of the request: each field that did not parse is left out (its error is shown)."""
        data = {}
        for name in FILTERS:
            if name in self.errors:
                continue
            data[name] = self.cleaned_data.get(name) or None
        data["kindergarten_id"] = data.pop("kindergarten", None)
        return registry.RegistryFilters(city=self.city, **data)


@dataclass(frozen=True)
class RegistryFilterChoices:
    """The city's cohorts and kindergartens as the filter offers them, in the active language."""

    birth_years: list[tuple[int, str]]
    kindergarten_ids: frozenset[int]
    kindergarten_options: str  # the <option>s, "all kindergartens" first, none selected


def registry_filter_choices(*, city: City | None, at) -> RegistryFilterChoices:
    kindergartens = list(registry.registry_kindergartens(city=city))
    everything = escape(str(_("All kindergartens")))  # outside the f-string, where makemessages finds it
    options = [f'<option value="">{everything}</option>'] + [
        f'<option value="{k.pk}">{escape(f"{k.code} · {k.name}")}</option>' for k in kindergartens
    ]
    return RegistryFilterChoices(
        birth_years=[
            (year, gettext("%(year)s (age %(age)s)") % {"year": year, "age": age} if age else str(year))
            for year, age in registry.registry_birth_years(city=city, at=at)
        ],
        kindergarten_ids=frozenset(k.pk for k in kindergartens),
        kindergarten_options="".join(options),
    )


def _chosen_city(slug: str | None, cities: list[City]) -> tuple[City | None, bool]:
    """The city asked for, else the first one; the flag says the slug named no city."""
    if slug:
        for city in cities:
            if city.slug == slug:
                return city, False
    return (cities[0] if cities else None), bool(slug)


def _carries_state(request) -> bool:
    """Whether the request brings a session or pending messages: its page may show them."""
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


class RegistryView(View):
    """The free places open now, filtered; an invalid filter answers 400 with its error and is ignored.

    The page's content (filters, counts, places, pagination) is cached per city, language, kind of reader and
    full path (`placement.registry_cache`), and so are the city list and the filter's choices; a parent's page (their
    children's places, their buttons) is never cached.
    """

    template_name = "placement/registry.html"
    content_template_name = "placement/_registry_content.html"

    def get(self, request):
        now = timezone.now()
        cities, cities_token = self.cities(at=now)
        city, unknown_city = _chosen_city(request.GET.get("city"), cities)
        claim = self.claimant_context(request)
        query = registry_cache.query_parts(request.GET)
        # A parent's page is their own (their children's places and buttons): never served from or stored in the
        # shared cache; nor is a request not in the canonical spelling.
        shared = not claim["claimant"] and query is not None
        language = get_language()
        reader = "claimant" if claim["claimant"] else "user" if request.user.is_authenticated else "anonymous"
        content_parts = (language, reader, request.path, query, cities_token, astana(now).year)
        choices_parts = (language, astana(now).year)
        wanted = [("page-choices", choices_parts)] + ([("page", content_parts)] if shared else [])
        # A visitor with no session and no pending message gets the same bytes as every other visitor: the whole
        # page is cached, frame included, until the content or the frame's support hours change.
        whole = shared and reader == "anonymous" and not _carries_state(request)
        if whole:
            wanted.append(("page-whole", content_parts))
        lookup = registry_cache.Lookup(scope=city.pk if city else None, at=now, wanted=wanted)
        if whole and (body := lookup.get("page-whole", content_parts)) is not None:
            return HttpResponse(body)
        stored = lookup.get("page", content_parts) if shared else None
        valid_until = None
        if stored is None:
            status, content, valid_until = self.content(
                request, lookup=lookup, choices_parts=choices_parts, city=city, cities=cities,
                unknown_city=unknown_city, at=now, context=claim,
            )  # fmt: skip
            if shared and status == 200:
                lookup.put("page", content_parts, (status, content), valid_until=valid_until)
        else:
            status, content = stored
        # Rendered by the template engine, escaped there.
        response = render(request, self.template_name, {"content": mark_safe(content)}, status=status)  # noqa: S308
        if whole and stored is None and status == 200 and not response.cookies:
            until = min(filter(None, (valid_until, support_changes_at(now))), default=None)
            lookup.put("page-whole", content_parts, response.content, valid_until=until)
        return response

    def content(self, request, *, lookup, choices_parts, city, cities, unknown_city, at, context: dict):
        """(status, the content rendered, the moment it stops being true)."""
        choices = lookup.get("page-choices", choices_parts)
        if choices is None:
            choices = registry_filter_choices(city=city, at=at)
            lookup.put("page-choices", choices_parts, choices, valid_until=None)
        data = request.GET.copy()
        if city is not None:
            data["city"] = city.slug
        form = RegistryFilterForm(data, cities=cities, city=city, choices=choices)
        form.is_valid()
        if unknown_city:
            form.add_error("city", RegistryFilterForm.base_fields["city"].error_messages["invalid_choice"])
        # The filters fold away on a phone unless one is in use (the places come first).
        filtered = any(request.GET.get(name) for name in FILTERS)
        context = {**context, "form": form, "city": city, "cities": cities, "now": at, "filtered": filtered}
        valid_until = None
        if city is not None:
            filters = form.filters()
            context.update(self.places(request, filters=filters, at=at, applications=context["claim_applications"]))
            context["summary"] = registry.registry_summary(filters=filters, at=at)
            # Offer mode (issue 14): places offered by the 18:00 run, shown as offered with no personal data (a city in
            # claim mode has none: its page costs no query more).
            context["offer_mode"] = city_offers(city)
            context["offered"] = registry.registry_offered(filters=filters) if context["offer_mode"] else []
            context["query"] = _query_without_page(request)
            valid_until = registry.registry_next_change(filters=filters, at=at)
        content = render_to_string(self.content_template_name, context, request=request)
        return (400 if form.errors else 200), content, valid_until

    def places(self, request, *, filters, at, applications) -> dict:
        """The page of bundles of identical places. A parent with active applications sees, by default, only what
        their children may take now (`view=all`: every place), each bundle with its take buttons, and once per
        child what it may take or why not (issue 13); anyone else sees every place."""
        if not applications:
            page = Paginator(registry.registry_bundle_rows(filters=filters, at=at), REGISTRY_PAGE_SIZE).get_page(
                request.GET.get("page")
            )
            rows = [BundleChoice(bundle=bundle, options=[]) for bundle in registry.registry_bundles(page.object_list)]
            return {"page": page, "rows": rows, "view": "all"}
        view = "all" if request.GET.get("view") == "all" else "mine"
        choices, chances = registry_choices(parent=request.user, applications=applications, filters=filters, at=at)
        context = {"view": view, "chances": chances, "takeable": sum(c.bundle.count for c in choices if c.takers)}
        if view == "mine":
            page = Paginator([c for c in choices if c.takers], REGISTRY_PAGE_SIZE).get_page(request.GET.get("page"))
            return {**context, "page": page, "rows": list(page.object_list)}
        # Every place: the bundles of the applications' birth years come judged; no child may take the others.
        judged = {choice.bundle.place.pk: choice for choice in choices}
        page = Paginator(registry.registry_bundle_rows(filters=filters, at=at), REGISTRY_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        rows = [
            judged.get(bundle.place.pk) or BundleChoice(bundle=bundle, options=[])
            for bundle in registry.registry_bundles(page.object_list)
        ]
        return {**context, "page": page, "rows": rows}

    def cities(self, *, at) -> tuple[list[City], str | None]:
        """The cities of the city filter, from the cache until a city is edited; and the list's token."""
        lookup = registry_cache.Lookup(scope=registry_cache.CITY_LIST, at=at, wanted=[("cities", ())])
        cities = lookup.get("cities", ())
        if cities is None:
            cities = list(registry.city_list())
            lookup.put("cities", (), cities, valid_until=None)
        return cities, lookup.token

    def claimant_context(self, request) -> dict:
        """A logged-in parent gets, on each place, a "take" button or the reason per active application; anyone
        else gets no buttons (a visitor gets a hint to log in)."""
        claimant = is_cabinet_holder(request.user)
        return {
            "claimant": claimant,
            "claim_applications": list(claimable_applications(parent=request.user)) if claimant else [],
            "login_url": f"{reverse('accounts:otp-login')}?next={quote(request.get_full_path())}",
        }


class ProtocolIndexView(View):
    """A city's published protocol days, newest first, and how to check their hashes.

    Only the days on which something happened are listed unless `days=all` (an empty day is published all the
    same, to keep the chain); `day=YYYY-MM-DD` jumps to that day's page (a date that does not parse answers 400
    with the list and the error)."""

    template_name = "placement/protocols.html"

    def get(self, request):
        cities = list(registry.city_list())
        city, unknown_city = _chosen_city(request.GET.get("city"), cities)
        all_days = request.GET.get("days") == "all"
        context = {"cities": cities, "city": city, "unknown_city": unknown_city, "all_days": all_days}
        jump = request.GET.get("day")
        if city is not None and jump is not None:
            day = protocols.protocol_day_parse(jump.strip())
            if day is not None:
                return redirect("placement:protocol_day", city=city.slug, day=day.isoformat())
            context["bad_day"] = True
        if city is not None:
            days = protocols.protocol_list(city=city, with_events_only=not all_days)
            context["page"] = Paginator(days, PROTOCOL_DAYS_PAGE_SIZE).get_page(request.GET.get("page"))
            context["first_day"], context["last_day"] = protocols.protocol_span(city=city)
            context["query"] = urlencode({"city": city.slug, **({"days": "all"} if all_days else {})})
        status = 400 if unknown_city or context.get("bad_day") else 200
        return render(request, self.template_name, context, status=status)


def _protocol_or_404(request, *, city: str, day: str):
    """The published protocol, or the protocol page's own 404 that says what is missing (not the generic one)."""
    try:
        return protocols.protocol_find(city_slug=city, day=day), None
    except ProtocolMissing as missing:
        context = {"missing": missing.message, "city": missing.city}
        return None, render(request, "placement/protocol_day.html", context, status=missing.status)


class ProtocolDayView(View):
    template_name = "placement/protocol_day.html"

    def get(self, request, city: str, day: str):
        protocol, missing = _protocol_or_404(request, city=city, day=day)
        if missing is not None:
            return missing
        previous_day, next_day = protocols.protocol_neighbours(protocol=protocol)
        # Offer mode (issue 14, Publication): the offers of the day's run and the SHA-256 of its inputs (read only for
        # a city in offer mode, or a day that published an allocation: a claim-mode day costs no query more).
        offer_mode = city_offers(protocol.city) or protocol.allocated
        allocation = protocol_allocation(city=protocol.city, day=protocol.day) if offer_mode else None
        context = {
            "protocol": protocol,
            "city": protocol.city,
            "rows": protocols.protocol_rows(protocol=protocol),
            "previous_day": previous_day,
            "next_day": next_day,
            "allocation": allocation.rows if allocation else [],
            "inputs_sha256": allocation.inputs_sha256 if allocation else "",
            "offer_mode": offer_mode,
        }
        return render(request, self.template_name, context)


class ProtocolDownloadView(View):
    """The day's chronology as CSV or XLSX, with headers in the page's language."""

    def get(self, request, city: str, day: str, fmt: str):
        if fmt not in ("csv", "xlsx"):
            raise Http404
        protocol, missing = _protocol_or_404(request, city=city, day=day)
        if missing is not None:
            return missing
        if fmt == "csv":
            response = HttpResponse(exports.protocol_csv(protocol=protocol), content_type=exports.CSV_CONTENT_TYPE)
        else:
            response = HttpResponse(exports.protocol_xlsx(protocol=protocol), content_type=exports.XLSX_CONTENT_TYPE)
        filename = exports.export_filename(protocol=protocol, extension=fmt)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
