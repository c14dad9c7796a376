"""Public API: the free-places registry and the release protocols (no login; Accept-Language picks the names)."""

from dataclasses import replace

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import get_language, gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from indigo.api import PAGE_NOT_FOUND, refused

from .. import registry_cache
from ..models import (
    Access,
    City,
    GroupType,
    Kindergarten,
    Language,
    Place,
    PlaceEvent,
    Protocol,
    ReturnReason,
    reason_label,
)
from ..selectors import protocols, registry

OPEN_ACCESSES = [Access.PRIORITY.value, Access.GENERAL.value]

# --- Query parameters ------------------------------------------------------------------------------------


def _city_by_slug(slug: str) -> City:
    city = City.objects.filter(slug=slug).first()
    if city is None:
        raise serializers.ValidationError(gettext("There is no such city."))
    return city


class RegistryQuerySerializer(serializers.Serializer):
    """The registry's filters; every value is checked, and a bad one is a 400 naming the field."""

    city = serializers.CharField(required=False, max_length=50, help_text="The city's slug.")
    birth_year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)
    language = serializers.ChoiceField(required=False, choices=Language.choices)
    group_type = serializers.ChoiceField(required=False, choices=GroupType.choices)
    access = serializers.ChoiceField(required=False, choices=OPEN_ACCESSES)
    kindergarten = serializers.IntegerField(required=False, min_value=1)

    def validate_city(self, value: str) -> City:
        return _city_by_slug(value)

    def validate(self, attrs):
        kindergarten_id = attrs.get("kindergarten")
        if kindergarten_id is not None:
            kindergartens = Kindergarten.objects.filter(pk=kindergarten_id)
            if attrs.get("city") is not None:
                kindergartens = kindergartens.filter(city=attrs["city"])
            kindergarten = kindergartens.first()
            if kindergarten is None:
                raise serializers.ValidationError(
                    {"kindergarten": [gettext("There is no such kindergarten in this city.")]}
                )
            attrs["kindergarten"] = kindergarten
        return attrs

    def filters(self) -> registry.RegistryFilters:
        data = dict(self.validated_data)
        kindergarten = data.pop("kindergarten", None)
        return registry.RegistryFilters(**data, kindergarten_id=kindergarten.pk if kindergarten else None)


class ProtocolListQuerySerializer(serializers.Serializer):
    city = serializers.CharField(max_length=50, help_text="The city's slug.")

    def validate_city(self, value: str) -> City:
        return _city_by_slug(value)


REGISTRY_PARAMETERS = [
    OpenApiParameter("city", OpenApiTypes.STR, description="City slug, e.g. temirtau; every city when omitted."),
    OpenApiParameter("birth_year", OpenApiTypes.INT, description="Cohort (birth year), e.g. 2021."),
    OpenApiParameter("language", OpenApiTypes.STR, enum=Language.values, description="Language of instruction."),
    OpenApiParameter("group_type", OpenApiTypes.STR, enum=GroupType.values, description="Group type."),
    OpenApiParameter("access", OpenApiTypes.STR, enum=OPEN_ACCESSES, description="Access now."),
    OpenApiParameter("kindergarten", OpenApiTypes.INT, description="Kindergarten id (of the city, when given)."),
]


def _validated(serializer_class, request) -> serializers.Serializer:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer


def _registry_key(request, *, kind: str, at):
    """The cache entry a registry request's answer is stored under: (the city's Lookup, the entry's parts, the slug),
    or None when the request must not be cached (not in the canonical spelling: computed every time, never stored).

    The parts are the raw query (the answer is a function of it), the language of the names and the host the
    pagination links name. The one function that keys the answer, for the hit path before DRF and for the view.
    """
    query = registry_cache.query_parts(request.GET)
    if query is None:
        return None
    slug = request.GET.get("city")
    scope = registry_cache.city_scope(slug)
    parts = (get_language(), request.scheme, request.get_host(), query)
    return registry_cache.Lookup(scope=scope, at=at, wanted=[(kind, parts)]), parts, slug


