"""Admin of the queue (issue 4, admins): applications searched by number or child IIN, positions shown, no
personal data in the list; privileges confirmed or rejected with the reason sent to the parent, audited, and the
position follows at once."""

import datetime as dt

import pytest

from accounts.models import AuditEntry
from placement.models import Application
from placement.selectors.queue import queue_position
from tests.clock import astana
from tests.factories import AdminFactory, ApplicationFactory, CityFactory
from tests.outbox import delivered

pytestmark = pytest.mark.django_db

APPLICATIONS = "/ru/admin/placement/application/"
T0 = astana(2022, 3, 1, 9, 0)


@pytest.fixture
def queue():
    """Six general applications, then a pending priority right applied after all of them."""
    city = CityFactory(queue_general_per_priority=3)
    generals = [
        ApplicationFactory(city=city, applied_at=T0 + dt.timedelta(days=i), child__last_name=f"Общий{i}")
        for i in range(6)
    ]
    pending = ApplicationFactory(
        city=city,
        applied_at=T0 + dt.timedelta(days=30),
        privilege="priority",
        privilege_status="pending",
        privilege_document="Справка о многодетной семье № 17",
        parent__phone="+77015550077",
        child__last_name="Льготникова",
        child__first_name="Аружан",
    )
    return city, generals, pending


def act(client, action, objects, **extra):
    return client.post(
        APPLICATIONS, {"action": action, "index": "0", "_selected_action": [o.pk for o in objects], **extra}
    )


def test_confirming_a_priority_right_moves_the_application_up_at_once(client, superuser, queue):
    _city, _generals, pending = queue
    assert queue_position(pending) == 7
    response = act(client, "confirm_privilege", [pending])
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.privilege_status, pending.queue_category) == ("confirmed", Application.Category.PRIORITY)
    assert queue_position(pending) == 1  # the first priority opens the interleave
    entry = AuditEntry.objects.get(action="application.privilege_confirmed")
    assert (entry.actor, entry.target_id) == (superuser, str(pending.pk))
    [message] = delivered()
    assert message.phone == "+77015550077"
    assert pending.number in message.text
    assert "льгота" in message.text and "подтверждена" in message.text  # in Russian, the parent's language
    listing = client.get(APPLICATIONS, {"q": pending.number})
    assert list(listing.context["cl"].result_list) == [pending]


def test_rejecting_a_privilege_asks_for_the_reason_and_sends_it(client, superuser, queue):
    _city, _generals, pending = queue
    page = act(client, "reject_privilege", [pending])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="reason"' in html and pending.number in html and "Причина отказа" in html
    pending.refresh_from_db()
    assert pending.privilege_status == "pending" and delivered() == []

    reason = "Справка просрочена: принесите справку, выданную не ранее 01.01.2024"
    response = act(client, "reject_privilege", [pending], apply_reason="yes", reason=reason)
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.privilege_status, pending.privilege_reason) == ("rejected", reason)
    assert queue_position(pending) == 7  # still general, still by its time
    assert AuditEntry.objects.get(action="application.privilege_rejected").details["reason"] == reason
    [message] = delivered()
    assert reason in message.text and "отклонена" in message.text


def test_only_pending_privileges_are_decided(client, superuser, queue):
    _city, generals, pending = queue
    act(client, "confirm_privilege", [generals[0], pending])
    generals[0].refresh_from_db()
    assert generals[0].privilege_status == "none"
    assert len(delivered()) == 1
    assert AuditEntry.objects.filter(action__startswith="application.privilege_").count() == 1


def test_the_list_shows_positions_and_no_name_or_iin(client, superuser, queue):
    _city, generals, pending = queue
    response = client.get(APPLICATIONS)
    assert response.status_code == 200
    html = response.content.decode()
    assert generals[0].number in html and pending.number in html
    assert "Льготникова" not in html and pending.child.iin not in html and "Общий0" not in html
    cl = response.context["cl"]
    assert "position" in cl.list_display and "child" not in cl.list_display


def test_the_change_page_shows_the_child_read_only_and_its_position(client, superuser, queue):
    _city, _generals, pending = queue
    response = client.get(f"{APPLICATIONS}{pending.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Льготникова Аружан" in html and pending.child.iin in html
    assert 'name="privilege_status"' not in html  # nothing is editable here
    assert client.post(f"{APPLICATIONS}{pending.pk}/change/", {"status": "withdrawn"}).status_code == 403
    assert client.get(f"{APPLICATIONS}add/").status_code == 403
    assert client.get(f"{APPLICATIONS}{pending.pk}/delete/").status_code == 403


def test_search_matches_the_number_or_the_child_iin_exactly(client, superuser, queue):
    _city, _generals, pending = queue
    by_iin = client.get(APPLICATIONS, {"q": pending.child.iin})
    assert list(by_iin.context["cl"].result_list) == [pending]
    by_lower_number = client.get(APPLICATIONS, {"q": pending.number.lower()})
    assert list(by_lower_number.context["cl"].result_list) == [pending]
    partial = client.get(APPLICATIONS, {"q": pending.child.iin[:6]})
    assert list(partial.context["cl"].result_list) == []
    by_name = client.get(APPLICATIONS, {"q": "Льготникова"})
    assert list(by_name.context["cl"].result_list) == []


def test_filters_by_privilege_status_and_cohort(client, superuser, queue):
    city, _generals, pending = queue
    response = client.get(APPLICATIONS, {"privilege_status__exact": "pending", "city__id__exact": city.pk})
    assert list(response.context["cl"].result_list) == [pending]
    response = client.get(APPLICATIONS, {"birth_year": "2021", "queue_category__exact": "2", "status__exact": "queued"})
    assert len(response.context["cl"].result_list) == 7


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_application_pages_open_in_each_language(client, superuser, queue, language):
    _city, _generals, pending = queue
    assert client.get(f"/{language}/admin/placement/application/").status_code == 200
    response = client.get(f"/{language}/admin/placement/application/{pending.pk}/change/")
    assert response.status_code == 200 and f'<html lang="{language}"' in response.content.decode()


def test_a_department_admin_confirms_a_privilege_without_model_permissions(client, queue):
    _city, _generals, pending = queue
    department_admin = AdminFactory(username="dept")
    client.force_login(department_admin)
    assert client.get(APPLICATIONS).status_code == 200
    act(client, "confirm_privilege", [pending])
    pending.refresh_from_db()
    assert pending.privilege_status == "confirmed"
    assert AuditEntry.objects.get(action="application.privilege_confirmed").actor == department_admin
