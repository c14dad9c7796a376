"""Offers in offer mode (issue 14; DOMAIN.md, Allocation modes): the parent's answer, the end of an offer, the pause.

An offer holds its place (state `offered`) until 18:00 of the city's `offer_working_days`-th counted working day.
Accepted, it becomes exactly what a claim gives: a referral of 5 counted working days, the place `taken`, the
application `referred`, the `taken` event, the referral-issued SMS. Declined, its place returns to priority access as
a new release (for the next run) and the application stays in the queue with its time. Expired unanswered, the place
returns the same way and the application is paused: out of allocation, its time and position kept, until the parent
resumes it (once, within 28 days of the pause) or an admin does.

Locks (placement/locks.py), always in this order: the parent's row (a cabinet block takes it too), the place, the
application. The offer's own state changes by a conditional UPDATE (`state = 'live'`), so two paths ending the same
offer (an accept racing the 18:00 run's expiry, a decline racing a block) end it once.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Exists, JSONField, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext_lazy as _

from accounts.models import CabinetBlock, Notification
from accounts.permissions import department_admin_require
from accounts.services.audit import audit_record
from schedules.calendar import priority_ends_at

from .. import allocation
from ..errors import (
    ApplicationNotPaused,
    ClaimRefused,
    NoSuchApplication,
    NoSuchOffer,
    OfferExpired,
    OfferNotLive,
    ResumeExpired,
)
from ..locks import application_lock, parent_lock, place_lock, rows_lock
from ..models import Access, AllocationRun, Application, City, Offer, Place, PlaceEvent, Referral, ReturnReason
from ..permissions import parent_holds_child
from ..registry_cache import registry_changed
from ..selectors.offer_pages import resume_until
from ..selectors.offers import allocation_free_places, allocation_participants
from .events import place_event_build
from .notifications import REMINDER_AHEAD, offers_notify, referral_issued_notify
from .places import place_return
from .protocols import kindergarten_names

ADMINS_RESUME = _("Only department admins resume an application past the parent's window.")


def _live_offer_refusal(*, offer_id: int, at: dt.datetime) -> OfferNotLive | OfferExpired | None:
    """Why the offer cannot be answered now (read under the place's lock), or None."""
    state, valid_until = Offer.objects.filter(pk=offer_id).values_list("state", "valid_until").get()
    if state != Offer.State.LIVE:
        return OfferNotLive()
    if valid_until <= at:
        return OfferExpired()
    return None


def offer_accept(*, offer: Offer, parent, at: dt.datetime, ip: str | None = None) -> Referral:
    """The parent takes the offered place: a referral exactly as a claim gives (DOMAIN.md, Referral, enrolment,
    contract), issued now. Raises NoSuchOffer (404) for another family's offer, OfferNotLive, OfferExpired, and
    ClaimRefused ("blocked", "not_confirmed") when the parent's cabinet is blocked or their representation of the
    child is no longer confirmed."""
    if offer.parent_id != parent.pk:
        raise NoSuchOffer()
    with transaction.atomic():
        parent_lock(user_id=parent.pk)
        if CabinetBlock.objects.active_at(at).filter(user_id=parent.pk).exists():
            raise ClaimRefused("blocked")
        if not parent_holds_child(parent=parent, child_id=offer.application.child_id, confirmed=True):
            raise ClaimRefused("not_confirmed")  # only a confirmed representative holds a referral (DOMAIN.md)
        place = place_lock(place_id=offer.place_id)
        if (refusal := _live_offer_refusal(offer_id=offer.pk, at=at)) is not None:
            raise refusal
        application = application_lock(application_id=offer.application_id)
        if application.status != Application.Status.QUEUED:  # e.g. a general-access claim of the same child
            raise ClaimRefused(
                "has_live_referral" if application.status == Application.Status.REFERRED else "not_in_queue"
            )
        # One live referral per child, whatever the city: the child may hold one through an application elsewhere.
        if Referral.objects.filter(child_id=application.child_id, status=Referral.Status.LIVE).exists():
            raise ClaimRefused("has_live_referral")
        referral = Referral.issued(place=place, application=application, parent=parent, at=at)
        try:
            with transaction.atomic():
                referral.save()
        except IntegrityError as exc:  # the constraint caught what the check above should have: report, never 500
            raise ClaimRefused("has_live_referral") from exc
        Offer.objects.filter(pk=offer.pk).update(state=Offer.State.ACCEPTED, decided_at=at, referral=referral)
        Place.objects.filter(pk=place.pk).update(state=Place.State.TAKEN)
        Application.objects.filter(pk=application.pk).update(status=Application.Status.REFERRED, status_changed_at=at)
        place_event_build(place=place, kind=PlaceEvent.Kind.TAKEN, at=at, by=parent, access=Access.PRIORITY).save()
        audit_record(
            actor=parent,
            action="referral.issue",
            target=referral,
            ip=ip,
            at=at,
            place=place.pk,
            application=application.number,
            offer=offer.pk,
        )
        referral_issued_notify(referral=referral, parent=parent, application=application, at=at)
        registry_changed(places=[place])
    offer.state, offer.decided_at, offer.referral = Offer.State.ACCEPTED, at, referral
    return referral


def offer_end(*, offer: Offer, state: str, at: dt.datetime, by=None, reason: str = "", ip: str | None = None) -> bool:
    """End a live offer without a referral (declined, or expired): its place returns to priority access as a new
    release, for the next run; an expired offer pauses its application and tells the parent (APPLICATION_PAUSED).
    Returns False when the offer was no longer live (another path ended it first). The caller may hold the parent's
    lock (a block does); the place's is taken here."""
    with transaction.atomic():
        place = place_lock(place_id=offer.place_id)
        ended = Offer.objects.filter(pk=offer.pk, state=Offer.State.LIVE).update(
            state=state, decided_at=at, close_reason=str(reason)
        )
        if not ended:
            return False
        place_return(place=place, at=at, by=by, reason=str(reason))
        if state == Offer.State.EXPIRED:
            application_lock(application_id=offer.application_id)
            paused = Application.objects.filter(
                pk=offer.application_id, status=Application.Status.QUEUED, paused_at__isnull=True
            ).update(paused_at=at)
            if paused:  # an application referred or withdrawn meanwhile is not paused, and nobody is told so
                offers_notify(kind=Notification.Kind.APPLICATION_PAUSED, offers=[offer], at=at)
        audit_record(actor=by, action=f"offer.{state}", target=offer, ip=ip, at=at, reason=str(reason))
    offer.state, offer.decided_at, offer.close_reason = state, at, str(reason)
    return True


def offer_decline(*, offer: Offer, parent, at: dt.datetime, ip: str | None = None) -> None:
    """The parent declines the offer: the place returns for the next run, the application stays in the queue with
    its time (and takes part in the next run with its choices as they are then)."""
    if offer.parent_id != parent.pk:
        raise NoSuchOffer()
    if (refusal := _live_offer_refusal(offer_id=offer.pk, at=at)) is not None:
        raise refusal
    if not offer_end(
        offer=offer, state=Offer.State.DECLINED, at=at, by=parent, reason=ReturnReason.OFFER_DECLINED, ip=ip
    ):
        raise OfferNotLive()


def application_resume(*, application: Application, parent, at: dt.datetime, ip: str | None = None) -> None:
    """The parent resumes an application paused by an expired offer: back in the next run's allocation with its
    time. Once per application, within 28 days of the pause; otherwise ResumeExpired (an admin may resume it).
    Raises NoSuchApplication (404) when `parent` does not represent the child, ApplicationNotPaused."""
    if not parent_holds_child(parent=parent, child_id=application.child_id):
        raise NoSuchApplication()
    with transaction.atomic():
        locked = application_lock(application_id=application.pk)
        if locked.paused_at is None:
            raise ApplicationNotPaused()
        until = resume_until(locked)
        if until is None or at > until:  # resumed once already, or past the 28 days
            raise ResumeExpired()
        Application.objects.filter(pk=application.pk).update(paused_at=None, resumed_at=at)
        audit_record(actor=parent, action="application.resume", target=application, ip=ip, at=at)
    application.paused_at, application.resumed_at = None, at


def application_resume_by_admin(*, application: Application, by, at: dt.datetime, ip: str | None = None) -> None:
    """A department admin resumes a paused application whatever its dates (the case past the parent's window)."""
    department_admin_require(by, ADMINS_RESUME)
    with transaction.atomic():
        locked = application_lock(application_id=application.pk)
        if locked.paused_at is None:
            raise ApplicationNotPaused()
        Application.objects.filter(pk=application.pk).update(paused_at=None)
        audit_record(actor=by, action="application.resume", target=application, ip=ip, at=at, by_admin=True)
    application.paused_at = None


# --- The 18:00 run in offer mode (placement.services.daily) ----------------------------------------------------


def offers_expire(*, city: City, cutoff: dt.datetime) -> int:
    """The 18:00 run's step, in every city (a city switched back to claim mode still ends its offers): every live
    offer of the city due by `cutoff` expires at its own deadline; its place returns, its application is paused."""
    due = Offer.objects.filter(state=Offer.State.LIVE, place__city=city, valid_until__lte=cutoff).order_by("place_id")
    count = 0
    for offer in due.iterator(chunk_size=500):
        if offer_end(offer=offer, state=Offer.State.EXPIRED, at=offer.valid_until, reason=ReturnReason.OFFER_EXPIRED):
            count += 1
    return count


def offer_valid_until(*, made_at: dt.datetime, working_days: int) -> dt.datetime:
    """18:00 of the `working_days`-th counted working day after `made_at` (the counted-day rule of Places 2)."""
    return priority_ends_at(made_at, working_days)


def _pseudonym_secret() -> bytes:
    """The key of the runs' pseudonyms: derived from the portal's secret, never published."""
    return hashlib.sha256(b"indigo-allocation-pseudonyms\x00" + settings.SECRET_KEY.encode()).digest()


@dataclass(frozen=True)
class AllocationResult:
    """What the day's protocol publishes of a run: its section (one row per offer, no personal data) and the
    SHA-256 of its inputs document; `offers` are the offers made."""

    section: list[dict]
    inputs_sha256: str
    offers: list  # Offer, or MadeOffer when written in one statement


def allocation_section(*, offers: list[allocation.Offer], places: dict[int, allocation.FreePlace], city: City):
    """The protocol's allocation rows in walk order: place, kindergarten (id, code, names), cohort, language, group
    type, queue position at the run and rank of the kindergarten in the choices (null: "any other")."""
    kindergartens = kindergarten_names(city)
    return [
        {
            "place": offer.place_id,
            "kindergarten": kindergartens[offer.kindergarten_id],
            "birth_year": places[offer.place_id].birth_year,
            "language": places[offer.place_id].language,
            "group_type": places[offer.place_id].group_type,
            "queue_position": offer.position,
            "rank": offer.rank,
        }
        for offer in offers
    ]


def offers_allocate(
    *, city: City, day: dt.date, cutoff: dt.datetime, recorded_at: dt.datetime
) -> AllocationResult | None:
    """The 18:00 run's allocation in an offer-mode city (issue 14; DOMAIN.md, Allocation modes), after the day's
    moves and the expiry of due offers: every place in priority access neither offered nor taken is allocated by
    `placement.allocation.allocate` among the applications that take part (`selectors.offers`), cohort by cohort in
    queue order. Each offer holds its place (`offered`, with its event) until 18:00 of the city's
    `offer_working_days`-th counted working day; the parents get OFFER_MADE. The run's inputs document is stored
    (`AllocationRun`) for `verify_allocation`. None when no place was free. Called in the run's transaction, under
    the city's lock; set-based writes."""
    if connection.vendor == "postgresql":
        # The run's reads are few and large: compiling them (JIT) costs PostgreSQL more than it saves (a second per
        # city of a national day, bench/offers_run.py). For this transaction only.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
    # Locked in id order (after the city's lock): a withdrawal by staff at 18:00 waits for the run instead of moving a
    # place between this read and the run's UPDATE.
    rows = list(rows_lock(allocation_free_places(city=city, cutoff=cutoff)))
    if not rows:
        return None
    places = {
        row[0]: allocation.FreePlace(
            place_id=row[0], kindergarten_id=row[1], birth_year=row[2], language=row[3], group_type=row[4]
        )
        for row in rows
    }
    participants = allocation_participants(
        city=city, birth_years={place.birth_year for place in places.values()}, cutoff=cutoff
    )
    run_id = f"{city.slug}:{day.isoformat()}"
    secret = _pseudonym_secret()
    by_pseudonym = {}
    applicants = []
    for participant in participants:
        name = allocation.pseudonym(secret=secret, run_id=run_id, application_id=participant.application_id)
        by_pseudonym[name] = participant
        applicants.append(
            allocation.Applicant(
                pseudonym=name,
                position=participant.position,
                birth_year=participant.birth_year,
                language=participant.language,
                group_type=participant.group_type,
                choices=participant.choices,
                accept_any=participant.any_other,
            )
        )
    document = allocation.inputs_document(run_id=run_id, applicants=applicants, places=places.values())
    document_text = allocation.canonical_json(document)
    digest = hashlib.sha256(document_text).hexdigest()
    AllocationRun.objects.create(
        city=city,
        day=day,
        made_at=recorded_at,
        inputs=Cast(Value(document_text.decode()), output_field=JSONField()),
        inputs_sha256=digest,
    )
    made = allocation.allocate(applicants=applicants, places=places.values())
    valid_until = offer_valid_until(made_at=cutoff, working_days=city.offer_working_days)
    rows = [
        (offer.place_id, by_pseudonym[offer.pseudonym], offer.kindergarten_id, offer.rank, offer.position)
        for offer in made
    ]
    offers = _offers_insert(rows=rows, made_at=cutoff, valid_until=valid_until, day=day)
    offered_ids = [offer.place_id for offer in made]
    if offered_ids:
        moved = Place.objects.filter(pk__in=offered_ids, state=Place.State.PRIORITY).update(state=Place.State.OFFERED)
        if moved != len(offered_ids):  # the places were read under the city's lock: a mismatch is a bug
            raise RuntimeError(f"18:00 run: offered {len(offered_ids)} places but moved {moved}")
        _offered_events_insert(
            places=[places[pk] for pk in offered_ids], city=city, at=cutoff, day=day, recorded_at=recorded_at
        )
        registry_changed(city_ids=[city.pk])
        offers_notify(kind=Notification.Kind.OFFER_MADE, offers=offers, at=recorded_at)
    section = allocation_section(offers=made, places=places, city=city)
    return AllocationResult(section=section, inputs_sha256=digest, offers=offers)


class MadeOffer(NamedTuple):
    """An offer just written by the run: what `offers_notify` needs of it."""

    pk: int
    place_id: int
    parent_id: int
    application_id: int
    kindergarten_id: int
    valid_until: dt.datetime


_OFFER_INSERT_SQL = (
    "INSERT INTO placement_offer (place_id, application_id, parent_id, kindergarten_id, rank, queue_position, made_at,"
    " valid_until, state, decided_at, close_reason, referral_id, protocol_day)"
    " SELECT o.place_id, o.application_id, o.parent_id, o.kindergarten_id, o.rank, o.queue_position, %(made_at)s,"
    " %(valid_until)s, 'live', NULL, '', NULL, %(day)s"
    " FROM unnest(%(places)s::bigint[], %(applications)s::bigint[], %(parents)s::bigint[],"
    " %(kindergartens)s::bigint[], %(ranks)s::smallint[], %(positions)s::int[])"
    " AS o(place_id, application_id, parent_id, kindergarten_id, rank, queue_position)"
    " ORDER BY o.place_id RETURNING id, place_id, parent_id, application_id, kindergarten_id"
)


def _offers_insert(*, rows: list[tuple], made_at: dt.datetime, valid_until: dt.datetime, day: dt.date):
    """Write the run's offers: (place id, participant, kindergarten id, rank, queue position) each. On PostgreSQL
    one INSERT ... SELECT FROM unnest (a national day's 5,000 offers of a city through the ORM cost a second)."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return Offer.objects.bulk_create(
            [
                Offer(
                    place_id=place_id,
                    application_id=participant.application_id,
                    parent_id=participant.parent_id,
                    kindergarten_id=kindergarten_id,
                    rank=rank,
                    queue_position=position,
                    made_at=made_at,
                    valid_until=valid_until,
                    protocol_day=day,
                )
                for place_id, participant, kindergarten_id, rank, position in rows
            ],
            batch_size=1000,
        )
    params = {
        "made_at": made_at,
        "valid_until": valid_until,
        "day": day,
        "places": [row[0] for row in rows],
        "applications": [row[1].application_id for row in rows],
        "parents": [row[1].parent_id for row in rows],
        "kindergartens": [row[2] for row in rows],
        "ranks": [row[3] for row in rows],
        "positions": [row[4] for row in rows],
    }
    with connection.cursor() as cursor:
        cursor.execute(_OFFER_INSERT_SQL, params)
        return [MadeOffer(*row, valid_until) for row in cursor.fetchall()]


def _offered_events_insert(
    *, places: list[allocation.FreePlace], city: City, at: dt.datetime, day: dt.date, recorded_at: dt.datetime
) -> None:
    """The `offered` event of each place (the registry and the protocol know of it), as `place_event_build` would
    write it, in one statement per 5,000 on PostgreSQL."""
    if connection.vendor != "postgresql":
        PlaceEvent.objects.bulk_create(
            [
                PlaceEvent(
                    place_id=place.place_id,
                    city_id=city.pk,
                    kindergarten_id=place.kindergarten_id,
                    kind=PlaceEvent.Kind.OFFERED,
                    at=at,
                    protocol_day=day,
                    recorded_at=recorded_at,
                    birth_year=place.birth_year,
                    language=place.language,
                    group_type=place.group_type,
                    access=Access.PRIORITY,
                )
                for place in places
            ],
            batch_size=2000,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO placement_placeevent (place_id, city_id, kindergarten_id, kind, at, protocol_day,"
            " recorded_at, by_id, reason, birth_year, language, group_type, access)"
            " SELECT e.place_id, %(city)s, e.kindergarten_id, %(kind)s, %(at)s, %(day)s, %(recorded_at)s, NULL, '',"
            " e.birth_year, e.language, e.group_type, %(access)s"
            " FROM unnest(%(places)s::bigint[], %(kindergartens)s::bigint[], %(years)s::int[], %(languages)s::text[],"
            " %(types)s::text[]) AS e(place_id, kindergarten_id, birth_year, language, group_type) ORDER BY e.place_id",
            {
                "city": city.pk,
                "kind": PlaceEvent.Kind.OFFERED.value,
                "at": at,
                "day": day,
                "recorded_at": recorded_at,
                "access": Access.PRIORITY.value,
                "places": [place.place_id for place in places],
                "kindergartens": [place.kindergarten_id for place in places],
                "years": [place.birth_year for place in places],
                "languages": [place.language for place in places],
                "types": [place.group_type for place in places],
            },
        )


def offers_expiring_notify(*, at: dt.datetime) -> int:
    """The beat's reminder: every live offer whose deadline falls within the next 24 hours gets one OFFER_EXPIRING
    SMS (keyed per offer; offers already reminded are not read again). Returns how many were written."""
    key = Concat(Value(f"{Notification.Kind.OFFER_EXPIRING}:"), Cast(OuterRef("pk"), CharField()))
    due = (
        Offer.objects.filter(state=Offer.State.LIVE, valid_until__gt=at, valid_until__lte=at + REMINDER_AHEAD)
        .exclude(Exists(Notification.objects.filter(key=key)))
        .only("pk", "parent_id", "application_id", "kindergarten_id", "valid_until")
        .order_by("pk")
    )
    return offers_notify(kind=Notification.Kind.OFFER_EXPIRING, offers=due, at=at)
