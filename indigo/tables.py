"""One table for every list of the portal (issue 11, templates; issue 13, cards below 640 px).

A list is written once, row by row, each cell naming its column::

    {% load tables %}
    {% table "places-table" caption=_("Places") page=page query=query %}
      {% for place in places %}
        {% row place=place.pk %}
          {% cell _("Kindergarten") header=True %}{{ place.kindergarten.name }}{% endcell %}
          {% cell _("Access") class="key" %}...{% endcell %}
        {% endrow %}
      {% endfor %}
    {% endtable %}

The tag writes the scrolling box, the table with its caption and its header row (the columns are read from the
first row's cells, so a label is written once), and the pagination after it (`page`, `query` without the page,
`newer_first` for lists newest first). Each cell carries its label in `data-label`: below 640 px the stylesheet
lays every row out as a card (label above value), so no list scrolls sideways on a phone; wide screens keep the
table. A table with no row renders its `empty` text instead (nothing without one).

`{% row %}` turns its keywords into `data-` attributes (`place=1` → `data-place="1"`; `class=` is the row's
class). `{% cell %}` takes the column's label and `header=True` (the row's header cell, `<th scope="row">`),
`class=` (e.g. "key", a fact shown large on a card) and `label_hidden=True` (a column whose header is read by
screen readers only, and whose cards show no label, e.g. the actions).
"""

from django import template
from django.template.base import token_kwargs
from django.template.loader import render_to_string
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_TABLE = "_indigo_table"


class _Table:
    """What the rows tell the table while they render: the columns of the first row, and how many rows."""

    def __init__(self):
        self.columns: list[tuple[str, bool]] | None = None
        self.current: list[tuple[str, bool]] | None = None
        self.rows = 0


def _kwargs(parser, bits, tag_name: str) -> dict:
    kwargs = token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError(f"{tag_name}: unexpected arguments {bits!r}")
    return kwargs


def _resolve(kwargs: dict, context) -> dict:
    return {name: value.resolve(context) for name, value in kwargs.items()}


class TableNode(template.Node):
    def __init__(self, css_class, kwargs, nodelist):
        self.css_class, self.kwargs, self.nodelist = css_class, kwargs, nodelist

    def render(self, context):
        options = _resolve(self.kwargs, context)
        table = _Table()
        with context.push(**{_TABLE: table}):
            body = self.nodelist.render(context)
        if not table.rows:
            empty = options.get("empty")
            return format_html('<p class="empty">{}</p>', empty) if empty else ""
        css_class = " ".join(part for part in ("data-table", self.css_class.resolve(context) or "") if part)
        caption = options.get("caption")
        caption_html = ""
        if caption:
            hidden = ' class="visually-hidden"' if options.get("caption_hidden") else ""
            caption_html = format_html("<caption{}>{}</caption>", mark_safe(hidden), caption)  # noqa: S308
        heads = format_html_join(
            "",
            '<th scope="col">{}</th>',
            (
                (format_html('<span class="visually-hidden">{}</span>', label) if hidden else label,)
                for label, hidden in table.columns or []
            ),
        )
        # The box scrolls on a screen narrower than the table (not on a phone: cards), so a keyboard must reach it.
        html = format_html(
            '<div class="table-scroll" tabindex="0"><table class="{}">{}'
            "<thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>",
            css_class,
            caption_html,
            heads,
            mark_safe(body),  # noqa: S308 - rendered by the template engine, escaped there
        )
        page = options.get("page")
        if page is not None:
            html += render_to_string(
                "_pagination.html",
                {
                    "page": page,
                    "query": options.get("query") or "",
                    "newer_first": options.get("newer_first", False),
                },
            )
        return mark_safe(html)  # noqa: S308 - built from escaped parts


class RowNode(template.Node):
    def __init__(self, kwargs, nodelist):
        self.kwargs, self.nodelist = kwargs, nodelist

    def render(self, context):
        table: _Table = context[_TABLE]
        table.current = []
        body = self.nodelist.render(context)
        if table.columns is None:
            table.columns = table.current
        table.rows += 1
        attributes = []
        for name, value in _resolve(self.kwargs, context).items():
            attribute = "class" if name == "class" else "data-" + name.replace("_", "-")
            attributes.append(format_html(' {}="{}"', attribute, value))
        return format_html("<tr{}>{}</tr>", mark_safe("".join(attributes)), mark_safe(body))  # noqa: S308


class CellNode(template.Node):
    def __init__(self, label, kwargs, nodelist):
        self.label, self.kwargs, self.nodelist = label, kwargs, nodelist

    def render(self, context):
        table: _Table = context[_TABLE]
        options = _resolve(self.kwargs, context)
        label = str(self.label.resolve(context))
        hidden = bool(options.get("label_hidden"))
        if table.current is not None:
            table.current.append((label, hidden))
        tag = "th" if options.get("header") else "td"
        attributes = format_html(' scope="{}"', "row") if tag == "th" else SafeString()
        css_class = options.get("class")
        if css_class:
            attributes += format_html(' class="{}"', css_class)
        if not hidden:
            attributes += format_html(' data-label="{}"', label)
        content = conditional_escape(self.nodelist.render(context))
        return format_html("<{}{}>{}</{}>", tag, attributes, content, tag)


@register.tag
def table(parser, token):
    bits = token.split_contents()[1:]
    css_class = parser.compile_filter(bits.pop(0)) if bits and "=" not in bits[0] else parser.compile_filter('""')
    kwargs = _kwargs(parser, bits, "table")
    nodelist = parser.parse(("endtable",))
    parser.delete_first_token()
    return TableNode(css_class, kwargs, nodelist)


@register.tag
def row(parser, token):
    kwargs = _kwargs(parser, token.split_contents()[1:], "row")
    nodelist = parser.parse(("endrow",))
    parser.delete_first_token()
    return RowNode(kwargs, nodelist)


@register.tag
def cell(parser, token):
    bits = token.split_contents()[1:]
    if not bits:
        raise template.TemplateSyntaxError("cell: the column's label comes first")
    label = parser.compile_filter(bits.pop(0))
    kwargs = _kwargs(parser, bits, "cell")
    nodelist = parser.parse(("endcell",))
    parser.delete_first_token()
    return CellNode(label, kwargs, nodelist)
