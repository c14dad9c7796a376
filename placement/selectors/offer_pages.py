"""What offer mode's pages and API show a parent (issue 14; DOMAIN.md, Allocation modes): the kindergartens an
application may choose, its ranked choices, the parent's offers, and until when a paused application may resume.

The same visibility as the rest of the cabinet (`selectors.parents`): a parent sees the offers of the applications
they see, i.e. the ones they filed and those of children they are the confirmed representative of. Another family's
offer, or an id that does not exist, is not found (a 404 at every caller).
"""

import datetime as dt

from django.db.models import Q, QuerySet

from accounts.models import Representation

from ..models import Application, ApplicationChoice, City, Kindergarten, Offer

# An application paused by an expired offer may be resumed by its parent within these days (issue 14, Offers).
RESUME_DAYS = 28


def city_offers(city: City) -> bool:
    """The city allocates its priority places by offers at the 18:00 run (offer mode)."""
    return city.allocation_mode == City.AllocationMode.OFFER


def choice_kindergartens(*, application: Application) -> QuerySet[Kindergarten]:
    """The kindergartens of the application's city with a group of its cohort, group type and language (either
    language when the application takes "any"): the only ones it may rank."""
    group = Q(groups__birth_year=application.birth_year, groups__group_type=application.group_type)
    if application.language != Application.Language.ANY:
        group &= Q(groups__language=application.language)
    # One filter() call: every condition holds on the same group.
    return Kindergarten.objects.filter(group, city_id=application.city_id).distinct().order_by("code", "pk")


def application_choices(*, application: Application) -> list[ApplicationChoice]:
    """The application's ranked kindergartens, first choice first."""
    return list(
        ApplicationChoice.objects.filter(application=application).select_related("kindergarten").order_by("rank")
    )


def applications_choices(*, applications) -> dict[int, list[ApplicationChoice]]:
    """The ranked kindergartens of many applications (one query), by application id."""
    found: dict[int, list[ApplicationChoice]] = {}
    rows = (
        ApplicationChoice.objects.filter(application__in=[a.pk for a in applications])
        .select_related("kindergarten")
        .order_by("application_id", "rank")
    )
    for choice in rows:
        found.setdefault(choice.application_id, []).append(choice)
    return found


def _visible_offers(*, parent) -> QuerySet[Offer]:
    confirmed = Representation.objects.filter(parent=parent, status=Representation.Status.CONFIRMED)
    return Offer.objects.filter(Q(parent=parent) | Q(application__child_id__in=confirmed.values("child_id")))


def parent_offer_list(*, parent) -> QuerySet[Offer]:
    """Every offer a parent sees, whatever its state, newest first, with what a card shows (one query)."""
    return (
        _visible_offers(parent=parent)
        .select_related("kindergarten", "place__group", "application__child", "application__city", "referral")
        .order_by("-made_at", "-pk")
    )


def parent_offer(*, parent, offer_id) -> Offer | None:
    """One offer the parent sees, or None (an unknown id and another family's are alike)."""
    try:
        offer_id = int(offer_id)
    except (TypeError, ValueError):
        return None
    return parent_offer_list(parent=parent).filter(pk=offer_id).first()


def parent_live_offers(*, parent) -> dict[int, Offer]:
    """The parent's live offers, by application id (an application holds at most one)."""
    return {offer.application_id: offer for offer in parent_offer_list(parent=parent).filter(state=Offer.State.LIVE)}


def resume_until(application: Application) -> dt.datetime | None:
    """Until when a paused application may be resumed by its parent; None when it is not paused."""
    if application.paused_at is None:
        return None
    return application.paused_at + dt.timedelta(days=RESUME_DAYS)
