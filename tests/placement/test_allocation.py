"""Offer mode's pure allocation (issue 14; DOMAIN.md, Allocation modes): no database anywhere in this file.

The rules one by one on hand-made cities, then Hypothesis over random small cities against a brute-force reference
and a naive pair count written here, independently of placement/allocation.py.
"""

import dataclasses
import hashlib
import hmac
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement.allocation import (
    Applicant,
    FreePlace,
    Offer,
    allocate,
    canonical_json,
    inputs_document,
    inputs_from_document,
    inputs_sha256,
    justified_envy,
    pseudonym,
)

COHORT = 2021


def applicant(
    name: str,
    position: int,
    choices: tuple[int, ...] = (),
    *,
    accept_any: bool = False,
    language: str = "kk",
    birth_year: int = COHORT,
    group_type: str = "general",
) -> Applicant:
    return Applicant(
        pseudonym=name,
        position=position,
        birth_year=birth_year,
        language=language,
        group_type=group_type,
        choices=choices,
        accept_any=accept_any,
    )


def place(
    place_id: int, kindergarten_id: int, *, language: str = "kk", birth_year: int = COHORT, group_type: str = "general"
) -> FreePlace:
    return FreePlace(
        place_id=place_id,
        kindergarten_id=kindergarten_id,
        birth_year=birth_year,
        language=language,
        group_type=group_type,
    )


def offered(offers: list[Offer]) -> dict[str, tuple[int, int | None]]:
    """pseudonym -> (place id, rank): what each applicant got, for short assertions."""
    return {offer.pseudonym: (offer.place_id, offer.rank) for offer in offers}


# The rules, one by one


def test_highest_ranked_choice_with_a_free_place_wins():
    places = [place(1, kindergarten_id=10), place(2, kindergarten_id=20)]
    offers = allocate(applicants=[applicant("a", 1, (20, 10))], places=places)
    assert offers == [Offer(place_id=2, kindergarten_id=20, pseudonym="a", position=1, rank=1)]


def test_a_choice_whose_places_are_gone_falls_to_the_next_ranked_choice():
    places = [place(1, kindergarten_id=10), place(2, kindergarten_id=20)]
    applicants = [applicant("first", 1, (20,)), applicant("second", 2, (20, 10))]
    assert offered(allocate(applicants=applicants, places=places)) == {"first": (2, 1), "second": (1, 2)}


def test_lowest_place_id_within_the_kindergarten():
    places = [place(7, kindergarten_id=10), place(3, kindergarten_id=10), place(5, kindergarten_id=10)]
    applicants = [applicant("a", 1, (10,)), applicant("b", 2, (10,))]
    assert offered(allocate(applicants=applicants, places=places)) == {"a": (3, 1), "b": (5, 1)}


def test_any_other_takes_the_lowest_kindergarten_id_then_the_lowest_place_id():
    places = [place(1, kindergarten_id=20), place(9, kindergarten_id=10), place(8, kindergarten_id=10)]
    applicants = [applicant("a", 1, (30,), accept_any=True), applicant("b", 2, (30,), accept_any=True)]
    assert offered(allocate(applicants=applicants, places=places)) == {"a": (8, None), "b": (9, None)}


def test_any_other_is_only_for_applicants_who_accept_it():
    places = [place(1, kindergarten_id=20)]
    assert allocate(applicants=[applicant("a", 1, (30,))], places=places) == []
    assert allocate(applicants=[applicant("a", 1, ())], places=places) == []


def test_a_choice_beats_any_other_even_in_a_higher_kindergarten_id():
    places = [place(1, kindergarten_id=10), place(2, kindergarten_id=90)]
    offers = allocate(applicants=[applicant("a", 1, (90,), accept_any=True)], places=places)
    assert offered(offers) == {"a": (2, 1)}


