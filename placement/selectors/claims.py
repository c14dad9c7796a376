"""May this parent take this place now, and why not (DOMAIN.md, Places and their access 3-4).

`claim_refusal_judge` is the rule, on facts read beforehand; everything that asks the question goes through it:
`claim_refusal` for one place (the confirmation page, and `place_claim` before it locks), `registry_claim_options`
for a whole registry page (the block, the confirmed representations, each application's queue position and the
head-of-queue sizes read once, then every place judged in memory; tests/placement/test_claim_pages.py checks that
the two agree).

`claim_place` and `claim_application` read what one claim needs in one query each (the claim API and the
confirmation page): the place with its live referral's application, the application with the parent's block and
representation of the child, so that `place_claim` judges without reading them again.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection

from accounts.models import CabinetBlock, Representation
from accounts.selectors import block_active
from schedules.calendar import astana

from ..errors import ClaimRefused, PlaceGone
from ..models import Access, Application, Group, Kindergarten, Place, Referral
from .parents import claimable_applications
from .queue import PriorityStanding, priority_places_count, priority_standings, queue_position
from .registry import PlaceBundle, RegistryFilters, registry_bundle_rows, registry_bundles


@dataclass(frozen=True)
class ClaimFacts:
    """What a claim judges about the parent, read with the application (`claim_application`) for `parent_id` at
    `at`: whether the parent's cabinet is blocked and their representation of the child confirmed. `place_claim`
    and `claim_refusal` use them only for the same parent and moment."""

    parent_id: int
    at: dt.datetime
    blocked: bool
    confirmed: bool


def claim_facts(*, application: Application, by, at: dt.datetime) -> ClaimFacts:
    """The facts carried by the application when they were read for `by` at `at`; else read now (two queries)."""
    facts = getattr(application, "claim_facts", None)
    if facts is not None and facts.parent_id == by.pk and facts.at == at:
        return facts
    return ClaimFacts(
        parent_id=by.pk,
        at=at,
        blocked=block_active(user=by, at=at) is not None,
        confirmed=Representation.objects.filter(
            parent=by, child_id=application.child_id, status=Representation.Status.CONFIRMED
        ).exists(),
    )


def not_head_message(*, position: int | None, head: int, place: Place) -> str:
    return ClaimRefused.POSITION_MESSAGE % {
        "position": position,
        "head": head,
        "until": astana(place.priority_until).strftime("%d.%m %H:%M"),
    }


def claim_refusal_judge(
    *,
    place: Place,
    application: Application,
    at: dt.datetime,
    blocked: bool,
    confirmed: bool,
    standing: Callable[[], tuple[int | None, int]],
) -> ClaimRefused | None:
    """The rule of who may take a place (DOMAIN.md, Places and their access 3-4), on facts read beforehand, in
    the order the reasons are given. `standing()` returns (queue position, places of the cohort in priority
    access) and is called only for a place in priority access: the head of the queue may take it."""
    if blocked:
        return ClaimRefused("blocked")
    if not confirmed:
        return ClaimRefused("not_confirmed")
    if application.status == Application.Status.REFERRED:
        return ClaimRefused("has_live_referral")
    if application.status != Application.Status.QUEUED:
        return ClaimRefused("not_in_queue")
    group = place.group
    if place.city_id != application.city_id:
        return ClaimRefused("city_mismatch")
    if group.birth_year != application.birth_year:
        return ClaimRefused("cohort_mismatch")
    if application.language != Application.Language.ANY and application.language != group.language:
        return ClaimRefused("language_mismatch")
    if application.group_type != group.group_type:
        return ClaimRefused("group_type_mismatch")
    if place.access_at(at) == Access.PRIORITY:
        position, head = standing()
        if position is None or position > head:
            return ClaimRefused("not_head_of_queue", not_head_message(position=position, head=head, place=place))
    return None


def claim_refusal(*, place: Place, application: Application, by, at: dt.datetime) -> ClaimRefused | None:
    """Why `by` may not take `place` for `application` now (None when they may). Reads only, no locks: the
    confirmation page asks it before the parent confirms, and place_claim asks it again before locking."""
    facts = claim_facts(application=application, by=by, at=at)
    return claim_refusal_judge(
        place=place,
        application=application,
        at=at,
        blocked=facts.blocked,
        confirmed=facts.confirmed,
        standing=lambda: (
            queue_position(application),
            priority_places_count(city_id=place.city_id, birth_year=place.group.birth_year, at=at),
        ),
    )


def place_gone(place: Place, at: dt.datetime) -> PlaceGone | None:
    """Why nobody can take the place any more (taken, withdrawn, not open yet), or None while it is free."""
    if place.state == Place.State.WITHDRAWN:
        return PlaceGone("withdrawn")
    if place.state in (Place.State.TAKEN, Place.State.ENROLLED):
        return PlaceGone("taken")
    if place.access_at(at) not in (Access.PRIORITY, Access.GENERAL):
        return PlaceGone("not_open")
    return None


# --- A registry page of places for all the parent's applications ---------------------------------------------


@dataclass(frozen=True)
class ClaimOption:
    """One application's answer for one place: `refusal` is None when the parent may take the place."""

    application: Application
    refusal: ClaimRefused | None

    @property
    def may_claim(self) -> bool:
        return self.refusal is None

    @property
    def code(self) -> str | None:
        return self.refusal.code if self.refusal is not None else None


