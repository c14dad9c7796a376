from django.views.generic import TemplateView


class ScheduleIndexView(TemplateView):
    template_name = "schedules/index.html"
