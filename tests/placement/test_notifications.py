"""Every event of a parent's case that exists today writes its SMS to the outbox in its own transaction (issue 14,
Notifications): a referral issued and its 24-hour reminder, a privilege decided, a cabinet blocked and lifted; the
offers' kinds; claim mode's "a place my child can take is in general access" (at most one SMS per application a
day); and one notification sent by a real worker on Redis after its transaction committed."""

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine
from django.db import transaction

from accounts import sms
from accounts.models import Notification
from accounts.services import notifications as outbox
from accounts.services.blocks import cabinet_unblock
from accounts.tasks import notifications_sweep
from indigo.celery import app
from placement.errors import ClaimRefused
from placement.models import Application, GeneralAccessSubscription, Referral
from placement.services.applications import application_privilege_decide
from placement.services.blocks import cabinet_block
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.notifications import deadline_reminders_enqueue, general_access_notify, offers_notify
from placement.services.places import place_release
from placement.services.subscriptions import general_access_subscribe
from placement.tasks import deadline_reminders
from schedules.calendar import astana as astana_time
from tests.clock import astana
from tests.conftest import _start_worker, database_url_for_subprocess, process_stop, wait_for
from tests.factories import AdminFactory, ApplicationFactory, CityFactory, GroupFactory, ParentFactory, applicant
from tests.outbox import delivered
from tests.placement.claims import IN_GENERAL, IN_PRIORITY, RELEASED

Kind = Notification.Kind


@pytest.fixture(autouse=True)
def _fresh_outbox(monkeypatch):
    sms.outbox.clear()
    monkeypatch.setattr(outbox, "_dispatch_paused_until", 0.0)
    yield
    sms.outbox.clear()


@pytest.fixture
def city(db):
    return CityFactory(slug="temirtau")


@pytest.fixture
def group(city):
    return GroupFactory(
        kindergarten__city=city,
        kindergarten__code="KG-01",
        kindergarten__name_ru="Балапан",
        kindergarten__name_kk="Балапан",
        birth_year=2021,
        language="kk",
        group_type="general",
    )


def kinds() -> list[str]:
    return list(Notification.objects.order_by("pk").values_list("kind", flat=True))


# --- Events of today's claim mode -------------------------------------------------------------------------


def test_a_claim_tells_the_parent_the_referral_and_its_deadline(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 0)
    referral, _created = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    [message] = delivered(at=IN_GENERAL)
    assert message.phone == parent.phone
    assert referral.number in message.text and application.number in message.text
    assert "действительно до 16.05.2024 18:00" in message.text  # the 5th counted working day, Astana time


