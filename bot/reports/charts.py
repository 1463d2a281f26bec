"""The report chart (PNG): volume per day by status, and matched price against the reference (and
the realized price of the deals weighed and paid).

Rendering is CPU work: call :func:`render` through ``asyncio.to_thread``. It uses matplotlib's
object API with the Agg canvas, so no global pyplot state is shared between threads.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from bot.services.reports import CHART_STATUSES, ChartData

COLORS = {
    "paid": "#1b5e20",
    "picked_up": "#2e7d32",
    "matched": "#66bb6a",
    "proposed": "#ffca28",
    "open": "#90a4ae",
    "unsold": "#e57373",
}
LINE_COLORS = ("#1565c0", "#6a1b9a", "#ef6c00")


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """Every text the chart shows, already translated by the caller."""

    title: str
    volume_title: str
    price_title: str
    kg_axis: str
    price_axis: str
    statuses: dict[str, str]
    reference: str
    products: dict[str, str]
    no_prices: str
    realized: str = ""


def render(chart: ChartData, labels: ChartLabels, *, dpi: int = 100) -> bytes:
    """A PNG of two panels sized for a phone screen (about 900×1000 px)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 10), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1)
    fig.suptitle(labels.title, fontsize=14)
    x = list(range(len(chart.days)))
    ticks = [d.strftime("%d/%m") for d in chart.days]
    step = max(1, len(x) // 12)  # at most a dozen date labels, readable on a phone

    base = [0.0] * len(x)
    for status in CHART_STATUSES:
        values = [v / 1000 for v in chart.volume[status]]
        if any(values):
            top.bar(x, values, bottom=base, color=COLORS[status], label=labels.statuses[status])
            base = [b + v for b, v in zip(base, values, strict=True)]
    top.set_title(labels.volume_title)
    top.set_ylabel(labels.kg_axis)
    if any(base):
        top.legend(loc="upper left", fontsize=9)

    for (code, (price, ref)), color in zip(chart.prices.items(), LINE_COLORS, strict=False):
        name = labels.products.get(code, code)
        bottom.plot(x, [p / 1000 if p else None for p in price], marker="o", color=color, label=name)
        if any(r is not None for r in ref):
            bottom.plot(
                x,
                [r / 1000 if r else None for r in ref],
                linestyle="--",
                color=color,
                label=f"{name} – {labels.reference}",
            )
        if (paid := chart.realized.get(code)) is not None:
            bottom.plot(
                x,
                [p / 1000 if p else None for p in paid],
                linestyle="none",
                marker="s",
                markersize=8,
                color=color,
                label=f"{name} – {labels.realized}",
            )
    bottom.set_title(labels.price_title)
    bottom.set_ylabel(labels.price_axis)
    if chart.prices:
        bottom.legend(loc="best", fontsize=9)
    else:
        bottom.text(0.5, 0.5, labels.no_prices, ha="center", va="center", transform=bottom.transAxes)
    for ax in (top, bottom):
        ax.set_xticks(x[::step], ticks[::step], rotation=45, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()