def test_language_any_matches_kazakh_and_russian_groups():
    places = [place(1, kindergarten_id=10, language="ru"), place(2, kindergarten_id=20, language="kk")]
    applicants = [applicant("a", 1, (10, 20), language="any"), applicant("b", 2, (10, 20), language="any")]
    assert offered(allocate(applicants=applicants, places=places)) == {"a": (1, 1), "b": (2, 2)}


def test_language_any_takes_the_lowest_place_id_over_both_languages_of_a_kindergarten():
    places = [place(5, kindergarten_id=10, language="kk"), place(4, kindergarten_id=10, language="ru")]
    applicants = [applicant("a", 1, (10,), language="any"), applicant("b", 2, (), language="any", accept_any=True)]
    assert offered(allocate(applicants=applicants, places=places)) == {"a": (4, 1), "b": (5, None)}


def test_a_kazakh_or_russian_application_takes_only_its_own_language():
    places = [place(1, kindergarten_id=10, language="ru")]
    assert allocate(applicants=[applicant("a", 1, (10,), language="kk", accept_any=True)], places=places) == []


def test_cohort_and_group_type_must_match():
    places = [place(1, kindergarten_id=10, birth_year=2020), place(2, kindergarten_id=10, group_type="special")]
    applicants = [
        applicant("general-2021", 1, (10,), accept_any=True),
        applicant("special-2021", 2, (10,), group_type="special"),
        applicant("general-2020", 1, (10,), birth_year=2020),
    ]
    assert offered(allocate(applicants=applicants, places=places)) == {"special-2021": (2, 1), "general-2020": (1, 1)}


def test_an_applicant_with_no_compatible_place_is_skipped_and_the_walk_continues():
    places = [place(1, kindergarten_id=10, language="ru"), place(2, kindergarten_id=20, language="ru")]
    applicants = [
        applicant("kazakh", 1, (10,), accept_any=True),
        applicant("not-my-choices", 2, (30,), language="ru"),
        applicant("russian", 3, (20,), language="ru"),
    ]
    assert offered(allocate(applicants=applicants, places=places)) == {"russian": (2, 1)}


class _Unread(Applicant):
    __slots__ = ()

    def __getattribute__(self, name):
        if name in ("language", "group_type", "choices", "accept_any"):
            raise AssertionError(f"the walk read {name} of an applicant behind its stop")
        return super().__getattribute__(name)


def unread(applicant: Applicant) -> Applicant:
    """The applicant, made to fail the test if the walk reads what it would need to allocate it."""
    object.__setattr__(applicant, "__class__", _Unread)  # the same slots: only attribute reads change
    return applicant


def test_the_walk_stops_when_no_place_is_left():
    places = [place(1, kindergarten_id=10)]
    first, second = applicant("first", 1, (10,)), unread(applicant("second", 2, (10,), accept_any=True))
    assert offered(allocate(applicants=[second, first], places=places)) == {"first": (1, 1)}


def test_a_cohort_without_free_places_is_not_walked():
    places = [place(1, kindergarten_id=10, birth_year=2020)]
    applicants = [unread(applicant("2021", 1, (10,))), applicant("2020", 1, (10,), birth_year=2020)]
    assert offered(allocate(applicants=applicants, places=places)) == {"2020": (1, 1)}


def test_queue_position_decides_not_the_order_of_the_input():
    places = [place(1, kindergarten_id=10)]
    applicants = [applicant("behind", 7, (10,)), applicant("ahead", 3, (10,))]
    assert offered(allocate(applicants=applicants, places=places)) == {"ahead": (1, 1)}


def test_cohorts_are_walked_apart_with_positions_of_their_own():
    places = [place(1, kindergarten_id=10, birth_year=2020), place(2, kindergarten_id=10, birth_year=2021)]
    applicants = [applicant("2021", 1, (10,), birth_year=2021), applicant("2020", 1, (10,), birth_year=2020)]
    offers = allocate(applicants=applicants, places=places)
    assert [offer.pseudonym for offer in offers] == ["2020", "2021"]  # walk order: cohorts by birth year


