"""What a kindergarten's staff pages and API show (DOMAIN.md, Who uses it; Referral, enrolment, contract): its
groups with their free places by access, its live places, their chronology, the referrals it may still enrol and
its contracts. `kindergarten` None is every kindergarten (a department admin's lists)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from schedules.calendar import priority_ends_at
from schedules.selectors import scheduled_start_for

from ..models import Access, Contract, Group, Kindergarten, Place, PlaceEvent, Referral
from ..models.places import access_condition


def _of(queryset: QuerySet, kindergarten: Kindergarten | None) -> QuerySet:
    return queryset if kindergarten is None else queryset.filter(kindergarten=kindergarten)


@dataclass(frozen=True)
class ReleaseTiming:
    """When places released into a group at a moment enter priority access and go general (DOMAIN.md, Places 1-2):
    at once, or `scheduled` until the cohort's summer window opens (shifted per kindergarten)."""

    enters_at: dt.datetime
    priority_until: dt.datetime
    scheduled: bool


def release_timing(*, group: Group, at: dt.datetime) -> ReleaseTiming:
    """The times `place_release` gives places released into `group` at `at`; the staff's confirmation step says
    them before the release."""
    kindergarten = group.kindergarten
    start = scheduled_start_for(
        city_id=kindergarten.city_id, kindergarten_id=kindergarten.pk, birth_year=group.birth_year, at=at
    )
    enters_at = start or at
    return ReleaseTiming(
        enters_at=enters_at,
        priority_until=priority_ends_at(enters_at, kindergarten.city.priority_working_days),
        scheduled=start is not None,
    )


def kindergarten_groups_with_counts(*, kindergarten: Kindergarten, at: dt.datetime) -> QuerySet[Group]:
    """The kindergarten's groups, each with its free places counted by access at `at`."""
    return (
        Group.objects.filter(kindergarten=kindergarten)
        .annotate(
            **{
                f"{access}_count": Count("places", filter=access_condition(access, at, prefix="places__"))
                for access in Access.values
            }
        )
        .order_by("-birth_year", "language", "group_type", "name", "pk")
    )


def kindergarten_live_places(*, kindergarten: Kindergarten | None, at: dt.datetime) -> QuerySet[Place]:
    """Free places (scheduled, priority, general), each with its `access` at `at`."""
    places = Place.objects.with_access(at).select_related("group", "kindergarten")
    return _of(places, kindergarten).order_by("-group__birth_year", "group__language", "group_id", "pk")


def kindergarten_events(*, kindergarten: Kindergarten | None) -> QuerySet[PlaceEvent]:
    """The chronology of a kindergarten's places, newest first."""
    return _of(PlaceEvent.objects.select_related("by", "place__group"), kindergarten).order_by("-at", "-pk")


def kindergarten_live_referrals(*, kindergarten: Kindergarten | None, at: dt.datetime) -> QuerySet[Referral]:
    """Referrals the kindergarten may still enrol at `at` (live and within validity), the nearest deadline first.
    A referral past its deadline is left out even before the 18:00 run closes it: enrolment refuses it anyway."""
    referrals = Referral.objects.filter(status=Referral.Status.LIVE, valid_until__gte=at).select_related(
        "child", "parent", "place__group", "kindergarten"
    )
    return _of(referrals, kindergarten).order_by("valid_until", "pk")


def kindergarten_contracts(*, kindergarten: Kindergarten | None) -> QuerySet[Contract]:
    """The children enrolled in the kindergarten (active and terminated contracts), newest first."""
    contracts = Contract.objects.select_related("child", "referral__place__group", "kindergarten")
    return _of(contracts, kindergarten).order_by("-enrolled_at", "-pk")


def kindergartens_to_choose() -> QuerySet[Kindergarten]:
    """Every kindergarten, for a department admin to pick the one to act on."""
    return Kindergarten.objects.select_related("city").order_by("city__slug", "code")
