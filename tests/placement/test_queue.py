import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement.errors import AlreadyInQueue
from placement.models import Application
from placement.selectors.queue import interleaved_position, queue_head, queue_position
from placement.services.applications import application_create, application_privilege_decide, application_withdraw
from tests.clock import astana
from tests.factories import AdminFactory, ApplicationFactory, ChildFactory, CityFactory, RepresentationFactory, serving

T0 = astana(2023, 1, 10, 9, 0)


def reference_order(categories: list[int], ratio: int) -> list[int]:
    """The queue by the rule's words, for indexes already sorted by time: E first, then 1 P to `ratio` G."""
    e = [i for i, c in enumerate(categories) if c == 0]
    p = [i for i, c in enumerate(categories) if c == 1]
    g = [i for i, c in enumerate(categories) if c == 2]
    order = list(e)
    while p or g:
        if p:
            order.append(p.pop(0))
        order.extend(g[:ratio])
        g = g[ratio:]
    return order


@given(st.lists(st.sampled_from([0, 1, 2]), max_size=40), st.integers(min_value=1, max_value=5))
def test_position_arithmetic_matches_the_rule_for_any_queue(categories, ratio):
    expected = reference_order(categories, ratio)
    sizes = [categories.count(c) for c in (0, 1, 2)]
    for index, category in enumerate(categories):
        rank = sum(1 for j in range(index + 1) if categories[j] == category)
        position = interleaved_position(
            category=category, rank=rank, extraordinary=sizes[0], priority=sizes[1], general=sizes[2], ratio=ratio
        )
        assert expected[position - 1] == index


@pytest.fixture
def city():
    return serving(CityFactory(queue_general_per_priority=3))


def make(city, minutes: int, privilege: str = "none", status: str | None = None) -> Application:
    kwargs = {"privilege": privilege}
    if status:
        kwargs["privilege_status"] = status
    return ApplicationFactory(city=city, applied_at=T0 + dt.timedelta(minutes=minutes), **kwargs)


@pytest.mark.django_db
def test_queue_order_with_every_category_and_the_one_to_three_interleave(city):
    g1, g2, g3, g4, g5 = (make(city, m) for m in (1, 2, 3, 4, 5))
    p1, p2 = make(city, 10, "priority"), make(city, 11, "priority")
    e1 = make(city, 20, "extraordinary")
    unconfirmed = make(city, 0, "priority", status="pending")  # earliest of all, but ranks as general
    expected = [e1, p1, unconfirmed, g1, g2, p2, g3, g4, g5]
    assert [queue_position(a) for a in expected] == list(range(1, 10))
    head = queue_head(city=city, birth_year=2021, n=9)
    assert [entry.number for entry in head] == [a.number for a in expected]
    assert [entry.number for entry in queue_head(city=city, birth_year=2021, n=4)] == [a.number for a in expected[:4]]


@pytest.mark.django_db
def test_ties_on_time_are_broken_by_the_order_of_registration(city):
    first, second = make(city, 5), make(city, 5)
    assert (queue_position(first), queue_position(second)) == (1, 2)


@pytest.mark.django_db
def test_cohorts_and_cities_are_separate_queues(city):
    mine = make(city, 5)
    ApplicationFactory(city=city, child__birth_date=dt.date(2020, 3, 1), applied_at=T0)
    ApplicationFactory(applied_at=T0)  # another city
    assert queue_position(mine) == 1


@pytest.mark.django_db
def test_positions_move_up_after_a_withdrawal(city):
    first, second, third = make(city, 1), make(city, 2), make(city, 3)
    parent = first.parent
    RepresentationFactory(parent=parent, child=first.child)
    application_withdraw(application=first, by=parent)
    assert queue_position(first) is None
    assert (queue_position(second), queue_position(third)) == (1, 2)


@pytest.mark.django_db
def test_a_confirmed_privilege_moves_the_application_up_at_once(city):
    generals = [make(city, m) for m in range(1, 6)]
    claimed = make(city, 30, "priority", status="pending")
    assert queue_position(claimed) == 6
    application_privilege_decide(application=claimed, by=AdminFactory(), confirm=True)
    assert queue_position(claimed) == 1
    assert queue_position(generals[0]) == 2


@pytest.mark.django_db
def test_a_rejected_privilege_ranks_as_general_and_needs_a_reason(city):
    from django.core.exceptions import ValidationError

    claimed = make(city, 30, "extraordinary", status="pending")
    with pytest.raises(ValidationError):
        application_privilege_decide(application=claimed, by=AdminFactory(), confirm=False, reason="")
    application_privilege_decide(application=claimed, by=AdminFactory(), confirm=False, reason="Справка просрочена")
    assert claimed.queue_category == Application.Category.GENERAL
    assert claimed.privilege_status == "rejected"


@pytest.mark.django_db
def test_a_child_has_at_most_one_active_application_per_city(city):
    representation = RepresentationFactory(child=ChildFactory())
    kwargs = {
        "parent": representation.parent,
        "child": representation.child,
        "city": city,
        "language": "kk",
        "group_type": "general",
    }
    first = application_create(**kwargs)
    assert first.birth_year == 2021
    with pytest.raises(AlreadyInQueue):
        application_create(**kwargs)
    assert Application.objects.filter(child=representation.child).count() == 1
    application_withdraw(application=first, by=representation.parent)
    application_create(**kwargs)  # withdrawn ones do not count


@pytest.mark.django_db
def test_only_a_representative_may_apply(city):
    from placement.errors import NotYourChild

    stranger = RepresentationFactory().parent
    with pytest.raises(NotYourChild):
        application_create(parent=stranger, child=ChildFactory(), city=city, language="kk", group_type="general")


@pytest.mark.django_db
@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["none", "priority", "extraordinary"]), st.integers(0, 20)), min_size=1, max_size=12
    )
)
def test_positions_from_the_database_match_the_rule(entries):
    city = CityFactory(queue_general_per_priority=3)
    applications = [make(city, minutes, privilege) for privilege, minutes in entries]
    by_time = sorted(applications, key=lambda a: (a.applied_at, a.pk))
    expected = [by_time[i] for i in reference_order([a.queue_category for a in by_time], 3)]
    assert [queue_position(a) for a in expected] == list(range(1, len(expected) + 1))
    assert [e.application_id for e in queue_head(city=city, birth_year=2021, n=len(expected))] == [
        a.pk for a in expected
    ]