def test_determinism_the_same_inputs_in_any_order_give_the_same_offers():
    rng = random.Random(14)
    places = [place(i, kindergarten_id=rng.choice([10, 20, 30]), language=rng.choice(["kk", "ru"])) for i in range(40)]
    applicants = [
        applicant(
            f"p{i}",
            i,
            tuple(rng.sample([10, 20, 30, 40], k=rng.randint(0, 4))),
            language=rng.choice(["kk", "ru", "any"]),
            accept_any=rng.random() < 0.5,
        )
        for i in range(1, 60)
    ]
    expected = allocate(applicants=applicants, places=places)
    for _ in range(5):
        rng.shuffle(applicants)
        rng.shuffle(places)
        assert allocate(applicants=iter(applicants), places=iter(places)) == expected


# Inputs that are not a run's inputs


@pytest.mark.parametrize(
    ("applicants", "places", "message"),
    [
        ([applicant("a", 1), applicant("a", 2)], [], "share a pseudonym"),
        ([applicant("a", 1), applicant("b", 1)], [], "share queue position"),
        ([], [place(1, 10), place(1, 20)], "given twice"),
    ],
)
def test_allocate_refuses_ambiguous_inputs(applicants, places, message):
    with pytest.raises(ValueError, match=message):
        allocate(applicants=applicants, places=places)


def test_the_inputs_document_refuses_ambiguous_inputs_too():
    with pytest.raises(ValueError, match="given twice"):
        inputs_document(run_id="r", applicants=[], places=[place(1, 10), place(1, 20)])
    with pytest.raises(ValueError, match="share queue position"):
        inputs_document(run_id="r", applicants=[applicant("a", 1), applicant("b", 1)], places=[])


def test_an_applicant_chooses_a_kindergarten_once_and_a_place_has_a_language_of_instruction():
    with pytest.raises(ValueError, match="chosen twice"):
        applicant("a", 1, (10, 10))
    with pytest.raises(ValueError, match="unknown language"):
        applicant("a", 1, language="en")
    with pytest.raises(ValueError, match="kk or ru"):
        place(1, 10, language="any")
    with pytest.raises(ValueError, match="start at 1"):
        applicant("a", 0)


# Justified envy


def test_justified_envy_counts_a_place_a_child_ranked_higher_given_to_a_child_behind_it():
    places = [place(1, kindergarten_id=10), place(2, kindergarten_id=20)]
    applicants = [applicant("ahead", 1, (10, 20)), applicant("behind", 2, (10, 20))]
    swapped = [Offer(2, 20, "ahead", 1, 2), Offer(1, 10, "behind", 2, 1)]
    assert justified_envy(applicants=applicants, places=places, offers=swapped) == 1
    fair = allocate(applicants=applicants, places=places)
    assert justified_envy(applicants=applicants, places=places, offers=fair) == 0


def test_justified_envy_of_a_child_left_without_an_offer():
    places = [place(1, kindergarten_id=10)]
    applicants = [
        applicant("accepts-any", 1, (), accept_any=True),
        applicant("ranked-it", 2, (10,)),
        applicant("did-not-rank-it", 3, (20,)),
        applicant("holder", 4, (10,)),
    ]
    offers = [Offer(1, 10, "holder", 4, 1)]
    assert justified_envy(applicants=applicants, places=places, offers=offers) == 2


def test_places_outside_the_choices_are_all_alike():
    places = [place(1, kindergarten_id=10), place(2, kindergarten_id=20)]
    applicants = [applicant("ahead", 1, (30,), accept_any=True), applicant("behind", 2, (30,), accept_any=True)]
    offers = [Offer(2, 20, "ahead", 1, None), Offer(1, 10, "behind", 2, None)]
    assert justified_envy(applicants=applicants, places=places, offers=offers) == 0


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        (Offer(9, 10, "a", 1, 1), "not a free place"),
        (Offer(1, 10, "x", 1, 1), "not at position"),
        (Offer(1, 10, "a", 2, 1), "not at position"),
        (Offer(1, 20, "a", 1, 1), "in kindergarten 10"),
        (Offer(1, 10, "a", 1, None), "rank is 1"),
        (Offer(3, 10, "a", 1, 1), "does not match"),
    ],
)
def test_justified_envy_refuses_offers_that_are_not_an_allocation_of_the_inputs(offer, message):
    places = [place(1, kindergarten_id=10), place(2, kindergarten_id=10), place(3, kindergarten_id=10, language="ru")]
    with pytest.raises(ValueError, match=message):
        justified_envy(applicants=[applicant("a", 1, (10,))], places=places, offers=[offer])