def test_a_refused_claim_and_a_repeated_claim_send_nothing_more(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    unconfirmed, refused = applicant(city, 1, representation="pending")
    with pytest.raises(ClaimRefused):
        place_claim(place=place, application=refused, by=unconfirmed, at=IN_GENERAL)
    assert kinds() == []
    parent, application = applicant(city, 0)
    place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    place_claim(place=place, application=application, by=parent, at=IN_GENERAL)  # a double click
    assert kinds() == [Kind.REFERRAL_ISSUED]


def test_a_claim_rolled_back_after_its_notification_was_written_sends_nothing(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 0)
    with pytest.raises(RuntimeError), transaction.atomic():
        place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
        assert kinds() == [Kind.REFERRAL_ISSUED]
        raise RuntimeError("the caller's transaction fails")
    assert not Referral.objects.exists()
    assert delivered(at=IN_GENERAL) == []


def test_a_privilege_decision_reaches_the_parent_in_kazakh_with_the_reason(city):
    parent = ParentFactory(language="kk")
    application = ApplicationFactory(
        city=city, parent=parent, privilege="priority", privilege_status="pending", privilege_document="Анықтама"
    )
    application_privilege_decide(application=application, by=AdminFactory(), confirm=False, reason="Анықтама ескі")
    [message] = delivered()
    assert "жеңілдік қабылданбады" in message.text and "Себебі: Анықтама ескі" in message.text


def test_a_block_and_its_lifting_each_send_one_sms(city):
    parent = ParentFactory()
    admin = AdminFactory()
    block = cabinet_block(user=parent, by=admin, reason="Передал доступ посреднику", at=IN_GENERAL)
    cabinet_unblock(block=block, by=admin, reason="Ошибка", at=IN_GENERAL + dt.timedelta(hours=1))
    cabinet_unblock(block=block, by=admin, reason="Ошибка", at=IN_GENERAL + dt.timedelta(hours=2))  # a second click
    blocked, lifted = delivered(at=IN_GENERAL + dt.timedelta(hours=3))
    assert "заблокирован до 07.11.2024" in blocked.text and "Передал доступ посреднику" in blocked.text
    assert "блокировка" in lifted.text and "снята" in lifted.text
    assert kinds() == [Kind.CABINET_BLOCKED, Kind.CABINET_LIFTED]


def test_a_referral_is_reminded_once_24_hours_before_its_deadline(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 0)
    referral, _created = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    deadline = referral.valid_until  # 16.05.2024 18:00
    Notification.objects.all().delete()  # only the reminders from here
    assert deadline_reminders_enqueue(at=deadline - dt.timedelta(hours=24, minutes=1)) == {"referrals": 0}
    assert deadline_reminders_enqueue(at=deadline - dt.timedelta(hours=23, minutes=50)) == {"referrals": 1}
    assert deadline_reminders_enqueue(at=deadline - dt.timedelta(hours=23, minutes=35)) == {"referrals": 0}
    [message] = delivered(at=deadline - dt.timedelta(hours=23))
    assert referral.number in message.text and "KG-01 Балапан" in message.text
    assert "действительно до 16.05.2024 18:00" in message.text


def test_a_reminder_is_not_sent_after_the_referral_it_reminds_of_has_expired(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 0)
    referral, _created = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    delivered(at=IN_GENERAL)
    deadline_reminders_enqueue(at=referral.valid_until - dt.timedelta(hours=1))
    assert len(delivered(at=referral.valid_until)) == 1  # the receipt only; the reminder came too late
    assert Notification.objects.get(kind=Kind.REFERRAL_EXPIRING).status == "failed"


def test_closed_referrals_are_not_reminded(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 0)
    referral, _created = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.DECLINED)
    assert deadline_reminders_enqueue(at=referral.valid_until - dt.timedelta(hours=2)) == {"referrals": 0}


def test_beat_sweeps_the_outbox_every_minute_and_reminds_every_15_minutes():
    sweep = app.conf.beat_schedule["notifications-sweep"]
    reminders = app.conf.beat_schedule["deadline-reminders"]
    assert (sweep["task"], sweep["schedule"]) == (notifications_sweep.name, 60)
    assert (reminders["task"], reminders["schedule"]) == (deadline_reminders.name, 900)
    assert sweep["options"]["expires"] == 60 and reminders["options"]["expires"] == 900


# --- Offer mode's kinds (the calls the offers service makes) ---------------------------------------------


