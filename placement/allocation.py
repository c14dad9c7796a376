"""The pure core of offer mode's allocation (issue 14; DOMAIN.md, Allocation modes and Queue).

Plain Python on plain values, with no database and no Django, so that the same code allocates at the 18:00 run,
re-runs a stored day in `manage.py verify_allocation`, and lets anyone re-check a published protocol from the
run's inputs document alone.

The rule (serial dictatorship over one queue order, i.e. child-proposing deferred acceptance): walk the applicants
of a city cohort by cohort in queue order; each gets the highest-ranked of its kindergartens that still has a free
compatible place (the lowest place id there), else, if it accepts any, the free compatible place of the lowest
kindergarten id, then the lowest place id; the walk stops when no free place is left. Within a run nobody gains by
misreporting choices, and nobody that took part loses a place it ranked higher to a child behind it in the queue:
`justified_envy` counts such losses, and an allocation by `allocate` has none.

A place is compatible with an applicant when cohort (birth year) and group type are equal and the languages are
equal or the applicant accepts either ("any").
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain, pairwise
from operator import attrgetter

LANGUAGES = ("kk", "ru")  # a group's language of instruction
ANY_LANGUAGE = "any"  # an application that takes either
_APPLICATION_LANGUAGES = frozenset((*LANGUAGES, ANY_LANGUAGE))

DOCUMENT_VERSION = 1
PSEUDONYM_HEX_DIGITS = 16  # 64 bits: no collision in practice among a city's applicants in one run

# (birth_year, language, group_type): an applicant's language may be "any", a place's is kk or ru.
Key = tuple[int, str, str]


class _Matched:
    """What an applicant and a place are matched on: their cohort, language and group type (`key`)."""

    __slots__ = ()

    @property
    def key(self) -> Key:
        return (self.birth_year, self.language, self.group_type)


@dataclass(frozen=True, slots=True)
class Applicant(_Matched):
    """An application that takes part in one run: queued, without a live offer or referral (issue 14).

    `position` is its queue position in its city and cohort at the run (DOMAIN.md, Queue); `choices` are its
    ranked kindergarten ids, first is best, no repeats; `accept_any` is the flag "offer me any other matching
    place when none of my choices has one".
    """

    pseudonym: str
    position: int
    birth_year: int
    language: str
    group_type: str
    choices: tuple[int, ...]
    accept_any: bool

    def __post_init__(self) -> None:
        if self.language not in _APPLICATION_LANGUAGES:
            raise ValueError(f"applicant {self.pseudonym}: unknown language {self.language!r}")
        if self.position < 1:
            raise ValueError(f"applicant {self.pseudonym}: queue positions start at 1")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"applicant {self.pseudonym}: a kindergarten is chosen twice")


@dataclass(frozen=True, slots=True)
class FreePlace(_Matched):
    """A place in priority access, neither offered nor taken, with its group's cohort, language and type."""

    place_id: int
    kindergarten_id: int
    birth_year: int
    language: str
    group_type: str

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"place {self.place_id}: a group's language is kk or ru, not {self.language!r}")


@dataclass(frozen=True, slots=True)
class Offer:
    """A place offered to an applicant: `rank` is the kindergarten's rank in its choices (1 is first), None for a
    place it took as "any other". The protocol publishes place, kindergarten, position and rank with the place's
    cohort; the pseudonym only ties the offer to its entry in the run's inputs document."""

    place_id: int
    kindergarten_id: int
    pseudonym: str
    position: int
    rank: int | None


@dataclass(frozen=True, slots=True)
class AllocationInputs:
    """A run's inputs as its document stores them: applicants in queue order, places by id."""

    run_id: str
    applicants: tuple[Applicant, ...]
    places: tuple[FreePlace, ...]


def compatible(*, applicant: Applicant, place: FreePlace) -> bool:
    """The place matches the application: same cohort, same group type, same language or "any"
    (DOMAIN.md, Places and their access, 3)."""
    return (
        place.birth_year == applicant.birth_year
        and place.group_type == applicant.group_type
        and applicant.language in (place.language, ANY_LANGUAGE)
    )


def _place_keys(key: Key) -> tuple[Key, ...]:
    """The keys of the places an applicant of `key` can take: its own, or both languages for "any"."""
    birth_year, language, group_type = key
    if language == ANY_LANGUAGE:
        return tuple((birth_year, each, group_type) for each in LANGUAGES)
    return (key,)