def registry_claim_options(*, parent, places, at: dt.datetime, applications=None) -> dict[int, list[ClaimOption]]:
    """For each place (by pk) and each of the parent's active applications: may the parent take it, or why not.

    Queries: the applications (unless given), the block, the confirmed representations, the head-of-queue sizes
    (one), and each queued application's position (at most three each): O(applications), whatever the page size.
    The places must come with their group (select_related).
    """
    if applications is None:
        applications = list(claimable_applications(parent=parent))
    places = list(places)
    if not applications or not places:
        return {place.pk: [] for place in places}
    blocked = block_active(user=parent, at=at) is not None
    confirmed = set(
        Representation.objects.filter(
            parent=parent,
            child_id__in={a.child_id for a in applications},
            status=Representation.Status.CONFIRMED,
        ).values_list("child_id", flat=True)
    )
    standings = priority_standings(applications, at=at)

    def judge(place: Place, application: Application) -> ClaimRefused | None:
        standing: PriorityStanding | None = standings.get(application.pk)
        return claim_refusal_judge(
            place=place,
            application=application,
            at=at,
            blocked=blocked,
            confirmed=application.child_id in confirmed,
            standing=lambda: (standing.position, standing.head) if standing is not None else (None, 0),
        )

    return {
        place.pk: [ClaimOption(application=a, refusal=judge(place, a)) for a in applications] for place in places
    }


# --- The registry of a parent: what each child may take now --------------------------------------------------

# The judge's reasons in the order it gives them: when a child may take nothing, the reason furthest along is the
# one to tell (every check before it passed), e.g. "not at the head of the queue" rather than "another birth year".
REFUSAL_ORDER = (
    "blocked",
    "not_confirmed",
    "has_live_referral",
    "not_in_queue",
    "city_mismatch",
    "cohort_mismatch",
    "language_mismatch",
    "group_type_mismatch",
    "not_head_of_queue",
)


@dataclass(frozen=True)
class BundleChoice:
    """A registry row for a parent: the bundle of identical places and each application's answer for it."""

    bundle: PlaceBundle
    options: list[ClaimOption]

    @property
    def takers(self) -> list[ClaimOption]:
        return [option for option in self.options if option.may_claim]


@dataclass(frozen=True)
class ChildChances:
    """What one application may take in the registry as filtered: `places` now; when none, `refusal` is the one
    reason to tell (None when no place of its birth year is free at all)."""

    application: Application
    places: int
    refusal: ClaimRefused | None

    @property
    def child_refusal(self) -> ClaimRefused | None:
        """The refusal when it is about the child or the parent (a block, the representation, a referral held,
        the application's status), not about the places."""
        return self.refusal if self.refusal is not None and self.refusal.code in REFUSAL_ORDER[:4] else None