@dataclass(frozen=True)
class FakeOffer:
    """What `offers_notify` reads of an offer (placement.models.Offer in offer mode)."""

    pk: int
    parent_id: int
    application_id: int
    kindergarten_id: int
    valid_until: dt.datetime


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_offer_kinds_read_in_the_parents_language(city, group, django_assert_max_num_queries, language):
    until = astana(2024, 5, 9, 18, 0)
    offers = []
    for n in range(3):
        parent, application = applicant(city, n, parent=ParentFactory(language=language))
        offers.append(FakeOffer(10 + n, parent.pk, application.pk, group.kindergarten_id, until))
    made_at = astana(2024, 5, 7, 18, 0)
    with django_assert_max_num_queries(4):  # parents, numbers, kindergartens, one INSERT: whatever the count
        assert offers_notify(kind=Kind.OFFER_MADE, offers=offers, at=made_at) == 3
    offers_notify(kind=Kind.OFFER_EXPIRING, offers=offers[:1], at=until - dt.timedelta(hours=24))
    offers_notify(kind=Kind.APPLICATION_PAUSED, offers=offers[:1], at=until)
    offers_notify(kind=Kind.OFFER_MADE, offers=offers, at=made_at)  # the run repeated: nothing twice
    number = application_number(offers[0])
    made = [m for m in delivered(at=made_at) if number in m.text]
    sms.outbox.clear()
    expiring = delivered(at=until - dt.timedelta(hours=23))
    sms.outbox.clear()
    paused = delivered(at=until)
    balabaqsha = {"ru": "детском саду KG-01 Балапан", "kk": "KG-01 Балапан балабақшас"}[language]
    [made], [expiring], [paused] = made, expiring, paused
    assert balabaqsha in made.text and "09.05.2024 18:00" in made.text
    assert balabaqsha in expiring.text and number in expiring.text and "09.05.2024 18:00" in expiring.text
    assert number in paused.text and "06.06.2024 18:00" in paused.text  # 28 days to resume
    assert sorted(Notification.objects.values_list("key", flat=True)) == sorted(
        [*(f"offer_made:{offer.pk}" for offer in offers), "offer_expiring:10", "application_paused:10"]
    )


def application_number(offer: FakeOffer) -> str:
    return Application.objects.get(pk=offer.application_id).number


def test_an_offer_notification_of_another_kind_is_refused():
    with pytest.raises(ValueError):
        offers_notify(kind=Kind.REFERRAL_ISSUED, offers=[], at=IN_GENERAL)


# --- Claim mode's subscription -------------------------------------------------------------------------------

GENERAL_AT = astana(2024, 5, 6, 18, 0)  # RELEASED's places move to general access then


def subscribed(city, minutes=0, **kwargs):
    parent, application = applicant(city, minutes, **kwargs)
    general_access_subscribe(application=application, parent=parent, subscribe=True, at=RELEASED)
    return parent, application


def run_at(moment):
    with time_machine.travel(moment, tick=False):
        return run_daily(at=moment)


def test_a_subscriber_hears_once_when_a_matching_place_moves_to_general_access(city, group):
    place_release(group=group, count=3, at=RELEASED)
    parent, application = subscribed(city, 0)
    run_at(GENERAL_AT)
    [message] = delivered(at=GENERAL_AT)
    assert message.phone == parent.phone and application.number in message.text and "общем доступе" in message.text
    assert Notification.objects.get().key == f"general_access:{application.pk}:{parent.pk}:2024-05-06"
    # The same day again (a second call): nothing more.
    assert general_access_notify(city=city, day=dt.date(2024, 5, 6), recorded_at=GENERAL_AT) == 1
    assert Notification.objects.count() == 1


def test_only_matching_subscribed_applications_whose_child_the_parent_may_place_hear(city, group):
    place_release(group=group, count=1, at=RELEASED)  # 2021, kk, general
    _a, any_language = subscribed(city, 1, language=Application.Language.ANY)
    blocked_parent, blocked = subscribed(city, 7)
    cabinet_block(user=blocked_parent, by=AdminFactory(), reason="Передал доступ", at=RELEASED)
    _b, referred = subscribed(city, 8)
    Application.objects.filter(pk=referred.pk).update(status=Application.Status.REFERRED)
    silent = [
        subscribed(city, 2, language=Application.Language.RU)[1],
        subscribed(city, 3, group_type="sanatorium")[1],
        subscribed(city, 4, birth_date=dt.date(2020, 3, 1))[1],
        subscribed(city, 5, representation="pending")[1],  # the parent may not take a place for this child yet
        applicant(city, 6)[1],  # not subscribed
        blocked,
        referred,
        subscribed(CityFactory(slug="karaganda"), 9)[1],
    ]
    run_at(GENERAL_AT)
    alerted = set(Notification.objects.filter(kind=Kind.GENERAL_ACCESS).values_list("params__number", flat=True))
    assert alerted == {any_language.number}
    assert not alerted & {application.number for application in silent}