def _cohort_queues(applicants: Iterable[Applicant]) -> dict[int, list[Applicant]]:
    """The applicants by cohort (birth year), each cohort in queue order. Raises ValueError for two applicants under
    one pseudonym or at one position of a cohort: offers name applicants, and the walk needs one order."""
    applicants = list(applicants)
    if len(set(map(attrgetter("pseudonym"), applicants))) != len(applicants):
        raise ValueError("two applicants share a pseudonym")
    cohorts: dict[int, list[Applicant]] = {}
    for applicant in applicants:
        queue = cohorts.get(applicant.birth_year)
        if queue is None:
            queue = cohorts[applicant.birth_year] = []
        queue.append(applicant)
    for birth_year, queue in cohorts.items():
        queue.sort(key=attrgetter("position"))
        positions = list(map(attrgetter("position"), queue))
        if len(set(positions)) != len(positions):
            ahead, behind = next((a, b) for a, b in pairwise(queue) if a.position == b.position)
            raise ValueError(
                f"applicants {ahead.pseudonym} and {behind.pseudonym} share queue position {ahead.position} "
                f"in cohort {birth_year}"
            )
    return cohorts


def _queue_order(applicants: Iterable[Applicant]) -> list[Applicant]:
    """The applicants cohort by cohort (by birth year), each cohort in queue order."""
    cohorts = _cohort_queues(applicants)
    return [applicant for birth_year in sorted(cohorts) for applicant in cohorts[birth_year]]


class _Shelf:
    """The free places of one key (cohort, language, group type).

    Per kindergarten its free place ids, highest first so that pop() gives the lowest; an emptied kindergarten is
    dropped, so a choice without a place costs one failed dict lookup. The kindergarten ids ascending behind a
    cursor serve "any other": within a run a kindergarten, once emptied, never refills, so the cursor only moves
    forward.
    """

    __slots__ = ("by_kindergarten", "cursor", "kindergartens", "left")

    def __init__(self, places: list[FreePlace]) -> None:
        self.by_kindergarten: dict[int, list[int]] = {}
        for place in places:
            self.by_kindergarten.setdefault(place.kindergarten_id, []).append(place.place_id)
        for place_ids in self.by_kindergarten.values():
            place_ids.sort(reverse=True)
        self.kindergartens = sorted(self.by_kindergarten)
        self.cursor = 0
        self.left = len(places)

    def take(self, kindergarten_id: int) -> int:
        """The lowest free place id of the kindergarten, taken."""
        place_ids = self.by_kindergarten[kindergarten_id]
        place_id = place_ids.pop()
        if not place_ids:
            del self.by_kindergarten[kindergarten_id]
        self.left -= 1
        return place_id

    def lowest(self) -> tuple[int, int]:
        """(kindergarten id, place id) of the lowest kindergarten with a free place; the shelf is not empty."""
        while self.kindergartens[self.cursor] not in self.by_kindergarten:
            self.cursor += 1
        kindergarten_id = self.kindergartens[self.cursor]
        return kindergarten_id, self.by_kindergarten[kindergarten_id][-1]

    def take_choice(self, choices: tuple[int, ...]) -> tuple[int, int, int] | None:
        """(place id, kindergarten id, rank) of the highest-ranked choice with a free place, taken."""
        for rank, kindergarten_id in enumerate(choices, 1):
            if kindergarten_id in self.by_kindergarten:
                return self.take(kindergarten_id), kindergarten_id, rank
        return None

    def take_any(self) -> tuple[int, int, None]:
        """(place id, kindergarten id, None): the lowest kindergarten id, then the lowest place id, taken."""
        kindergarten_id, _ = self.lowest()
        return self.take(kindergarten_id), kindergarten_id, None


class _EitherLanguage:
    """The shelves of both languages of a cohort and group type, as an applicant of language "any" sees them:
    the same rule over the union, i.e. in a kindergarten the lowest place id of either language's groups."""

    __slots__ = ("shelves",)

    def __init__(self, shelves: tuple[_Shelf, ...]) -> None:
        self.shelves = shelves

    @property
    def left(self) -> int:
        return sum(shelf.left for shelf in self.shelves)

    def take_choice(self, choices: tuple[int, ...]) -> tuple[int, int, int] | None:
        for rank, kindergarten_id in enumerate(choices, 1):
            holding = [shelf for shelf in self.shelves if kindergarten_id in shelf.by_kindergarten]
            if holding:
                shelf = min(holding, key=lambda shelf: shelf.by_kindergarten[kindergarten_id][-1])
                return shelf.take(kindergarten_id), kindergarten_id, rank
        return None

    def take_any(self) -> tuple[int, int, None]:
        shelf = min((shelf for shelf in self.shelves if shelf.left), key=_Shelf.lowest)
        return shelf.take_any()


