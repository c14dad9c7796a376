from django.views.generic import TemplateView


class RegistryView(TemplateView):
    template_name = "placement/registry.html"


class ProtocolIndexView(TemplateView):
    template_name = "placement/protocols.html"
