"""Reads for the parent's side of claims: which registry places each of a parent's applications may take now and
why not, whether priority places are open to an application, and the parent's referrals and contracts
(DOMAIN.md, Places and their access 3-4; Referral, enrolment, contract).

`claim_refusal` (placement.services.claims) answers for one place and one application with a handful of queries;
a registry page shows 25 places for each of the parent's applications. `registry_claim_options` gives the same
answers for a whole page with queries per application, not per place: the block, the confirmed representations,
each application's queue position and the head-of-queue sizes are read once, then every place is judged in
memory by the same rule (`claim_refusal_judge`; tests/placement/test_claim_pages.py checks that they agree).

`claim_place` and `claim_application` read what one claim needs in one query each (the claim API and the
confirmation page): the place with its live referral's application, the application with the parent's block
and representation of the child, so that `place_claim` judges without reading them again.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from accounts.models import Representation
from accounts.services.blocks import block_active

from .models import Application, Contract, Place, Referral
from .selectors_queue import applications_with_positions
from .services.claims import ClaimFacts, ClaimRefused, blocks_active, claim_refusal_judge


@dataclass(frozen=True)
class PriorityStanding:
    """Whether priority places are open to a queued application now: position <= places of its cohort in
    priority access in its city (DOMAIN.md, Places 3)."""

    position: int | None
    head: int

    @property
    def eligible(self) -> bool:
        return self.position is not None and self.position <= self.head


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


def priority_heads(*, cohorts, at: dt.datetime) -> dict[tuple[int, int], int]:
    """Places now in priority access per (city id, birth year), for the given pairs: one query."""
    cohorts = set(cohorts)
    if not cohorts:
        return {}
    condition = Q()
    for city_id, birth_year in cohorts:
        condition |= Q(city_id=city_id, group__birth_year=birth_year)
    rows = (
        Place.objects.in_priority_at(at)
        .filter(condition)
        .order_by()
        .values_list("city_id", "group__birth_year")
        .annotate(n=Count("pk"))
    )
    heads = dict.fromkeys(cohorts, 0)
    heads.update({(city_id, year): n for city_id, year, n in rows})
    return heads


def priority_standings(
    applications, *, at: dt.datetime, positions: dict[int, int | None] | None = None
) -> dict[int, PriorityStanding]:
    """Each queued application's standing by pk: its position (`positions`, else all of them in one query) and
    its cohort's head."""
    queued = [a for a in applications if a.status == Application.Status.QUEUED]
    heads = priority_heads(cohorts={(a.city_id, a.birth_year) for a in queued}, at=at)
    if positions is None and queued:
        rows = Application.objects.filter(pk__in=[a.pk for a in queued]).select_related("city")
        positions = {a.pk: a.position for a in applications_with_positions(rows)}
    return {
        a.pk: PriorityStanding(position=positions[a.pk], head=heads[(a.city_id, a.birth_year)]) for a in queued
    }


def claimable_applications(*, parent) -> QuerySet[Application]:
    """The parent's active applications, as the cabinet shows them (their own and the confirmed other parent's
    children's), with the city and child for the page."""
    from .views.cabinet import parent_applications

    return (
        parent_applications(parent=parent).filter(status__in=Application.ACTIVE_STATUSES).order_by("applied_at", "pk")
    )


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
    options: dict[int, list[ClaimOption]] = {}
    for place in places:
        options[place.pk] = [
            ClaimOption(
                application=application,
                refusal=_refusal(
                    place=place,
                    application=application,
                    at=at,
                    blocked=blocked,
                    confirmed=application.child_id in confirmed,
                    standing=standings.get(application.pk),
                ),
            )
            for application in applications
        ]
    return options


def _refusal(
    *,
    place: Place,
    application: Application,
    at: dt.datetime,
    blocked: bool,
    confirmed: bool,
    standing: PriorityStanding | None,
) -> ClaimRefused | None:
    """claim_refusal's rule on facts read beforehand for the whole page."""
    return claim_refusal_judge(
        place=place,
        application=application,
        at=at,
        blocked=blocked,
        confirmed=confirmed,
        standing=lambda: (standing.position, standing.head) if standing is not None else (None, 0),
    )


# --- One claim --------------------------------------------------------------------------------------------


def claim_place(pk: int, *, for_page: bool = False) -> Place | None:
    """The place a parent claims, with its group and kindergarten (and city `for_page`), and
    `live_application_id`: the application holding its live referral (None when there is none), so a repeated
    claim is told from a place taken by someone else without another query."""
    live = Referral.objects.filter(place_id=OuterRef("pk"), status=Referral.Status.LIVE).values("application_id")
    related = ("group", "kindergarten", "city") if for_page else ("group", "kindergarten")
    return Place.objects.select_related(*related).annotate(live_application_id=Subquery(live[:1])).filter(pk=pk).first()


@dataclass(frozen=True)
class ClaimApplication:
    """An application number looked up for a claim: `application` is None when it is not one of the parent's
    (`exists` tells an unknown number from someone else's)."""

    application: Application | None
    exists: bool


def claim_application(*, parent, number: str, at: dt.datetime, for_page: bool = False) -> ClaimApplication:
    """The application with this (normalised) number if the parent sees it (parent_applications' rule: their
    own, or a child they confirmedly represent, never a child whose representation was rejected), carrying the
    `claim_facts` for `parent` at `at` (their block, their representation of the child): one query where
    claim_refusal would read three. With its city and child `for_page`.

    The claim's hot path (the storm of docs/PERFORMANCE.md): the query is kept small because building the SQL
    costs more CPU than PostgreSQL takes to answer it.
    """
    if not number:
        return ClaimApplication(application=None, exists=False)
    # One representation at most per parent and child (representation_one_per_parent_and_child).
    representation = Representation.objects.filter(parent=parent, child_id=OuterRef("child_id")).values("status")
    queryset = Application.objects.select_related("city", "child") if for_page else Application.objects
    application = (
        queryset.annotate(
            parent_representation=Subquery(representation[:1]),
            blocked=Exists(blocks_active(at).filter(user_id=parent.pk)),
        )
        .filter(number=number)
        .first()
    )
    if application is None:
        return ClaimApplication(application=None, exists=False)
    confirmed = application.parent_representation == Representation.Status.CONFIRMED
    rejected = application.parent_representation == Representation.Status.REJECTED
    if rejected or not (application.parent_id == parent.pk or confirmed):
        return ClaimApplication(application=None, exists=True)
    application.claim_facts = ClaimFacts(parent_id=parent.pk, at=at, blocked=application.blocked, confirmed=confirmed)
    return ClaimApplication(application=application, exists=True)


# --- The parent's referrals and contracts -----------------------------------------------------------------


def _confirmed_children(parent):
    return Representation.objects.filter(parent=parent, status=Representation.Status.CONFIRMED).values("child_id")


def parent_referrals(*, parent) -> QuerySet[Referral]:
    """The referrals a parent sees: the ones they hold, and those of children they confirmedly represent."""
    return (
        Referral.objects.filter(Q(parent=parent) | Q(child_id__in=_confirmed_children(parent)))
        .select_related("kindergarten", "place__group", "child", "application")
        .order_by("-issued_at", "-pk")
    )


def parent_referral(*, parent, number: str) -> Referral | None:
    number = str(number or "").strip().upper()
    if not number or len(number) > 20:
        return None
    return parent_referrals(parent=parent).filter(number=number).first()


def parent_contracts(*, parent) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(Q(parent=parent) | Q(child_id__in=_confirmed_children(parent)))
        .select_related("kindergarten", "child", "referral")
        .order_by("-enrolled_at", "-pk")
    )