def _registry_json(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="application/json")


def _registry_cached(request, *, kind: str, at, compute, key=None) -> HttpResponse:
    """The registry's JSON for this request, from the cache while nothing it shows has changed (no place event of
    the city, no clock move of its places); else `compute(lookup)` -> (data, valid_until, city), stored. An invalid
    request raises before anything is stored, so only answers of valid requests are kept. `compute` says what its
    answer covers (`_registry_cover`) before it reads the places."""
    key = key or _registry_key(request, kind=kind, at=at)
    if key is None:
        data, _valid_until, _city = compute(None)
        return _registry_json(JSONRenderer().render(data))
    lookup, parts, slug = key
    body = lookup.get(kind, parts)
    if body is None:
        data, valid_until, city = compute(lookup)
        body = JSONRenderer().render(data)
        if (city.pk if city else registry_cache.ALL_CITIES) == lookup.scope:
            lookup.put(kind, parts, body, valid_until=valid_until)
        elif slug is not None:
            registry_cache.city_scope_forget(slug)  # the slug now names another city
    return _registry_json(body)


def _registry_cover(lookup, filters: registry.RegistryFilters) -> None:
    """Tell the cache what the answer for `filters` covers before it is read: the kindergarten or the cohort, so
    that a change elsewhere in the city leaves it cached (registry_cache). An answer about the whole city depends on
    the city's own token, which every change in the city renews."""
    if lookup is None or filters.city is None:
        return
    if filters.kindergarten_id is not None:
        lookup.cover(kindergarten_id=filters.kindergarten_id)
    elif filters.birth_year is not None:
        lookup.cover(cohorts=[filters.birth_year])


class CachedRegistryMixin:
    """A registry read answered from the cache before DRF does any work (issue 15): a hit needs no negotiation,
    authentication or serializer — it is the same bytes for everyone. A miss goes through DRF, which computes the
    answer under the same key (`_registry_key`) and stores it."""

    cache_kind = ""

    def dispatch(self, request, *args, **kwargs):
        if request.method == "GET":
            at = timezone.now()
            key = _registry_key(request, kind=self.cache_kind, at=at)
            body = key[0].get(self.cache_kind, key[1]) if key is not None else None
            if body is not None:
                return _registry_json(body)
            request.registry_key, request.registry_at = key, at
        return super().dispatch(request, *args, **kwargs)


# --- Registry --------------------------------------------------------------------------------------------


class KindergartenRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language (Accept-Language).")


class RegistryPlaceSerializer(serializers.ModelSerializer):
    kindergarten = KindergartenRefSerializer()
    birth_year = serializers.IntegerField(source="group.birth_year")
    language = serializers.ChoiceField(source="group.language", choices=Language.choices)
    group_type = serializers.ChoiceField(source="group.group_type", choices=GroupType.choices)
    access = serializers.SerializerMethodField()
    general_at = serializers.SerializerMethodField()

    class Meta:
        model = Place
        fields = ["id", "kindergarten", "birth_year", "language", "group_type", "access", "released_at", "general_at"]

    @extend_schema_field(serializers.ChoiceField(choices=OPEN_ACCESSES))
    def get_access(self, place) -> str:
        return place.access_at(self.context["at"])

    @extend_schema_field(
        serializers.DateTimeField(
            allow_null=True, help_text="When the place passes to general access; null once it is general."
        )
    )
    def get_general_at(self, place):
        general_at = registry.place_general_at(place, at=self.context["at"])
        return serializers.DateTimeField().to_representation(general_at) if general_at else None


REGISTRY_ERRORS = {
    400: refused(
        "reason: invalid; detail: each filter that does not parse or names nothing (e.g. an unknown city or "
        "kindergarten), with its messages."
    ),
}


class RegistryPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema_view(
    get=extend_schema(
        parameters=REGISTRY_PARAMETERS,
        operation_id="registry_list",
        tags=["registry"],
        responses={200: RegistryPlaceSerializer(many=True), **REGISTRY_ERRORS, 404: PAGE_NOT_FOUND},
    )
)
class RegistryView(CachedRegistryMixin, ListAPIView):
    """The free places open now (priority or general access), filtered, in pages (cached until the city's next
    place event or clock move, see `placement.registry_cache`)."""

    serializer_class = RegistryPlaceSerializer
    pagination_class = RegistryPagination
    cache_kind = "api-list"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # One clock reading per request: the filter and each place's access agree.
        self.at = getattr(request, "registry_at", None) or timezone.now()

    def get_queryset(self):
        filters = _validated(RegistryQuerySerializer, self.request).filters()
        return registry.registry_places(filters=filters, at=self.at)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "at": getattr(self, "at", None) or timezone.now()}

    def list(self, request, *args, **kwargs):
        key = getattr(request, "registry_key", None)
        return _registry_cached(request, kind=self.cache_kind, at=self.at, compute=self._compute, key=key)

    def _compute(self, lookup):
        filters = _validated(RegistryQuerySerializer, self.request).filters()
        _registry_cover(lookup, filters)
        page = self.paginate_queryset(registry.registry_places(filters=filters, at=self.at))
        data = self.get_paginated_response(self.get_serializer(page, many=True).data).data
        return data, registry.registry_next_change(filters=filters, at=self.at), filters.city


class KindergartenCountSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="kindergarten.pk")
    code = serializers.CharField(source="kindergarten.code")
    name = serializers.CharField(source="kindergarten.name")
    priority = serializers.IntegerField()
    general = serializers.IntegerField()
    total = serializers.IntegerField()


class AccessCountSerializer(serializers.Serializer):
    priority = serializers.IntegerField()
    general = serializers.IntegerField()


class OfferedGroupSerializer(serializers.Serializer):
    """Places of one group held by live offers (offer mode, issue 14), as the registry page shows them: counted, with
    no personal data (no child, application, parent or deadline)."""

    state = serializers.SerializerMethodField()
    kindergarten = KindergartenRefSerializer()
    group = serializers.IntegerField(source="group.pk")
    birth_year = serializers.IntegerField(source="group.birth_year")
    language = serializers.ChoiceField(source="group.language", choices=Language.choices)
    group_type = serializers.ChoiceField(source="group.group_type", choices=GroupType.choices)
    count = serializers.IntegerField()

    @extend_schema_field(serializers.ChoiceField(choices=[Place.State.OFFERED.value]))
    def get_state(self, bundle) -> str:
        return Place.State.OFFERED.value


class RegistrySummarySerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Open places (priority or general access); offered ones not included.")
    by_access = AccessCountSerializer(source="*")
    by_kindergarten = KindergartenCountSerializer(many=True)
    offered = serializers.IntegerField(
        source="offered_total", help_text="Places held by live offers (offer mode), matching the filters."
    )
    offered_groups = OfferedGroupSerializer(source="offered", many=True)


class RegistrySummaryView(CachedRegistryMixin, GenericAPIView):
    """How many matching places are open now, per access and per kindergarten, and how many are held by live offers
    (offer mode), per group, with no personal data."""

    serializer_class = RegistrySummarySerializer
    pagination_class = None
    cache_kind = "api-summary"

    @extend_schema(
        parameters=REGISTRY_PARAMETERS,
        operation_id="registry_summary",
        tags=["registry"],
        responses={200: RegistrySummarySerializer, **REGISTRY_ERRORS},
    )
    def get(self, request):
        at = getattr(request, "registry_at", None) or timezone.now()

        def compute(lookup):
            filters = _validated(RegistryQuerySerializer, request).filters()
            _registry_cover(lookup, filters)
            summary = registry.registry_summary(filters=filters, at=at)
            summary = replace(summary, offered=registry.registry_offered(filters=filters))
            valid_until = registry.registry_next_change(filters=filters, at=at)
            return RegistrySummarySerializer(summary).data, valid_until, filters.city

        key = getattr(request, "registry_key", None)
        return _registry_cached(request, kind=self.cache_kind, at=at, compute=compute, key=key)


