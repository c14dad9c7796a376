"""The parent's notifications in the cabinet and the API, and the alert toggle (issue 14): newest first, paginated,
one's own only, translated; the alert turned on and off for an application in the queue, refusals as everywhere."""

import datetime as dt

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AuditEntry, Notification
from accounts.services.notifications import notification_enqueue, notifications_send_due
from placement.models import Application, GeneralAccessSubscription
from tests.clock import astana
from tests.factories import (
    AdminFactory,
    CityFactory,
    KindergartenFactory,
    ParentFactory,
    StaffFactory,
    applicant,
    serving,
)
from tests.i18n import url
from tests.placement.claims import interface_in_english

pytestmark = pytest.mark.django_db

T0 = astana(2024, 5, 7, 12, 0)
NOTIFICATIONS = "/api/v1/me/notifications/"


def alerts_url(number: str) -> str:
    return f"/api/v1/me/applications/{number}/alerts/"


def lifted(parent, n: int, at=T0):
    notification_enqueue(user=parent, kind="cabinet_lifted", key=f"cabinet_lifted:{parent.pk}:{n}", at=at)


def api(user, language="ru") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def city():
    return serving(CityFactory(slug="temirtau"))


# --- The cabinet -----------------------------------------------------------------------------------------------


def test_the_cabinet_links_to_the_notifications(logged_in, city):
    parent, _application = applicant(city)
    html = logged_in(parent).get(url("cabinet")).content.decode()
    assert url("cabinet-notifications") in html


def test_the_list_shows_ones_own_sms_newest_first_with_time_and_status(logged_in, city):
    parent, _application = applicant(city)
    lifted(parent, 1, at=T0)
    lifted(parent, 2, at=T0 + dt.timedelta(hours=1))
    notifications_send_due(at=T0)  # the first is sent, the second is not due yet
    lifted(ParentFactory(), 3)  # someone else's
    html = logged_in(parent).get(url("cabinet-notifications")).content.decode()
    cards = html.split('class="notification-card"')[1:]
    assert len(cards) == 2
    assert "07.05.2024 13:00" in cards[0] and "Ожидает отправки" in cards[0]  # newest first
    assert "07.05.2024 12:00" in cards[1] and "Отправлено" in cards[1]
    assert "блокировка вашего личного кабинета снята" in cards[1]
    assert html.count("блокировка вашего личного кабинета снята") == 2  # the other parent's is not here


def test_the_list_is_paginated(logged_in, city):
    parent, _application = applicant(city)
    for n in range(25):
        lifted(parent, n, at=T0 + dt.timedelta(minutes=n))
    client = logged_in(parent)
    first = client.get(url("cabinet-notifications")).content.decode()
    second = client.get(url("cabinet-notifications", query="page=2")).content.decode()
    assert first.count('class="notification-card"') == 20 and second.count('class="notification-card"') == 5
    assert "07.05.2024 12:24" in first and "07.05.2024 12:00" in second
    assert client.get(url("cabinet-notifications", query="page=x")).status_code == 200  # the first page


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_notifications_page_is_translated(logged_in, city, language):
    parent, application = applicant(city)
    lifted(parent, 1)
    client = logged_in(parent)
    english = client.get(url("cabinet-notifications", "en")).content.decode()
    page = client.get(url("cabinet-notifications", language)).content.decode()
    sms_text = Notification.objects.get().text  # as sent, in the parent's language whatever the page's
    assert interface_in_english(page, english, application.number, sms_text, parent.first_name) == []


def test_staff_get_403_and_visitors_the_sms_login(logged_in, client, city):
    staff = StaffFactory(kindergarten=KindergartenFactory(city=city))
    assert logged_in(staff).get(url("cabinet-notifications")).status_code == 403
    response = client.get(url("cabinet-notifications"))
    assert response.status_code == 302 and "/accounts/sms/" in response["Location"]


