"""Admin of people (issue 4, admins): representations confirmed or rejected with the reason sent to the parent by
SMS (through the outbox, in the parent's language), every decision audited; logins, one-time codes and the audit
log are read-only; department admins use it."""

import datetime as dt

import pytest

from accounts.models import AuditEntry, Child, LoginRecord, Notification, OtpChallenge, Representation
from accounts.services.audit import audit_record
from accounts.services.notifications import notification_enqueue
from tests.clock import astana
from tests.factories import AdminFactory, ParentFactory, RepresentationFactory, UserFactory
from tests.outbox import delivered

pytestmark = pytest.mark.django_db

REPRESENTATIONS = "/ru/admin/accounts/representation/"


@pytest.fixture
def pending():
    return RepresentationFactory(status="pending", parent__phone="+77015550001", child__last_name="Сапаров")


def act(client, url, action, objects, **extra):
    return client.post(url, {"action": action, "index": "0", "_selected_action": [o.pk for o in objects], **extra})


def test_confirming_a_representation_audits_it_and_tells_the_parent_by_sms(client, superuser, pending):
    response = act(client, REPRESENTATIONS, "confirm", [pending])
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "confirmed" and pending.decided_by == superuser
    entry = AuditEntry.objects.get(action="representation.confirmed")
    assert (entry.actor, entry.target_id) == (superuser, str(pending.pk))
    [message] = delivered()
    assert message.phone == "+77015550001"
    assert "подтверждено" in message.text and "Сапаров" in message.text  # in Russian, the parent's language


def test_a_kazakh_reading_parent_is_told_in_kazakh(client, superuser, pending):
    pending.parent.language = "kk"
    pending.parent.save(update_fields=["language"])
    act(client, REPRESENTATIONS, "confirm", [pending])
    [message] = delivered()
    assert "расталды" in message.text and "подтверждено" not in message.text


def test_rejecting_asks_for_a_reason_first_and_changes_nothing_until_given(client, superuser, pending):
    page = act(client, REPRESENTATIONS, "reject", [pending])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="reason"' in html and 'name="apply_reason"' in html
    assert "Причина отказа" in html  # the form is translated
    empty = act(client, REPRESENTATIONS, "reject", [pending], apply_reason="yes", reason="  ")
    assert empty.status_code == 200 and "errorlist" in empty.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert delivered() == [] and not AuditEntry.objects.filter(action__startswith="representation.").exists()


def test_rejecting_with_a_reason_sends_the_reason_to_the_parent(client, superuser, pending):
    reason = "Свидетельство о рождении не читается, загрузите скан заново"
    response = act(client, REPRESENTATIONS, "reject", [pending], apply_reason="yes", reason=reason)
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.decision_reason) == ("rejected", reason)
    entry = AuditEntry.objects.get(action="representation.rejected")
    assert entry.details["reason"] == reason and entry.actor == superuser
    [message] = delivered()
    assert reason in message.text and "отклонено" in message.text


def test_only_pending_representations_are_decided(client, superuser, pending):
    confirmed = RepresentationFactory(status="confirmed")
    act(client, REPRESENTATIONS, "reject", [pending, confirmed], apply_reason="yes", reason="Нет документа")
    confirmed.refresh_from_db()
    assert confirmed.status == "confirmed"
    assert [m.phone for m in delivered()] == [pending.parent.phone]


def test_a_department_admin_without_model_permissions_can_decide(client, pending):
    admin_user = AdminFactory(username="dept")  # role admin, staff status, not a superuser, no permissions
    client.force_login(admin_user)
    assert client.get("/ru/admin/").status_code == 200
    assert client.get(REPRESENTATIONS).status_code == 200
    act(client, REPRESENTATIONS, "confirm", [pending])
    pending.refresh_from_db()
    assert pending.status == "confirmed" and pending.decided_by == admin_user


def test_kindergarten_staff_with_staff_status_cannot_see_representations(client, pending):
    user = UserFactory(username="clerk", role="parent", is_staff=True)
    client.force_login(user)
    assert client.get(REPRESENTATIONS).status_code == 403


def test_an_sms_failure_does_not_undo_the_decision_and_is_recorded_for_a_retry(client, superuser, pending, settings):
    settings.SMS_BACKEND = "accounts.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = "not-a-url"
    response = act(client, REPRESENTATIONS, "confirm", [pending])
    assert response.status_code == 302
    assert delivered() == []
    pending.refresh_from_db()
    assert pending.status == "confirmed"
    notification = Notification.objects.get(user=pending.parent)
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert "SMS_GATEWAY_URL" in notification.last_error


