"""The parent's notifications in the cabinet (issue 14): every SMS the portal sent or is sending them, newest
first, and the claim-mode alert ("a place my child can take is in general access") turned on or off per
application. Parents only, like the rest of the cabinet; POST-redirect-GET."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext

from accounts.selectors import notifications_of
from indigo.http import request_ip

from ..errors import NoSuchApplication
from ..selectors.parents import parent_application
from ..selectors.subscriptions import parent_subscriptions
from ..services.subscriptions import general_access_subscribe
from .cabinet import CabinetView

PAGE_SIZE = 20


class NotificationListView(CabinetView):
    http_method_names = ["get"]

    def get(self, request):
        page = Paginator(notifications_of(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"page": page, "applications": parent_subscriptions(parent=request.user)}
        return render(request, "cabinet/notifications.html", context)


class GeneralAccessAlertView(CabinetView):
    """POST `subscribe` = 1 (on) or 0 (off) for one of the parent's applications (another family's number is a
    404, like an unknown one)."""

    http_method_names = ["post"]

    def post(self, request, number: str):
        application = parent_application(parent=request.user, number=number)
        if application is None:
            raise NoSuchApplication()
        subscribe = request.POST.get("subscribe") == "1"
        general_access_subscribe(
            application=application, parent=request.user, subscribe=subscribe, ip=request_ip(request)
        )
        if subscribe:
            text = gettext("Alerts for application %(number)s are on: at most one SMS a day.")
        else:
            text = gettext("Alerts for application %(number)s are off.")
        messages.success(request, text % {"number": application.number})
        return HttpResponseRedirect(reverse("placement:cabinet-notifications"))