def _shelves(places: Iterable[FreePlace]) -> dict[Key, _Shelf]:
    by_key: dict[Key, list[FreePlace]] = {}
    seen: set[int] = set()
    for place in places:
        if place.place_id in seen:
            raise ValueError(f"place {place.place_id} is given twice")
        seen.add(place.place_id)
        by_key.setdefault(place.key, []).append(place)
    return {key: _Shelf(group) for key, group in by_key.items()}


def allocate(*, applicants: Iterable[Applicant], places: Iterable[FreePlace]) -> list[Offer]:
    """Offer mode's allocation of one city's free places (issue 14; DOMAIN.md, Allocation modes).

    Cohort by cohort, in queue order, each applicant gets the highest-ranked choice that still has a free compatible
    place (the lowest place id in that kindergarten), else, if it accepts any, the free compatible place of the
    lowest kindergarten id, then lowest place id; an applicant with nothing it can take is skipped; the walk stops
    when no free place is left. The offers come in walk order: cohorts by birth year, each in queue order.
    Deterministic: the order the inputs come in is irrelevant.
    """
    cohorts = _cohort_queues(applicants)
    shelves = _shelves(places)
    nothing = _Shelf([])
    offers: list[Offer] = []
    for birth_year in sorted(cohorts):
        # Cohorts never compete for a place: each walk stops when its own cohort's places are gone, so a cohort
        # costs the head of its queue, not the whole queue.
        left = sum(shelf.left for key, shelf in shelves.items() if key[0] == birth_year)
        if not left:
            continue
        views: dict[tuple[str, str], _Shelf | _EitherLanguage] = {}
        for applicant in cohorts[birth_year]:
            kind = (applicant.language, applicant.group_type)
            view = views.get(kind)
            if view is None:
                keys = _place_keys((birth_year, *kind))
                found = tuple(shelves.get(key, nothing) for key in keys)
                view = views[kind] = found[0] if len(found) == 1 else _EitherLanguage(found)
            if not view.left:
                continue  # nothing left this applicant could take: one check, whatever its choices
            taken = view.take_choice(applicant.choices)
            if taken is None:
                if not applicant.accept_any:
                    continue
                taken = view.take_any()
            place_id, kindergarten_id, rank = taken
            offers.append(Offer(place_id, kindergarten_id, applicant.pseudonym, applicant.position, rank))
            left -= 1
            if not left:
                break
    return offers


def justified_envy(*, applicants: Iterable[Applicant], places: Iterable[FreePlace], offers: Iterable[Offer]) -> int:
    """The number of pairs (a, b) of applicants that took part where a is ahead of b in their cohort's queue, b's
    offered place p is compatible with a, and a strictly prefers p's kindergarten to what a got (issue 14;
    DOMAIN.md, Allocation modes): a ranked it above the kindergarten of its own offer, or a got nothing and ranked
    it, or a got nothing and accepts any. Places outside a's choices are all alike to a, below every choice.

    Zero for every allocation by `allocate`; `verify_allocation` prints it for a stored run. Raises ValueError for
    offers that are not an allocation of these inputs (an unknown applicant or place, a place or applicant offered
    twice, an incompatible place, a kindergarten, position or rank that does not match).

    Counted over the holders' sorted positions per key and kindergarten, not pair by pair: an applicant behind
    every holder of its cohort costs one comparison, any other one binary search per kindergarten it prefers to
    its own and per language it can take.
    """
    cohorts = _cohort_queues(applicants)
    at_position = {
        birth_year: dict(zip(map(attrgetter("position"), queue), queue, strict=True))
        for birth_year, queue in cohorts.items()
    }
    by_place_id = {place.place_id: place for place in places}
    got: dict[str, int] = {}  # pseudonym -> kindergarten id of its offer
    # The queue positions of the holders of offered places: per key, and per key and kindergarten.
    holders: dict[Key, list[int]] = {}
    holders_in: dict[Key, dict[int, list[int]]] = {}
    offered: set[int] = set()
    for offer in offers:
        place = by_place_id.get(offer.place_id)
        applicant = at_position.get(place.birth_year, {}).get(offer.position) if place else None
        _check_offer(offer, applicant=applicant, place=place, offered=offered, got=got)
        offered.add(place.place_id)
        got[offer.pseudonym] = place.kindergarten_id
        holders.setdefault(place.key, []).append(offer.position)
        holders_in.setdefault(place.key, {}).setdefault(place.kindergarten_id, []).append(offer.position)
    for positions in holders.values():
        positions.sort()
    for by_kindergarten in holders_in.values():
        for positions in by_kindergarten.values():
            positions.sort()
    last_holder: dict[int, int] = {}  # cohort -> the position of its last holder
    for (birth_year, _, _), positions in holders.items():
        last_holder[birth_year] = max(last_holder.get(birth_year, 0), positions[-1])

    envy = 0
    for birth_year, queue in cohorts.items():
        last = last_holder.get(birth_year, 0)
        keys_of: dict[tuple[str, str], tuple[Key, ...]] = {}
        for applicant in queue:
            position = applicant.position
            if position >= last:
                break  # nobody behind it holds an offer
            kind = (applicant.language, applicant.group_type)
            keys = keys_of.get(kind)
            if keys is None:
                keys = keys_of[kind] = tuple(k for k in _place_keys((birth_year, *kind)) if k in holders)
            own = got.get(applicant.pseudonym)
            if own is None and applicant.accept_any:
                # Every compatible offered place is better than nothing.
                envy += sum(_behind(holders[key], position) for key in keys)
                continue
            choices = applicant.choices
            preferred = choices[: choices.index(own)] if own in choices else choices  # own: None or outside
            for key in keys:
                by_kindergarten = holders_in[key]
                for kindergarten_id in preferred:
                    positions = by_kindergarten.get(kindergarten_id)
                    if positions:
                        envy += _behind(positions, position)
    return envy