def test_justified_envy_refuses_a_place_or_an_applicant_offered_twice():
    places = [place(1, kindergarten_id=10), place(2, kindergarten_id=10)]
    applicants = [applicant("a", 1, (10,)), applicant("b", 2, (10,))]
    with pytest.raises(ValueError, match="offered twice"):
        justified_envy(applicants=applicants, places=places, offers=[Offer(1, 10, "a", 1, 1), Offer(1, 10, "b", 2, 1)])
    with pytest.raises(ValueError, match="two offers"):
        justified_envy(applicants=applicants, places=places, offers=[Offer(1, 10, "a", 1, 1), Offer(2, 10, "a", 1, 1)])


# Pseudonyms and the inputs document


def test_pseudonyms_differ_per_run_and_per_secret_and_are_short_hex():
    one = pseudonym(secret=b"s1", run_id="temirtau:2024-06-03", application_id=42)
    assert len(one) == 16 and int(one, 16) >= 0
    assert one == pseudonym(secret=b"s1", run_id="temirtau:2024-06-03", application_id=42)
    assert one != pseudonym(secret=b"s1", run_id="temirtau:2024-06-04", application_id=42)
    assert one != pseudonym(secret=b"s2", run_id="temirtau:2024-06-03", application_id=42)
    assert one != pseudonym(secret=b"s1", run_id="temirtau:2024-06-03", application_id=43)
    # The formula is part of the contract: the portal recomputes a parent's pseudonym of a stored run.
    assert one == hmac.new(b"s1", b"temirtau:2024-06-03\x0042", hashlib.sha256).hexdigest()[:16]


def small_run() -> tuple[list[Applicant], list[FreePlace]]:
    applicants = [
        applicant("b2", 2, (20, 10), language="any"),
        applicant("a1", 1, (10,), accept_any=True),
        applicant("c1", 1, (), birth_year=2020, group_type="special", accept_any=True),
    ]
    places = [place(3, 20, language="ru"), place(1, 10), place(2, 30, birth_year=2020, group_type="special")]
    return applicants, places


def test_inputs_document_is_small_canonical_json_in_queue_order():
    applicants, places = small_run()
    document = inputs_document(run_id="temirtau:2024-06-03", applicants=applicants, places=places)
    assert canonical_json(document) == (
        b'{"a":{"c":[[],[10],[20,10]],"k":[0,2,1],"p":["c1","a1","b2"],"q":[1,1,2],"y":[1,1,0]},'
        b'"k":[[2020,"kk","special"],[2021,"any","general"],[2021,"kk","general"],[2021,"ru","general"]],'
        b'"p":{"id":[1,2,3],"k":[2,0,3],"kg":[10,30,20]},"r":"temirtau:2024-06-03","v":1}'
    )
    # Pinned: the SHA-256 a published protocol carries must not change with the code.
    assert inputs_sha256(document) == "d3199d58f1ff00039fcce610e5d2cec74ec60d69e8dc78372d59d071ee974317"


def with_column(document: dict, table: str, column: str, values: list) -> dict:
    return {**document, table: {**document[table], column: values}}


