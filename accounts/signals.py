"""Every login, whichever page or form made it (the password page, the admin's login, the SMS code page), is
recorded, and every failed password login is audited."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from indigo.http import request_ip, request_user_agent

from .models import LoginRecord
from .services.audit import audit_record
from .services.lockout import FAILED, USERNAME_LENGTH
from .services.sessions import login_record


@receiver(user_logged_in, dispatch_uid="accounts.login_recorded")
def login_recorded(sender, request, user, **kwargs):
    if request is None:
        return
    session = getattr(request, "session", None)
    if session is not None and not session.session_key:
        # login() flushed the session of a previous user: save it now so that the record knows its key.
        session.save()
    login_record(
        user=user,
        method=getattr(request, "login_method", LoginRecord.Method.PASSWORD),
        ip=request_ip(request),
        user_agent=request_user_agent(request),
        session_key=(session.session_key if session is not None else "") or "",
    )


@receiver(user_login_failed, dispatch_uid="accounts.login_failed_audited")
def login_failed_audited(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in `credentials`; only the name typed is kept.
    audit_record(
        actor=None,
        action=FAILED,
        ip=request_ip(request) if request is not None else None,
        username=str(credentials.get("username", ""))[:USERNAME_LENGTH],
        device=request_user_agent(request) if request is not None else "",
    )