def _behind(positions: list[int], position: int) -> int:
    """How many of the sorted positions come after `position`."""
    return len(positions) - bisect.bisect_right(positions, position)


def _check_offer(
    offer: Offer, *, applicant: Applicant | None, place: FreePlace | None, offered: set[int], got: dict[str, int]
) -> None:
    if place is None:
        raise ValueError(f"offer of place {offer.place_id}: not a free place of the run")
    if place.place_id in offered:
        raise ValueError(f"place {place.place_id} is offered twice")
    if applicant is None or applicant.pseudonym != offer.pseudonym:
        raise ValueError(
            f"offer of place {place.place_id}: {offer.pseudonym} is not at position {offer.position} "
            f"of cohort {place.birth_year} in the run"
        )
    if offer.pseudonym in got:
        raise ValueError(f"{offer.pseudonym} has two offers")
    if offer.kindergarten_id != place.kindergarten_id:
        raise ValueError(f"offer of place {place.place_id}: the place is in kindergarten {place.kindergarten_id}")
    if not compatible(applicant=applicant, place=place):
        raise ValueError(f"offer of place {place.place_id}: the place does not match {offer.pseudonym}")
    choices = applicant.choices
    rank = choices.index(place.kindergarten_id) + 1 if place.kindergarten_id in choices else None
    if offer.rank != rank:
        raise ValueError(f"offer of place {place.place_id}: the kindergarten's rank is {rank}, not {offer.rank}")


def pseudonym(*, secret: bytes, run_id: str, application_id: int) -> str:
    """The application's name in one run's inputs: HMAC-SHA256 of the run and the application id under a secret
    the portal keeps, truncated. It differs from run to run, so runs cannot be linked, and without the secret it
    reveals nothing; with it, the portal can show a parent which entry is theirs."""
    # The id is digits and comes last: no two (run_id, id) pairs give the same message.
    message = f"{run_id}\x00{application_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_DIGITS]