def test_inputs_from_document_refuses_an_unknown_version_or_a_malformed_document():
    applicants, places = small_run()
    document = inputs_document(run_id="r", applicants=applicants, places=places)
    assert inputs_from_document(document).places == tuple(sorted(places, key=lambda p: p.place_id))
    with pytest.raises(ValueError, match="version"):
        inputs_from_document({**document, "v": 2})
    malformed = [
        with_column(document, "p", "k", [2, 0, 4]),  # no such key
        with_column(document, "p", "k", [2, 0, -1]),
        with_column(document, "p", "kg", [10, 30]),  # columns of different lengths
        with_column(document, "a", "y", [1, 1, 2]),  # accept_any is 0 or 1
        {key: value for key, value in document.items() if key != "a"},
        {**document, "k": [[2020, "kk"], *document["k"][1:]]},
        # What is allocated is exactly what was hashed: no coercion of a look-alike.
        with_column(document, "a", "q", [1, "1", 2]),
        with_column(document, "a", "c", [[], [10.0], [20, 10]]),
        with_column(document, "a", "y", [1, True, 0]),
        {**document, "r": 7},
    ]
    for bad in malformed:
        with pytest.raises(ValueError, match="malformed"):
            inputs_from_document(bad)


# Properties over random small cities

YEARS = (2020, 2021)
TYPES = ("general", "special")
NOWHERE = 100  # a kindergarten with no free place that applicants may still choose


@st.composite
def cities(draw) -> tuple[list[Applicant], list[FreePlace]]:
    """≤ 8 applicants and ≤ 6 places over ≤ 4 kindergartens, mixed cohorts, languages and group types, in any
    input order; positions are unique within a cohort and may repeat across cohorts."""
    kindergartens = draw(st.lists(st.integers(1, 99), min_size=1, max_size=4, unique=True))
    place_ids = draw(st.lists(st.integers(1, 999), max_size=6, unique=True))
    places = [
        FreePlace(
            place_id=place_id,
            kindergarten_id=draw(st.sampled_from(kindergartens)),
            birth_year=draw(st.sampled_from(YEARS)),
            language=draw(st.sampled_from(("kk", "ru"))),
            group_type=draw(st.sampled_from(TYPES)),
        )
        for place_id in place_ids
    ]
    seats = draw(st.lists(st.tuples(st.sampled_from(YEARS), st.integers(1, 12)), max_size=8, unique=True))
    applicants = [
        Applicant(
            pseudonym=f"p{i}",
            position=position,
            birth_year=birth_year,
            language=draw(st.sampled_from(("kk", "ru", "any"))),
            group_type=draw(st.sampled_from(TYPES)),
            choices=tuple(draw(st.lists(st.sampled_from([*kindergartens, NOWHERE]), max_size=4, unique=True))),
            accept_any=draw(st.booleans()),
        )
        for i, (birth_year, position) in enumerate(seats)
    ]
    return draw(st.permutations(applicants)), draw(st.permutations(places))


def fits(a: Applicant, p: FreePlace) -> bool:
    return a.birth_year == p.birth_year and a.group_type == p.group_type and a.language in ("any", p.language)


def rank_of(a: Applicant, kindergarten_id: int) -> int | None:
    return a.choices.index(kindergarten_id) + 1 if kindergarten_id in a.choices else None


def reference_allocation(applicants: list[Applicant], places: list[FreePlace]) -> list[Offer]:
    """Serial dictatorship by brute force: in queue order, each applicant compares every free place it can take by
    an explicit preference (its choices in rank order, then, if it accepts any, every other place by kindergarten
    id and place id) and takes the best one."""

    def preference(a: Applicant, p: FreePlace) -> tuple[int, int, int] | None:
        if p.kindergarten_id in a.choices:
            return (a.choices.index(p.kindergarten_id), 0, p.place_id)
        if a.accept_any:
            return (len(a.choices), p.kindergarten_id, p.place_id)
        return None  # not a place it wants

    free = list(places)
    offers = []
    for a in sorted(applicants, key=lambda a: (a.birth_year, a.position)):
        wanted = [(preference(a, p), p) for p in free if fits(a, p) and preference(a, p) is not None]
        if not wanted:
            continue
        _, best = min(wanted, key=lambda pair: pair[0])
        free.remove(best)
        offers.append(
            Offer(best.place_id, best.kindergarten_id, a.pseudonym, a.position, rank_of(a, best.kindergarten_id))
        )
    return offers