def registry_choices(
    *, parent, applications, filters: RegistryFilters, at: dt.datetime
) -> tuple[list[BundleChoice], list[ChildChances]]:
    """Every bundle of the registry (as filtered) of the applications' birth years, judged for every application by
    `registry_claim_options` (the rule, `claim_refusal_judge`), and what each application may take.

    The query keeps only the applications' birth years (and, with no city filtered, their cities), a superset of
    what they may take: the judge decides. The places of other birth years or cities are refused to every
    application anyway."""
    applications = list(applications)
    rows = registry_bundle_rows(
        filters=filters,
        at=at,
        birth_years={application.birth_year for application in applications},
        city_ids=None if filters.city is not None else {application.city_id for application in applications},
    )
    bundles = registry_bundles(rows)
    options = registry_claim_options(parent=parent, places=[b.place for b in bundles], at=at, applications=applications)
    choices = [BundleChoice(bundle=bundle, options=options[bundle.place.pk]) for bundle in bundles]
    chances = []
    for index, application in enumerate(applications):
        answers = [(choice.bundle, choice.options[index]) for choice in choices]
        places = sum(bundle.count for bundle, option in answers if option.may_claim)
        refusals = [option.refusal for _bundle, option in answers if option.refusal is not None]
        refusal = None
        if not places and refusals:
            refusal = max(refusals, key=lambda refused: REFUSAL_ORDER.index(refused.code))
        chances.append(ChildChances(application=application, places=places, refusal=refusal))
    return choices, chances


# --- One claim --------------------------------------------------------------------------------------------
# The claim's hot path (docs/PERFORMANCE.md, issue 15): each read is one statement of fixed SQL, because building
# the same SQL through the ORM on every request cost more CPU than PostgreSQL takes to answer it. The rules stay
# where they are: these read facts, `claim_refusal_judge` and `Place.access_at` judge them.

_PLACE, _GROUP, _KINDERGARTEN, _REFERRAL, _APPLICATION = (
    model._meta.db_table for model in (Place, Group, Kindergarten, Referral, Application)
)
# At most one live referral per place (referral_one_live_per_place): the outer joins add no row.
_CLAIM_PLACE_SQL = (
    "SELECT p.id, p.group_id, p.city_id, p.kindergarten_id, p.state, p.released_at, p.entered_priority_at,"
    " p.priority_until, p.general_since, g.birth_year, g.language, g.group_type, k.code, k.name_ru, k.name_kk,"
    " k.name_en, r.application_id, a.number"
    f" FROM {_PLACE} p JOIN {_GROUP} g ON g.id = p.group_id JOIN {_KINDERGARTEN} k ON k.id = p.kindergarten_id"
    f" LEFT JOIN {_REFERRAL} r ON r.place_id = p.id AND r.status = %s"
    f" LEFT JOIN {_APPLICATION} a ON a.id = r.application_id"
    " WHERE p.id = %s"
)


MAX_ID = 2**63 - 1  # BigAutoField's largest


def _aware(value):
    """A time read by hand: SQLite's driver gives it naive (in UTC, as Django stores it), PostgreSQL's aware."""
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def claim_place(pk: int) -> Place | None:
    """The place a parent claims, with its group and kindergarten, and `live_application_id` and
    `live_application_number`: the application holding its live referral (None when there is none), so a repeated
    claim is told from a place taken by someone else without another query. One statement."""
    if not 0 < pk <= MAX_ID:  # an id no row can have (a forged URL): nothing to read
        return None
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_PLACE_SQL, [Referral.Status.LIVE, pk])
        row = cursor.fetchone()
    if row is None:
        return None
    (pk, group_id, city_id, kindergarten_id, state, released_at, entered, until, general_since,
     birth_year, language, group_type, code, name_ru, name_kk, name_en, live_application_id,
     live_application_number) = row  # fmt: skip
    place = Place(
        id=pk,
        group_id=group_id,
        city_id=city_id,
        kindergarten_id=kindergarten_id,
        state=state,
        released_at=_aware(released_at),
        entered_priority_at=_aware(entered),
        priority_until=_aware(until),
        general_since=_aware(general_since),
    )
    place.group = Group(
        id=group_id, kindergarten_id=kindergarten_id, birth_year=birth_year, language=language, group_type=group_type
    )
    place.kindergarten = Kindergarten(
        id=kindergarten_id, city_id=city_id, code=code, name_ru=name_ru, name_kk=name_kk, name_en=name_en
    )
    place.live_application_id, place.live_application_number = live_application_id, live_application_number
    place._state.adding = False
    return place