def inputs_document(*, run_id: str, applicants: Iterable[Applicant], places: Iterable[FreePlace]) -> dict:
    """A run's inputs as a small JSON document, the same whatever the order they were given in.

    Column by column, so that it is built and read without a loop in Python per row:
    {"v": version, "r": run id,
     "k": [[birth_year, language, group_type], ...]  the compatibility keys, sorted, referred to by index,
     "a": {"p": [pseudonym, ...], "q": [queue position, ...], "k": [key index, ...],
           "c": [[kindergarten id, ...], ...], "y": [accept_any 0|1, ...]}  applicants cohort by cohort in queue order,
     "p": {"id": [place id, ...], "kg": [kindergarten id, ...], "k": [key index, ...]}  places by id}
    """
    queue = _queue_order(applicants)
    free = sorted(places, key=attrgetter("place_id"))
    if len(set(map(attrgetter("place_id"), free))) != len(free):
        raise ValueError("a place is given twice")
    key_of = attrgetter("birth_year", "language", "group_type")
    applicant_keys, place_keys = list(map(key_of, queue)), list(map(key_of, free))
    keys = sorted({*applicant_keys, *place_keys})
    index = {key: i for i, key in enumerate(keys)}
    return {
        "v": DOCUMENT_VERSION,
        "r": run_id,
        "k": [list(key) for key in keys],
        "a": {
            "p": list(map(attrgetter("pseudonym"), queue)),
            "q": list(map(attrgetter("position"), queue)),
            "k": list(map(index.__getitem__, applicant_keys)),
            # The applicants' own tuples, which JSON writes as arrays: no new container per applicant.
            "c": list(map(attrgetter("choices"), queue)),
            "y": list(map(int, map(attrgetter("accept_any"), queue))),
        },
        "p": {
            "id": list(map(attrgetter("place_id"), free)),
            "kg": list(map(attrgetter("kindergarten_id"), free)),
            "k": list(map(index.__getitem__, place_keys)),
        },
    }


def canonical_json(document: Mapping) -> bytes:
    """The document's one byte form: sorted keys, no whitespace, UTF-8. What is stored and what is hashed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def inputs_sha256(document: Mapping) -> str:
    """The hex SHA-256 of the document's canonical JSON, as the protocol publishes it."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def inputs_from_document(document: Mapping) -> AllocationInputs:
    """The run's inputs back from its document (as stored, or parsed from its canonical JSON), so that a verifier
    re-runs `allocate` from the document alone. Raises ValueError for a document this version cannot read.

    Strict about types (an integer is a JSON integer, a string a string): what is allocated is exactly what was
    hashed, never a coerced look-alike."""
    if document.get("v") != DOCUMENT_VERSION:
        raise ValueError(f"unknown inputs document version {document.get('v')!r}")
    try:
        run_id = _strings([document["r"]])[0]
        keys = []
        for entry in _rows(document["k"]):
            (birth_year,), (language, group_type) = _integers(entry[:1]), _strings(entry[1:])
            keys.append((birth_year, language, group_type))
        a, p = document["a"], document["p"]
        names, positions, key_ids = _strings(a["p"]), _integers(a["q"]), _indexes(a["k"], keys)
        choices, flags = _rows(a["c"]), _integers(a["y"])
        _integers(list(chain.from_iterable(choices)))
        if not set(flags) <= {0, 1}:
            raise ValueError("accept_any is 0 or 1")
        applicants = tuple(
            Applicant(
                pseudonym=name,
                position=position,
                birth_year=birth_year,
                language=language,
                group_type=group_type,
                choices=tuple(chosen),
                accept_any=bool(flag),
            )
            for name, position, (birth_year, language, group_type), chosen, flag in zip(
                names, positions, key_ids, choices, flags, strict=True
            )
        )
        places = tuple(
            FreePlace(
                place_id=place_id,
                kindergarten_id=kindergarten_id,
                birth_year=birth_year,
                language=language,
                group_type=group_type,
            )
            for place_id, kindergarten_id, (birth_year, language, group_type) in zip(
                _integers(p["id"]), _integers(p["kg"]), _indexes(p["k"], keys), strict=True
            )
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed inputs document: {exc}") from exc
    return AllocationInputs(run_id=run_id, applicants=applicants, places=places)


def _integers(values: object) -> list[int]:
    """The list, if it holds JSON integers only (not booleans, not floats)."""
    if type(values) is not list or not set(map(type, values)) <= {int}:
        raise ValueError("expected a list of integers")
    return values


def _strings(values: object) -> list[str]:
    if type(values) is not list or not set(map(type, values)) <= {str}:
        raise ValueError("expected a list of strings")
    return values


def _rows(values: object) -> list[list | tuple]:
    """The list, if it holds arrays only: lists as JSON gives them, or tuples as `inputs_document` does."""
    if type(values) is not list or not set(map(type, values)) <= {list, tuple}:
        raise ValueError("expected a list of lists")
    return values


def _indexes(values: object, keys: list[Key]) -> list[Key]:
    """The keys the indexes refer to."""
    indexes = _integers(values)
    if indexes and not (min(indexes) >= 0 and max(indexes) < len(keys)):
        raise ValueError("a key index out of range")
    return [keys[i] for i in indexes]