def naive_envy(applicants: list[Applicant], places: list[FreePlace], offers: list[Offer]) -> int:
    """Every pair (a, b), one by one, by the definition's words."""
    place_of = {p.place_id: p for p in places}
    by_name = {a.pseudonym: a for a in applicants}
    got = {o.pseudonym: place_of[o.place_id].kindergarten_id for o in offers}

    def strictly_prefers(a: Applicant, kindergarten_id: int) -> bool:
        mine = got.get(a.pseudonym)
        if mine is None:
            return kindergarten_id in a.choices or a.accept_any
        if kindergarten_id not in a.choices:
            return False  # outside the choices: never better than anything a got
        return mine not in a.choices or a.choices.index(kindergarten_id) < a.choices.index(mine)

    count = 0
    for a in applicants:
        for o in offers:
            b, p = by_name[o.pseudonym], place_of[o.place_id]
            ahead = a.birth_year == b.birth_year and a.position < b.position
            if ahead and fits(a, p) and strictly_prefers(a, p.kindergarten_id):
                count += 1
    return count


@settings(max_examples=400, deadline=None)
@given(cities())
def test_allocate_equals_the_brute_force_serial_dictatorship(city):
    applicants, places = city
    assert allocate(applicants=applicants, places=places) == reference_allocation(applicants, places)


@settings(max_examples=400, deadline=None)
@given(cities())
def test_the_allocation_has_no_justified_envy(city):
    applicants, places = city
    offers = allocate(applicants=applicants, places=places)
    assert justified_envy(applicants=applicants, places=places, offers=offers) == 0
    assert naive_envy(applicants, places, offers) == 0


@settings(max_examples=400, deadline=None)
@given(cities(), st.randoms(use_true_random=False))
def test_justified_envy_equals_the_naive_pair_count_on_any_assignment(city, rng):
    applicants, places = city
    free = list(places)
    offers = []
    for a in applicants:  # any compatible place or none, whatever the queue and the choices say
        compatible_places = [p for p in free if fits(a, p)]
        if compatible_places and rng.random() < 0.8:
            p = rng.choice(compatible_places)
            free.remove(p)
            offers.append(Offer(p.place_id, p.kindergarten_id, a.pseudonym, a.position, rank_of(a, p.kindergarten_id)))
    assert justified_envy(applicants=applicants, places=places, offers=offers) == naive_envy(applicants, places, offers)


@settings(max_examples=200, deadline=None)
@given(cities(), st.randoms(use_true_random=False))
def test_the_inputs_document_round_trips_and_its_sha256_is_stable(city, rng):
    applicants, places = city
    document = inputs_document(run_id="city:2024-06-03", applicants=applicants, places=places)
    stored = json.loads(canonical_json(document))  # what a verifier reads back
    inputs = inputs_from_document(stored)
    assert inputs.run_id == "city:2024-06-03"
    assert set(inputs.applicants) == set(applicants) and set(inputs.places) == set(places)
    assert allocate(applicants=inputs.applicants, places=inputs.places) == allocate(
        applicants=applicants, places=places
    )
    shuffled_applicants, shuffled_places = applicants[:], places[:]
    rng.shuffle(shuffled_applicants)
    rng.shuffle(shuffled_places)
    again = inputs_document(run_id="city:2024-06-03", applicants=shuffled_applicants, places=shuffled_places)
    assert inputs_sha256(stored) == inputs_sha256(document) == inputs_sha256(again)
    assert inputs_sha256(inputs_document(run_id=inputs.run_id, applicants=inputs.applicants, places=inputs.places)) == (
        inputs_sha256(document)
    )
    if applicants:  # any change to the inputs changes the hash
        changed = dataclasses.replace(applicants[0], accept_any=not applicants[0].accept_any)
        altered = inputs_document(run_id="city:2024-06-03", applicants=[changed, *applicants[1:]], places=places)
        assert inputs_sha256(altered) != inputs_sha256(document)