def place_twin(*, place: Place, at: dt.datetime) -> Place | None:
    """Another free place no parent could tell from `place` (the registry shows them as one row with one "take"
    button): the same group, open at `at`, in the same access and, in priority access, going general at the same
    moment; the first of them, read as `claim_place` reads it for the page. None when there is none."""
    twins = Place.objects.open_at(at).filter(group_id=place.group_id).exclude(pk=place.pk)
    if place.priority_until > at:
        twins = twins.filter(priority_until=place.priority_until)
    else:
        twins = twins.filter(priority_until__lte=at)
    pk = twins.order_by("pk").values_list("pk", flat=True).first()
    return claim_place(pk) if pk is not None else None


@dataclass(frozen=True)
class ClaimApplication:
    """An application number looked up for a claim: `application` is None when it is not one of the parent's
    (`exists` tells an unknown number from someone else's)."""

    application: Application | None
    exists: bool


_APPLICATION_COLUMNS = (
    "id", "number", "child_id", "parent_id", "city_id", "birth_year", "language", "group_type", "privilege",
    "privilege_status", "queue_category", "applied_at", "status", "status_changed_at", "held_until",
)  # fmt: skip
_CLAIM_APPLICATION_SQL = (
    f"SELECT {', '.join('a.' + column for column in _APPLICATION_COLUMNS)},"
    f" (SELECT rp.status FROM {Representation._meta.db_table} rp WHERE rp.parent_id = %s AND rp.child_id = a.child_id"
    "  LIMIT 1),"
    # CabinetBlock.objects.active_at's condition (tests/placement/test_claim_queries.py checks they agree).
    f" EXISTS (SELECT 1 FROM {CabinetBlock._meta.db_table} b WHERE b.user_id = %s AND b.lifted_at IS NULL"
    "  AND b.starts_at <= %s AND b.ends_at > %s)"
    f" FROM {Application._meta.db_table} a WHERE a.number = %s"
)


def claim_application(*, parent, number: str, at: dt.datetime) -> ClaimApplication:
    """The application with this (normalised) number if the parent sees it (parent_applications' rule: their
    own, or a child they confirmedly represent, never a child whose representation was rejected), carrying the
    `claim_facts` for `parent` at `at` (their block, their representation of the child): one statement where
    claim_refusal would read three."""
    if not number:
        return ClaimApplication(application=None, exists=False)
    # One representation at most per parent and child (representation_one_per_parent_and_child).
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_APPLICATION_SQL, [parent.pk, parent.pk, at, at, number])
        row = cursor.fetchone()
    if row is None:
        return ClaimApplication(application=None, exists=False)
    *values, representation, blocked = row
    fields = dict(zip(_APPLICATION_COLUMNS, values, strict=True))
    for name in ("applied_at", "status_changed_at", "held_until"):
        fields[name] = _aware(fields[name])
    application = Application(**fields)
    application._state.adding = False
    confirmed = representation == Representation.Status.CONFIRMED
    rejected = representation == Representation.Status.REJECTED
    if rejected or not (application.parent_id == parent.pk or confirmed):
        return ClaimApplication(application=None, exists=True)
    application.claim_facts = ClaimFacts(parent_id=parent.pk, at=at, blocked=bool(blocked), confirmed=confirmed)
    return ClaimApplication(application=application, exists=True)
