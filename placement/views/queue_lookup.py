"""The public queue lookup: an application's position by its number, without login (DOMAIN.md, Queue: position
is public by application number; no name, no IIN, no phone)."""

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views import View

from ..models import Application
from ..selectors.queue import public_application, queue_position


class QueueLookupForm(forms.Form):
    number = forms.CharField(
        label=_("Application number"),
        max_length=32,
        help_text=_("As in your cabinet, e.g. 7K3M-Q9PX-2B4T; capital or small letters, with or without dashes."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class QueueLookupView(View):
    http_method_names = ["get"]

    def get(self, request):
        if "number" not in request.GET:
            return render(request, "placement/queue_lookup.html", {"form": QueueLookupForm()})
        form = QueueLookupForm(request.GET)
        if not form.is_valid():
            return render(request, "placement/queue_lookup.html", {"form": form}, status=400)
        application = public_application(form.cleaned_data["number"])
        if application is None:
            return render(request, "placement/queue_lookup.html", {"form": form, "not_found": True}, status=404)
        # Only these fields reach the page: nothing that names the child or the family.
        result = {
            "number": application.number,
            "city": application.city.name,
            "birth_year": application.birth_year,
            "category": application.get_queue_category_display(),
            "status": application.get_status_display(),
            "queued": application.status == Application.Status.QUEUED,
            "position": queue_position(application),
            "privilege_pending": application.privilege_status == Application.PrivilegeStatus.PENDING,
        }
        return render(request, "placement/queue_lookup.html", {"form": form, "result": result})
