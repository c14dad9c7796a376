"""The demo's accounts as `seed_demo` and `demo_welcome` print them (for a local first run only)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from accounts.sms import phone_display
from placement.demo import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, DEMO_PARENT_LOGIN_PHONE, DEMO_STAFF_PASSWORD


def demo_accounts_write(command, *, url: str = "") -> None:
    """The staff and admin passwords, and the parents who log in by SMS code, as they are in the database."""
    User = get_user_model()
    out, style = command.stdout, command.style
    out.write("")
    if url:
        out.write(style.SUCCESS(f"INDIGO is running on {url} (Ctrl-C stops web, worker and beat)"))
    out.write(style.WARNING("DEMO-ONLY CREDENTIALS (local first run; never use them in production):"))
    staff = User.objects.filter(username__startswith="staff-", role=User.Role.STAFF).select_related("kindergarten")
    for user in staff.order_by("username"):
        out.write(f"  {user.username:<16} {DEMO_STAFF_PASSWORD:<20} {user.kindergarten.name_ru}")
    if User.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
        out.write(f"  {DEMO_ADMIN_USERNAME:<16} {DEMO_ADMIN_PASSWORD:<20} education department admin")
    out.write("  (passwords are set when an account is created; a changed password is left alone)")
    with translation.override("ru"):
        login_url = reverse("accounts:otp-login")
    backend = settings.SMS_BACKEND.rsplit(".", 1)[-1]
    out.write(
        style.WARNING(
            f"Parent login: {login_url} (SMS login), phone {phone_display(DEMO_PARENT_LOGIN_PHONE)} — "
            f"the code is printed on the web console ({backend})"
        )
    )
    for parent in User.objects.filter(phone__startswith="+770100000").order_by("phone"):
        out.write(f"  {phone_display(parent.phone)}  {parent.last_name} {parent.first_name}")
    out.write(
        "  +7 701 000 00 01 can take places now; +7 701 000 00 04 holds a referral; +7 701 000 00 03 has an "
        "extraordinary right pending: confirm it in the admin (Applications) and watch the position change."
    )
    out.write("  Offer mode (Ust-Kamenogorsk): places offered at 18:00 by the kindergartens parents ranked:")
    for parent in User.objects.filter(phone__startswith="+770200000").order_by("phone"):
        out.write(f"  {phone_display(parent.phone)}  {parent.last_name} {parent.first_name}")
    out.write("  each has an offer after the 18:00 catch-up: accept or decline it in the cabinet.")
