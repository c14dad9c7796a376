"""What offer mode's pages and API show a parent (issue 14; DOMAIN.md, Allocation modes): the kindergartens an
application may choose, its ranked choices, the parent's offers, and until when a paused application may resume.

An offer is the parent's it was made to (the applicant, as `selectors.offers.parent_offers` lists them): another
family's offer, or an id that does not exist, is not found (a 404 at every caller).
"""

import datetime as dt

from django.db.models import Q, QuerySet

from ..errors import NoSuchApplication, NoSuchOffer, NotOfferMode
from ..models import RESUME_DAYS, Application, ApplicationChoice, City, Kindergarten, Offer
from .parents import parent_application


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


def parent_offer(*, parent, offer_id) -> Offer | None:
    """One offer made to the parent, whatever its state, with what its page shows; None for an unknown id and
    for another family's alike. Only the parent an offer was made to answers it (placement.services.offers)."""
    try:
        offer_id = int(offer_id)
    except (TypeError, ValueError):
        return None
    return (
        Offer.objects.filter(pk=offer_id, parent=parent)
        .select_related("kindergarten", "place__group", "application__child", "application__city", "referral")
        .first()
    )


def resume_until(application: Application) -> dt.datetime | None:
    """Until when a paused application may be resumed by its parent; None when it is not paused, or was resumed
    once already (then only the education department may resume it)."""
    if application.paused_at is None or application.resumed_at is not None:
        return None
    return application.paused_at + dt.timedelta(days=RESUME_DAYS)


def parent_offer_application_get(*, parent, number: str) -> Application:
    """One of the parent's applications in a city in offer mode, for its choices and its resume; not found (a 404
    at every caller) for another family's number alike, and for an application of a city in claim mode."""
    application = parent_application(parent=parent, number=number)
    if application is None:
        raise NoSuchApplication()
    if not city_offers(application.city):
        raise NotOfferMode()
    return application


def parent_offer_get(*, parent, offer_id) -> Offer:
    """`parent_offer`, or not found (a 404 at every caller)."""
    offer = parent_offer(parent=parent, offer_id=offer_id)
    if offer is None:
        raise NoSuchOffer()
    return offer
