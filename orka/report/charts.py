"""What every chart of the comparison page shares: the methods' colours, one look, inline SVG.

matplotlib draws on its Agg canvas, never through pyplot (no GUI backend, no
global figure state); the figure is saved as SVG and inlined into the page,
with glyphs as paths so a chart looks the same in every browser.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable
from contextlib import AbstractContextManager

import matplotlib
from markupsafe import Markup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from orka import methods

# The benchmark's tools that are no method of orka's; a method's colour is its descriptor's.
TOOL_COLORS = {"custom-cli": "#7cc9a4"}
SPARE_COLORS = ("#c44e52", "#8c8c8c", "#b5a33a", "#5bb5c9")


def method_colors(names: Iterable[str]) -> dict[str, str]:
    """One colour per method (or benchmark tool) on every chart and in the matrix; spares for unknown names."""
    known = {d.name: d.color for d in methods.descriptors()} | TOOL_COLORS
    spare = itertools.cycle(SPARE_COLORS)
    return {name: known.get(name) or next(spare) for name in dict.fromkeys(names)}


def chart_style() -> AbstractContextManager[None]:
    """One look for every chart: quiet axes, the page's greys; glyphs as paths, the same in every browser."""
    return matplotlib.rc_context(
        {
            "font.family": "DejaVu Sans",
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": "#9aa0a6",
            "axes.labelcolor": "#3c4043",
            "xtick.color": "#3c4043",
            "ytick.color": "#3c4043",
            "hatch.color": "#b3261e",
            "svg.fonttype": "path",
        }
    )


def svg(figure: Figure, prefix: str, label: str) -> Markup:
    """The figure as inline SVG: no XML prologue, no metadata, ids of its own (the page holds several charts)."""
    FigureCanvasAgg(figure)
    out = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": prefix}):
        figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))

    def own(match: re.Match[str]) -> str:
        return f"{match[1]}{prefix}-{match[2]}" if match[2] in ids else match[0]

    svg = re.sub(r'(\bid="|href="#|url\(#)([^")]+)', own, svg)
    label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1)
    # Trusted: made here by matplotlib, whose SVG writer escapes every text in it.
    return Markup(svg)