# --- Release protocols -----------------------------------------------------------------------------------


class ProtocolDaySerializer(serializers.ModelSerializer):
    date = serializers.DateField(source="day")

    class Meta:
        model = Protocol
        fields = ["date", "published_at", "sha256", "previous_sha256", "entry_count"]


class ProtocolEntrySerializer(serializers.Serializer):
    """One entry as published, with the kindergarten's name in the request's language (from the entry)."""

    at = serializers.CharField(help_text="ISO 8601, Astana time, as published.")
    event = serializers.ChoiceField(choices=PlaceEvent.Kind.choices)
    place = serializers.IntegerField()
    kindergarten = serializers.SerializerMethodField()
    birth_year = serializers.IntegerField()
    language = serializers.ChoiceField(choices=Language.choices)
    group_type = serializers.ChoiceField(choices=GroupType.choices)
    access = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(
        allow_blank=True,
        help_text="As published: a withdrawal's reason as typed, or the code of the portal's own reason for a "
        "returned place (" + ", ".join(ReturnReason.values) + ").",
    )
    reason_label = serializers.SerializerMethodField(help_text="The reason in words, in the request's language.")

    @extend_schema_field(KindergartenRefSerializer)
    def get_kindergarten(self, entry) -> dict:
        kindergarten = entry.get("kindergarten") or {}
        return {
            "id": kindergarten.get("id"),
            "code": kindergarten.get("code", ""),
            "name": protocols.entry_name(kindergarten.get("name"), language=get_language()),
        }

    def get_reason_label(self, entry) -> str:
        return reason_label(entry.get("reason", ""))


class ProtocolDetailSerializer(serializers.ModelSerializer):
    date = serializers.DateField(source="day")
    entries = ProtocolEntrySerializer(many=True)

    class Meta:
        model = Protocol
        fields = ["date", "published_at", "sha256", "previous_sha256", "entries"]


class ProtocolDocumentSerializer(serializers.Serializer):
    city = serializers.CharField()
    day = serializers.CharField()
    previous_sha256 = serializers.CharField()
    entries = serializers.ListField(child=serializers.DictField())
    allocation = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Only on a day the run allocated places."
    )
    inputs_sha256 = serializers.CharField(required=False, help_text="Only on a day the run allocated places.")


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("city", OpenApiTypes.STR, required=True, description="City slug.")],
        operation_id="protocols_list",
        tags=["protocols"],
        responses={
            200: ProtocolDaySerializer(many=True),
            400: refused("reason: invalid; detail: no city, or no city of that slug."),
            404: PAGE_NOT_FOUND,
        },
    )
)
class ProtocolListView(ListAPIView):
    """A city's published protocol days, newest first."""

    serializer_class = ProtocolDaySerializer

    def get_queryset(self):
        city = _validated(ProtocolListQuerySerializer, self.request).validated_data["city"]
        return protocols.protocol_list(city=city)


NOT_FOUND = refused("Unknown city, not a date, or not published yet.")


class ProtocolDayView(GenericAPIView):
    """One published protocol day with its chronology."""

    serializer_class = ProtocolDetailSerializer
    pagination_class = None

    @extend_schema(
        operation_id="protocols_day", tags=["protocols"], responses={200: ProtocolDetailSerializer, 404: NOT_FOUND}
    )
    def get(self, request, city: str, day: str):
        return Response(ProtocolDetailSerializer(protocols.protocol_find(city_slug=city, day=day)).data)


class ProtocolDocumentView(GenericAPIView):
    """Exactly the document the day's SHA-256 is computed over: canonical JSON of it must hash to `sha256`."""

    serializer_class = ProtocolDocumentSerializer
    pagination_class = None

    @extend_schema(
        operation_id="protocols_document",
        tags=["protocols"],
        responses={200: ProtocolDocumentSerializer, 404: NOT_FOUND},
    )
    def get(self, request, city: str, day: str):
        return Response(protocols.protocol_find(city_slug=city, day=day).document())
