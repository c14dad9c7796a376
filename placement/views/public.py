"""Public pages: the free-places registry and the release protocol (no login)."""

from urllib.parse import quote

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View

from .. import exports, selectors
from ..models import City, GroupType, Kindergarten, Language
from ..selectors_claims import claimable_applications, registry_claim_options
from .cabinet import is_cabinet_holder, parent_login_url

REGISTRY_PAGE_SIZE = 25
PROTOCOL_DAYS_PAGE_SIZE = 31

ACCESS_CHOICES = [("priority", _("Priority access")), ("general", _("General access"))]


def _any(label):
    return [("", label)]


class RegistryFilterForm(forms.Form):
    """The registry's GET filters. Values that do not parse are reported and left out of the search."""

    city = forms.ChoiceField(
        label=_("City"), required=False, error_messages={"invalid_choice": _("There is no such city.")}
    )
    birth_year = forms.TypedChoiceField(
        label=_("Birth year (age)"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Choose a birth year from the list.")},
    )
    language = forms.ChoiceField(
        label=_("Language of instruction"),
        required=False,
        choices=_any(_("Any language")) + list(Language.choices),
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )
    group_type = forms.ChoiceField(
        label=_("Group type"),
        required=False,
        choices=_any(_("Any type")) + list(GroupType.choices),
        error_messages={"invalid_choice": _("Choose a group type from the list.")},
    )
    access = forms.ChoiceField(
        label=_("Access"),
        required=False,
        choices=_any(_("Any access")) + ACCESS_CHOICES,
        error_messages={"invalid_choice": _("Choose priority or general access.")},
    )
    kindergarten = forms.ModelChoiceField(
        label=_("Kindergarten"),
        required=False,
        queryset=Kindergarten.objects.none(),
        empty_label=_("All kindergartens"),
        error_messages={"invalid_choice": _("There is no such kindergarten in this city.")},
    )

    def __init__(self, *args, cities, city, birth_years, kindergartens, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["city"].choices = [(c.slug, c.name) for c in cities]
        self.fields["birth_year"].choices = _any(_("Any year")) + [
            (year, gettext("%(year)s (age %(age)s)") % {"year": year, "age": age} if age else str(year))
            for year, age in birth_years
        ]
        self.fields["kindergarten"].queryset = kindergartens
        self.fields["kindergarten"].label_from_instance = lambda k: f"{k.code} · {k.name}"
        self.city = city

    def filters(self) -> selectors.RegistryFilters:
        """The valid part of the request: each field that did not parse is left out (its error is shown)."""
        data = {}
        for name in ("birth_year", "language", "group_type", "access", "kindergarten"):
            if name in self.errors:
                continue
            data[name] = self.cleaned_data.get(name) or None
        return selectors.RegistryFilters(city=self.city, **data)


def _chosen_city(slug: str | None, cities: list[City]) -> tuple[City | None, bool]:
    """The city asked for, else the first one; the flag says the slug named no city."""
    if slug:
        for city in cities:
            if city.slug == slug:
                return city, False
    return (cities[0] if cities else None), bool(slug)


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


class RegistryView(View):
    """The free places open now, filtered; an invalid filter answers 400 with its error and is ignored."""

    template_name = "placement/registry.html"

    def get(self, request):
        now = timezone.now()
        cities = list(selectors.city_list())
        city, unknown_city = _chosen_city(request.GET.get("city"), cities)
        data = request.GET.copy()
        if city is not None:
            data["city"] = city.slug
        form = RegistryFilterForm(
            data,
            cities=cities,
            city=city,
            birth_years=selectors.registry_birth_years(city=city, at=now),
            kindergartens=selectors.registry_kindergartens(city=city),
        )
        form.is_valid()
        if unknown_city:
            form.add_error("city", RegistryFilterForm.base_fields["city"].error_messages["invalid_choice"])
        filters = form.filters()
        context = {"form": form, "city": city, "cities": cities, "now": now}
        context.update(self.claimant_context(request))
        if city is not None:
            paginator = Paginator(selectors.registry_places(filters=filters, at=now), REGISTRY_PAGE_SIZE)
            page = paginator.get_page(request.GET.get("page"))
            places = list(page.object_list)
            options = {}
            if context["claim_applications"]:
                options = registry_claim_options(
                    parent=request.user, places=places, at=now, applications=context["claim_applications"]
                )
            context.update(
                page=page,
                places=[(place, place.access_at(now), options.get(place.pk, [])) for place in places],
                summary=selectors.registry_summary(filters=filters, at=now),
                query=_query_without_page(request),
            )
        status = 400 if form.errors else 200
        return render(request, self.template_name, context, status=status)

    def claimant_context(self, request) -> dict:
        """A logged-in parent gets, on each place, a "take" button or the reason per active application; anyone
        else gets no buttons (a visitor gets a hint to log in)."""
        claimant = is_cabinet_holder(request.user)
        return {
            "claimant": claimant,
            "claim_applications": list(claimable_applications(parent=request.user)) if claimant else [],
            "login_url": f"{parent_login_url()}?next={quote(request.get_full_path())}",
        }


class ProtocolIndexView(View):
    """A city's published protocol days, newest first, and how to check their hashes."""

    template_name = "placement/protocols.html"

    def get(self, request):
        cities = list(selectors.city_list())
        city, unknown_city = _chosen_city(request.GET.get("city"), cities)
        context = {"cities": cities, "city": city, "unknown_city": unknown_city}
        if city is not None:
            paginator = Paginator(selectors.protocol_list(city=city), PROTOCOL_DAYS_PAGE_SIZE)
            context["page"] = paginator.get_page(request.GET.get("page"))
            context["query"] = f"city={city.slug}"
        return render(request, self.template_name, context, status=400 if unknown_city else 200)


def _protocol_or_404(request, *, city: str, day: str):
    """The published protocol, or a 404 page that says what is missing (not the generic one)."""
    city_obj = City.objects.filter(slug=city).first()
    parsed = selectors.protocol_day_parse(day)
    protocol = selectors.protocol_get(city=city_obj, day=parsed) if city_obj and parsed else None
    if protocol is not None:
        return protocol, None
    if city_obj is None:
        message = gettext("There is no such city.")
    elif parsed is None:
        message = gettext("This is not a date: use the form YYYY-MM-DD, e.g. 2024-06-05.")
    else:
        message = gettext(
            "The protocol of %(day)s for %(city)s has not been published yet. "
            "Each day's protocol is published at 18:00 Astana time."
        ) % {"day": parsed.strftime("%d.%m.%Y"), "city": city_obj.name}
    response = render(
        request,
        "placement/protocol_day.html",
        {"missing": message, "city": city_obj},
        status=404,
    )
    return None, response


class ProtocolDayView(View):
    template_name = "placement/protocol_day.html"

    def get(self, request, city: str, day: str):
        protocol, missing = _protocol_or_404(request, city=city, day=day)
        if missing is not None:
            return missing
        previous_day, next_day = selectors.protocol_neighbours(protocol=protocol)
        context = {
            "protocol": protocol,
            "city": protocol.city,
            "rows": selectors.protocol_rows(protocol=protocol),
            "previous_day": previous_day,
            "next_day": next_day,
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
