"""manage.py seed_demo: Temirtau with the seed notice's 2024 schedule, idempotent, consistent with the 18:00 run."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from placement.demo import demo_seed
from placement.models import City, Group, Kindergarten, Place, PlaceEvent, Protocol
from placement.services.daily import run_daily
from placement.services.protocols import protocols_verify
from schedules.models import CohortWindow, KindergartenShift, SummerSchedule
from schedules.selectors import window_dates
from tests.clock import astana

pytestmark = pytest.mark.django_db

# A fixed "today" for the places the demo releases relative to now (a Thursday, a working day).
NOW = astana(2025, 11, 20, 12, 0)
JUNE_5_1800 = astana(2024, 6, 5, 18, 0)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def counts() -> dict[str, int]:
    User = get_user_model()
    return {
        "cities": City.objects.count(),
        "schedules": SummerSchedule.objects.count(),
        "windows": CohortWindow.objects.count(),
        "shifts": KindergartenShift.objects.count(),
        "kindergartens": Kindergarten.objects.count(),
        "groups": Group.objects.count(),
        "users": User.objects.count(),
        "places": Place.objects.count(),
        "events": PlaceEvent.objects.count(),
    }


def test_seed_demo_twice_creates_nothing_twice():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == first
    assert first["kindergartens"] >= 10
    assert first["places"] > 0
    assert "DEMO-ONLY" in out.getvalue()
    assert "staff-001" in out.getvalue() and "admin" in out.getvalue()


def test_seed_demo_creates_temirtau_with_the_seed_schedule():
    demo_seed(now=NOW)
    city = City.objects.get(slug="temirtau")
    assert (city.name_ru, city.name_kk, city.name_en) == ("Темиртау", "Теміртау", "Temirtau")
    schedule = SummerSchedule.objects.get(city=city, year=2024)
    assert schedule.campaign_start == dt.date(2024, 5, 20)
    dates = {}
    for window in schedule.windows.all():
        computed = window_dates(window=window)
        dates[window.birth_year] = (window.age, computed.priority_start, computed.priority_end, computed.general_from)
    assert dates == {
        2021: (3, dt.date(2024, 6, 3), dt.date(2024, 6, 5), dt.date(2024, 6, 6)),
        2020: (4, dt.date(2024, 6, 10), dt.date(2024, 6, 12), dt.date(2024, 6, 13)),
        2019: (5, dt.date(2024, 6, 17), dt.date(2024, 6, 19), dt.date(2024, 6, 20)),
        2022: (2, dt.date(2024, 6, 17), dt.date(2024, 6, 19), dt.date(2024, 6, 20)),
    }
    shift = KindergartenShift.objects.get()
    assert shift.reason_ru and shift.reason_kk and shift.reason_en


def test_every_demo_kindergarten_has_kazakh_and_russian_groups_for_each_cohort():
    demo_seed(now=NOW)
    for kindergarten in Kindergarten.objects.filter(city__slug="temirtau"):
        general = set(kindergarten.groups.filter(group_type="general").values_list("birth_year", "language"))
        # the history's cohorts (2024: born 2019-2022) and the current campaign's (2025: born 2020-2023)
        assert general == {(year, language) for year in range(2019, 2024) for language in ("kk", "ru")}
        assert kindergarten.name_ru and kindergarten.name_kk and kindergarten.address_ru and kindergarten.district_kk
    assert Group.objects.filter(group_type="special").exists()
    assert Group.objects.filter(group_type="sanatorium").exists()
    # groups are named after their cohort's age in the current campaign: born 2023 -> 2 years old -> nursery
    assert set(Group.objects.filter(birth_year=2023).values_list("name_ru", flat=True)) <= {
        "Ясельная группа (казахский язык)", "Ясельная группа (русский язык)"
    }  # fmt: skip


def test_seed_demo_creates_a_staff_account_per_kindergarten_and_an_admin():
    demo_seed(now=NOW)
    User = get_user_model()
    for kindergarten in Kindergarten.objects.filter(city__slug="temirtau"):
        staff = User.objects.get(username=f"staff-{kindergarten.code}")
        assert staff.role == "staff" and staff.kindergarten == kindergarten
        assert staff.check_password("indigo-staff-demo")
    admin = User.objects.get(username="admin")
    assert admin.role == "admin" and admin.is_staff and admin.is_superuser
    assert admin.check_password("indigo-admin-demo")


def test_seed_demo_keeps_a_changed_password():
    demo_seed(now=NOW)
    User = get_user_model()
    admin = User.objects.get(username="admin")
    admin.set_password("my-own-secret-1")
    admin.save()
    demo_seed(now=NOW)
    admin.refresh_from_db()
    assert admin.check_password("my-own-secret-1")


def test_the_2024_history_moved_to_general_in_june_and_closed_at_the_end_of_the_summer():
    demo_seed(now=NOW)
    history = Place.objects.filter(released_at__year=2024)
    # DOMAIN.md, Places 2: released Thu 2024-05-02 10:00 -> general at Mon 2024-05-06 18:00.
    may_2 = history.filter(released_at=astana(2024, 5, 2, 10, 0))
    assert may_2.exists()
    assert {place.priority_until for place in may_2} == {astana(2024, 5, 6, 18, 0)}
    # the summer's places went general in June (the seed runs June's 18:00 runs), then were withdrawn in August
    summer_2021 = history.filter(group__birth_year=2021, released_at__gte=astana(2024, 5, 20))
    assert set(summer_2021.exclude(withdraw_reason__startswith="Место").values_list("general_since", flat=True)) == {
        JUNE_5_1800
    }
    assert set(history.values_list("state", flat=True)) == {"withdrawn"}
    assert history.filter(withdrawn_at=astana(2024, 8, 30, 17, 0)).count() == history.count() - 2
    assert history.exclude(withdraw_reason="").count() == history.count()
    # the shifted kindergarten's 4-year-olds waited for their own window (from 17.06: general at 19.06 18:00)
    shift = KindergartenShift.objects.get()
    shifted = history.filter(kindergarten=shift.kindergarten, group__birth_year=2020, withdrawn_at__month=8)
    assert set(shifted.values_list("general_since", flat=True)) == {astana(2024, 6, 19, 18, 0)}


def test_june_5_2024_is_published_with_its_moves_to_general_and_the_chain_verifies():
    demo_seed(now=NOW)
    run_daily(at=NOW)
    june_5 = Protocol.objects.get(city__slug="temirtau", day=dt.date(2024, 6, 5))
    assert {entry["event"] for entry in june_5.entries} == {"to_general"}
    days = list(Protocol.objects.filter(city__slug="temirtau").order_by("day").values_list("day", flat=True))
    first_event_day = PlaceEvent.objects.order_by("protocol_day").first().protocol_day
    assert days[0] == first_event_day
    assert len(days) == (days[-1] - days[0]).days + 1
    end_of_summer = Protocol.objects.get(city__slug="temirtau", day=dt.date(2024, 8, 30))
    assert {entry["event"] for entry in end_of_summer.entries} == {"withdrawn"}
    assert protocols_verify() == []


def test_todays_registry_shows_priority_general_scheduled_and_taken_places_of_a_campaign_counted_from_today():
    result = demo_seed(now=NOW)  # Thursday 2025-11-20
    current = SummerSchedule.objects.get(city__slug="temirtau", year=2025)
    assert result.current_schedule == current
    starts = dict(current.windows.values_list("age", "priority_start"))
    assert starts == {
        3: dt.date(2025, 11, 12), 4: dt.date(2025, 11, 19), 5: dt.date(2025, 11, 27), 2: dt.date(2025, 11, 27)
    }  # fmt: skip
    assert SummerSchedule.objects.filter(city__slug="temirtau", year=2024).exists()  # the history stays
    open_now = Place.objects.open_at(NOW)
    assert open_now.filter(released_at__year=2024).count() == 0
    general = Place.objects.in_general_at(NOW)
    priority = Place.objects.in_priority_at(NOW)
    assert set(general.values_list("group__birth_year", flat=True)) == {2022}  # 3 years old in 2025
    assert set(priority.values_list("group__birth_year", flat=True)) == {2021, 2022}  # 4-year-olds and new releases
    assert general.count() >= 10 and priority.count() >= 10
    assert Place.objects.filter(state="scheduled", entered_priority_at=astana(2025, 11, 27)).count()
    assert Place.objects.filter(state="withdrawn", released_at__year=2025).count() == 1
    assert result.places_taken == 2
    assert Place.objects.filter(state="taken").count() == 1 and Place.objects.filter(state="enrolled").count() == 1
    assert not PlaceEvent.objects.filter(at__gt=NOW).exists()


def test_a_demo_parent_can_take_places_now_and_another_holds_a_live_referral():
    from placement.selectors.claims import registry_choices
    from placement.selectors.parents import claimable_applications
    from placement.selectors.registry import RegistryFilters

    demo_seed(now=NOW)
    User = get_user_model()
    parent = User.objects.get(phone="+77010000001")
    _choices, chances = registry_choices(
        parent=parent, applications=claimable_applications(parent=parent), filters=RegistryFilters(), at=NOW
    )
    assert any(chance.places for chance in chances)
    claimant = User.objects.get(phone="+77010000004")
    assert claimant.referrals.filter(status="live").count() == 1


# --- Demo parents and the queue (issue 4) ------------------------------------------------------------------------


def queue_counts() -> dict[str, int]:
    from accounts.models import AuditEntry, Child, Representation
    from placement.models import Application

    return {
        "children": Child.objects.count(),
        "representations": Representation.objects.count(),
        "applications": Application.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def test_seed_demo_adds_parents_who_log_in_by_sms_with_confirmed_children_in_every_cohort():
    from accounts.validators import is_valid_iin
    from placement.models import Application

    result = demo_seed(now=NOW)
    User = get_user_model()
    parents = list(User.objects.filter(phone__startswith="+770100000").order_by("phone"))
    assert [p.phone for p in parents] == [f"+7701000000{n}" for n in range(1, 7)]
    assert result.parents == parents
    for parent in parents:
        assert parent.role == "parent" and is_valid_iin(parent.iin) and not parent.has_usable_password()
        representations = list(parent.representations.select_related("child"))
        assert 1 <= len(representations) <= 2
        for representation in representations:
            assert representation.status == "confirmed"
            assert is_valid_iin(representation.child.iin)
            assert 2020 <= representation.child.birth_date.year <= 2023  # 2 to 5 years old in 2025
    demo = Application.objects.filter(parent__in=parents, city__slug="temirtau")
    assert set(demo.values_list("birth_year", flat=True)) == {2020, 2021, 2022, 2023}
    assert all(a.applied_at < NOW for a in demo)
    assert demo.filter(privilege="priority", privilege_status="confirmed", queue_category=1).count() == 1
    assert demo.filter(privilege="extraordinary", privilege_status="pending", queue_category=2).count() == 1
    assert demo.filter(privilege="none").count() == demo.count() - 2


def test_seed_demo_adds_a_background_queue_so_positions_are_realistic():
    from placement.models import Application
    from placement.selectors.queue import queue_position

    demo_seed(now=NOW)
    background = Application.objects.filter(parent__phone__isnull=True, city__slug="temirtau")
    assert 180 <= background.count() <= 220
    assert set(background.values_list("birth_year", flat=True)) == {2020, 2021, 2022, 2023}
    assert background.filter(queue_category=1).exists()
    assert not background.filter(applied_at__gt=NOW).exists()
    pending = Application.objects.get(parent__phone="+77010000003")
    assert queue_position(pending) > 10


def test_confirming_the_pending_demo_privilege_moves_the_child_to_the_front():
    from placement.models import Application
    from placement.selectors.queue import queue_position
    from placement.services.applications import application_privilege_decide

    result = demo_seed(now=NOW)
    pending = Application.objects.get(parent__phone="+77010000003")
    before = queue_position(pending)
    application_privilege_decide(application=pending, by=result.admin, confirm=True)
    after = queue_position(Application.objects.get(pk=pending.pk))
    extraordinary_before = Application.objects.filter(
        city=pending.city, birth_year=pending.birth_year, queue_category=0, status="queued"
    ).exclude(pk=pending.pk)
    assert after < before
    assert after <= extraordinary_before.count() + 1


def test_seed_demo_twice_adds_no_parent_child_or_application_twice():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = counts() | queue_counts()
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert counts() | queue_counts() == first
    text = out.getvalue()
    assert "Parent login: /ru/accounts/sms/ (SMS login), phone +7 701 000 00 01" in text
    assert "console" in text
    assert "no application added" in again.getvalue()


def test_a_withdrawn_demo_application_is_not_put_back_by_seeding_again():
    from placement.models import Application
    from placement.services.applications import application_withdraw

    demo_seed(now=NOW)
    application = Application.objects.filter(parent__phone="+77010000006").get()
    application_withdraw(application=application, by=application.parent)
    demo_seed(now=NOW)
    assert list(Application.objects.filter(parent__phone="+77010000006").values_list("status", flat=True)) == [
        "withdrawn"
    ]


def test_seed_demo_puts_ust_kamenogorsk_in_offer_mode_and_the_catch_up_offers_its_demo_parents_places():
    """Issue 14: one demo city in offer mode, with parents who have choices, so that `make run` shows offers."""
    from placement.models import Application, ApplicationChoice, Offer

    result = demo_seed(now=NOW)
    run_daily(at=NOW)
    city = City.objects.get(slug="oskemen")
    assert result.offer_city == city and city.allocation_mode == City.AllocationMode.OFFER
    assert City.objects.get(slug="temirtau").allocation_mode == City.AllocationMode.CLAIM
    assert [p.phone for p in result.offer_parents] == ["+77020000001", "+77020000002"]
    queued = Application.objects.filter(city=city, status__in=["queued", "referred"])
    assert queued.count() > 20
    assert not queued.exclude(any_other=True).exclude(pk__in=ApplicationChoice.objects.values("application")).exists()
    for parent in result.offer_parents:
        [offer] = Offer.objects.filter(parent=parent, state=Offer.State.LIVE)
        assert offer.valid_until > NOW and offer.place.state == Place.State.OFFERED
    first, second = (Offer.objects.get(parent=parent) for parent in result.offer_parents)
    assert (first.kindergarten.code, first.rank) == ("302", 1)  # the first choice
    assert second.rank is None  # no Russian place at its only choice: "any other"
    assert Protocol.objects.filter(city=city).exclude(inputs_sha256="").exists()
    out = io.StringIO()
    call_command("verify_allocation", stdout=out)  # every demo day re-runs to the same offers, with no envy
    assert "justified envy 0" in out.getvalue()
    places = Place.objects.filter(city=city).count()
    choices = ApplicationChoice.objects.filter(application__city=city)
    choices = choices.values_list("application", "rank", "kindergarten")
    ranked = sorted(choices)
    demo_seed(now=NOW)  # seeding again changes no choice and releases nothing
    assert Offer.objects.filter(place__city=city).count() == Place.objects.filter(city=city, state="offered").count()
    assert Place.objects.filter(city=city).count() == places
    assert sorted(choices.all()) == ranked