def test_at_most_one_alert_a_day_and_a_new_one_the_next_day(city, group):
    place_release(group=group, count=1, at=RELEASED)  # general at 06.05 18:00
    [later] = place_release(group=group, count=1, at=astana(2024, 5, 3, 10, 0))
    parent, application = subscribed(city, 0)
    run_at(GENERAL_AT)
    run_at(GENERAL_AT + dt.timedelta(minutes=15))  # the catch-up entry: the day is published, nothing more
    run_at(later.priority_until)
    keys = list(Notification.objects.order_by("pk").values_list("key", flat=True))
    assert keys == [
        f"general_access:{application.pk}:{parent.pk}:2024-05-06",
        f"general_access:{application.pk}:{parent.pk}:{astana_time(later.priority_until).date().isoformat()}",
    ]


def test_a_run_catching_up_after_an_outage_alerts_once_for_every_day_it_moved(city, group):
    place_release(group=group, count=1, at=RELEASED)  # general at 06.05 18:00
    parent, application = subscribed(city, 0)
    run_at(astana(2024, 5, 8, 18, 30))  # down since before 06.05 18:00: days 02.05 to 08.05 published now
    assert list(Notification.objects.values_list("key", flat=True)) == [
        f"general_access:{application.pk}:{parent.pk}:2024-05-08"
    ]


def test_no_alert_when_nothing_matching_moved(city, group):
    other = GroupFactory(kindergarten__city=city, birth_year=2020, language="ru")
    place_release(group=other, count=2, at=RELEASED)
    subscribed(city, 0)
    run_at(GENERAL_AT)
    assert kinds() == []


def test_alerts_are_off_again_after_unsubscribing(city, group):
    place_release(group=group, count=1, at=RELEASED)
    parent, application = subscribed(city, 0)
    general_access_subscribe(application=application, parent=parent, subscribe=False, at=IN_PRIORITY)
    assert not GeneralAccessSubscription.objects.exists()
    run_at(GENERAL_AT)
    assert kinds() == []


# --- A real worker --------------------------------------------------------------------------------------------


@pytest.fixture
def sms_worker(redis_url, transactional_db, tmp_path):
    """A real worker on Redis whose SMS backend writes to a file the test reads."""
    sms_file = tmp_path / "sms.log"
    worker = _start_worker(
        tmp_path,
        {
            "DATABASE_URL": database_url_for_subprocess(),
            "SMS_BACKEND": "accounts.sms.FileBackend",
            "SMS_FILE_PATH": str(sms_file),
        },
    )
    worker.sms_file = sms_file
    yield worker
    process_stop(worker.process)


@pytest.mark.django_db(transaction=True)
def test_a_notification_committed_with_its_event_is_sent_by_a_real_worker_on_redis(sms_worker, postgres, settings):
    settings.NOTIFICATIONS_QUEUE = sms_worker.queue  # the on-commit task goes to this worker's queue
    parent = ParentFactory()
    admin = AdminFactory()
    cabinet_block(user=parent, by=admin, reason="Передал доступ посреднику")  # its own transaction, committed
    notification = Notification.objects.get(user=parent)

    def sent():
        notification.refresh_from_db()
        return notification.status == "sent"

    assert wait_for(sent, timeout=90), sms_worker.log()
    line = sms_worker.sms_file.read_text(encoding="utf-8")
    assert line.count("\n") == 1, line
    assert f"\t{parent.phone}\t" in line and "заблокирован" in line
    assert notification.attempts == 1 and sms.outbox == []  # sent by the worker, not by this process
