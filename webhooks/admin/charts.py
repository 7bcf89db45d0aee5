"""Server-side SVG charts with pygal: incidents per week by kind, on-time rate, voucher spend.

The SVGs carry no script (``js=[]``): they are plain images, served from a route and shown with
``<img>``, and every chart has its numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pygal
from flask_babel import gettext
from pygal.style import Style

from connector.admin import wording
from connector.admin.insights import MonthSpend, OnTimeRate, WeekCount
from webhooks.admin.i18n import local_day, words

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    colors=("#2f6f9f", "#e07a1f", "#3c9d5d", "#c4424a", "#7b5ea7", "#8c6d46", "#5a6b7b"),
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    title_font_size=16,
)


def _without_scripts(root: Any) -> Any:
    """pygal always embeds its tooltip configuration as a script; these charts are plain images."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _config(width: int = 800, height: int = 380) -> dict[str, object]:
    return {
        "style": STYLE,
        "js": [],
        "width": width,
        "height": height,
        "explicit_size": False,
        "legend_at_bottom": True,
        "show_y_guides": True,
        "margin": 16,
        "no_data_text": gettext("Nothing in this period"),
    }


def incidents_per_week(weeks: Sequence[date], counts: Sequence[WeekCount]) -> bytes:
    chart = pygal.StackedBar(x_label_rotation=0, **_config())
    chart.add_xml_filter(_without_scripts)
    chart.x_labels = [local_day(w, "d MMM") for w in weeks]
    index = {week: i for i, week in enumerate(weeks)}
    kinds = sorted({c.kind for c in counts})
    for kind in kinds:
        values: list[int | None] = [None] * len(weeks)
        for c in counts:
            if c.kind == kind and c.week in index:
                values[index[c.week]] = (values[index[c.week]] or 0) + c.count
        chart.add(words(wording.kind(kind)), values)
    return bytes(chart.render())


def on_time(rates: Sequence[OnTimeRate]) -> bytes:
    chart = pygal.HorizontalBar(range=(0, 100), value_formatter=lambda v: f"{v:.0f}%", **_config(height=320))
    chart.add_xml_filter(_without_scripts)
    for rate in rates[:10]:
        chart.add(f"{rate.label} ({rate.shipped})", [round(rate.rate * 100, 1)])
    return bytes(chart.render())


def voucher_spend(months: Sequence[MonthSpend]) -> bytes:
    chart = pygal.Bar(**_config(width=520, height=380))
    chart.add_xml_filter(_without_scripts)
    labels = sorted({m.month for m in months})
    chart.x_labels = [local_day(m, "LLL yyyy") for m in labels]
    for currency in sorted({m.currency for m in months}):
        by_month = {m.month: float(m.amount) for m in months if m.currency == currency}
        chart.add(currency, [by_month.get(m) for m in labels])
    return bytes(chart.render())