def test_alerts_are_turned_on_and_off_for_an_application_in_the_queue(logged_in, city):
    parent, application = applicant(city)
    client = logged_in(parent)
    page = client.get(url("cabinet-notifications")).content.decode()
    assert application.number in page and "Включить оповещения" in page
    response = client.post(url("cabinet-alerts", number=application.number), {"subscribe": "1"})
    assert response.status_code == 302 and response["Location"] == url("cabinet-notifications")
    assert GeneralAccessSubscription.objects.filter(application=application, parent=parent).exists()
    client.post(url("cabinet-alerts", number=application.number), {"subscribe": "1"})  # a second click
    assert GeneralAccessSubscription.objects.count() == 1
    assert AuditEntry.objects.filter(action="subscription.general_access_on").count() == 1
    assert "Выключить оповещения" in client.get(url("cabinet-notifications")).content.decode()
    client.post(url("cabinet-alerts", number=application.number), {"subscribe": "0"})
    assert not GeneralAccessSubscription.objects.exists()
    assert AuditEntry.objects.filter(action="subscription.general_access_off").count() == 1


def test_another_familys_application_is_a_404_and_a_withdrawn_one_is_refused(logged_in, city):
    parent, application = applicant(city)
    _other, theirs = applicant(city, 1)
    client = logged_in(parent)
    assert client.post(url("cabinet-alerts", number=theirs.number), {"subscribe": "1"}).status_code == 404
    assert client.post(url("cabinet-alerts", number="not-a-number"), {"subscribe": "1"}).status_code == 404
    Application.objects.filter(pk=application.pk).update(status=Application.Status.WITHDRAWN)
    response = client.post(url("cabinet-alerts", number=application.number), {"subscribe": "1"})
    assert response.status_code == 409 and "в очереди" in response.content.decode()
    assert not GeneralAccessSubscription.objects.exists()
    assert client.get(url("cabinet-alerts", number=application.number)).status_code == 405


# --- The API ---------------------------------------------------------------------------------------------------


def test_the_api_lists_ones_own_notifications_newest_first_paginated(city):
    parent, _application = applicant(city)
    for n in range(3):
        lifted(parent, n, at=T0 + dt.timedelta(minutes=n))
    lifted(ParentFactory(), 9)
    notifications_send_due(at=T0)
    client = api(parent)
    body = client.get(NOTIFICATIONS).json()
    assert body["count"] == 3 and body["next"] is None
    newest, _middle, oldest = body["results"]
    assert newest["created_at"] > oldest["created_at"]
    assert (oldest["kind"], oldest["status"], oldest["language"]) == ("cabinet_lifted", "sent", "ru")
    assert oldest["text"].startswith("INDIGO: блокировка") and oldest["sent_at"] is not None
    assert newest["status"] == "pending" and newest["sent_at"] is None
    assert client.get(NOTIFICATIONS, {"page": 9}).json()["reason"] == "not_found"


def test_the_api_refuses_strangers_staff_and_admins():
    assert APIClient().get(NOTIFICATIONS).status_code == 401
    assert api(AdminFactory()).get(NOTIFICATIONS).status_code == 403
    assert api(StaffFactory(kindergarten=KindergartenFactory())).get(NOTIFICATIONS).status_code == 403


def test_the_api_reads_and_turns_the_alert_on_and_off(city):
    parent, application = applicant(city)
    client = api(parent)
    assert client.get(alerts_url(application.number)).json() == {"general_access": False}
    response = client.put(alerts_url(application.number), {"general_access": True}, format="json")
    assert (response.status_code, response.json()) == (200, {"general_access": True})
    assert client.get(alerts_url(application.number)).json() == {"general_access": True}
    response = client.put(alerts_url(application.number), {"general_access": False}, format="json")
    assert response.json() == {"general_access": False} and not GeneralAccessSubscription.objects.exists()


def test_the_api_refuses_bad_input_unknown_applications_and_applications_out_of_the_queue(city):
    parent, application = applicant(city)
    _other, theirs = applicant(city, 1)
    client = api(parent, language="kk")
    invalid = client.put(alerts_url(application.number), {"general_access": "perhaps"}, format="json")
    assert invalid.status_code == 400 and invalid.json()["reason"] == "invalid"
    assert "general_access" in invalid.json()["detail"]
    assert client.put(alerts_url(application.number), {}, format="json").status_code == 400
    assert client.put(alerts_url(theirs.number), {"general_access": True}, format="json").status_code == 404
    Application.objects.filter(pk=application.pk).update(status=Application.Status.REFERRED)
    refused = client.put(alerts_url(application.number), {"general_access": True}, format="json")
    assert refused.status_code == 409
    assert refused.json() == {
        "reason": "not_subscribable",
        "detail": "Хабарландыруларды тек кезектегі өтініш үшін қосуға болады.",
    }
    assert not GeneralAccessSubscription.objects.exists()