def test_a_notification_to_a_parent_without_a_phone_sends_nothing_and_says_why():
    parent = ParentFactory(phone=None)
    notification_enqueue(user=parent, kind="cabinet_lifted", key="cabinet_lifted:test")
    assert delivered() == []
    notification = Notification.objects.get(user=parent)
    assert (notification.status, notification.last_error) == ("failed", "the parent has no phone")


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_people_pages_open_for_a_superuser(client, superuser, pending, language):
    LoginRecord.objects.create(user=pending.parent, method="otp", ip="10.0.0.1", session_key="secret-session-key")
    otp = OtpChallenge.objects.create(phone="+77015550001", code_hash="hash-never-shown", expires_at=astana(2030, 1, 1))
    entry = audit_record(actor=superuser, action="test.action", target=pending, ip="10.0.0.2", note="x")
    login = LoginRecord.objects.get(user=pending.parent)
    for url in [
        f"/{language}/admin/accounts/child/",
        f"/{language}/admin/accounts/child/{pending.child.pk}/change/",
        f"/{language}/admin/accounts/representation/",
        f"/{language}/admin/accounts/representation/{pending.pk}/change/",
        f"/{language}/admin/accounts/loginrecord/",
        f"/{language}/admin/accounts/loginrecord/{login.pk}/change/",
        f"/{language}/admin/accounts/otpchallenge/",
        f"/{language}/admin/accounts/otpchallenge/{otp.pk}/change/",
        f"/{language}/admin/accounts/auditentry/",
        f"/{language}/admin/accounts/auditentry/{entry.pk}/change/",
        f"/{language}/admin/accounts/user/{pending.parent.pk}/change/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "hash-never-shown" not in html and "secret-session-key" not in html, url


@pytest.mark.parametrize("model", ["auditentry", "loginrecord", "otpchallenge", "representation", "child"])
def test_records_cannot_be_added_changed_or_deleted_in_the_admin(client, superuser, pending, model):
    entry = audit_record(actor=superuser, action="test.action", target=pending)
    LoginRecord.objects.create(user=pending.parent, method="otp")
    OtpChallenge.objects.create(phone="+77015550001", code_hash="h", expires_at=astana(2030, 1, 1))
    objects = {
        "auditentry": entry,
        "loginrecord": LoginRecord.objects.get(user=pending.parent),
        "otpchallenge": OtpChallenge.objects.get(),
        "representation": pending,
        "child": pending.child,
    }
    obj = objects[model]
    base = f"/ru/admin/accounts/{model}/"
    counts = (AuditEntry.objects.count(), Representation.objects.count(), Child.objects.count())
    assert client.get(f"{base}add/").status_code == 403
    assert client.get(f"{base}{obj.pk}/delete/").status_code == 403
    assert client.post(f"{base}{obj.pk}/change/", {"action": "changed"}).status_code == 403
    listing = client.get(base).content.decode()
    assert f"{base}add/" not in listing and "delete_selected" not in listing
    assert (AuditEntry.objects.count(), Representation.objects.count(), Child.objects.count()) == counts


def test_audit_log_shows_astana_time_and_filters_by_action_and_target(client, superuser, pending):
    at = dt.datetime(2024, 6, 3, 4, 5, 6, tzinfo=dt.UTC)  # 09:05:06 in Astana
    mine = audit_record(actor=superuser, action="representation.confirmed", target=pending, ip="10.1.2.3", at=at)
    audit_record(actor=None, action="otp.request", ip="10.9.9.9", at=at)
    response = client.get("/ru/admin/accounts/auditentry/", {"action": "representation.confirmed"})
    assert list(response.context["cl"].result_list) == [mine]
    html = response.content.decode()
    assert "03.06.2024 09:05:06" in html and "10.1.2.3" in html
    found = client.get("/ru/admin/accounts/auditentry/", {"q": str(pending.pk)})
    assert mine in list(found.context["cl"].result_list)
    by_day = client.get("/ru/admin/accounts/auditentry/", {"at__day": "3", "at__month": "6", "at__year": "2024"})
    assert by_day.status_code == 200 and len(by_day.context["cl"].result_list) == 2
