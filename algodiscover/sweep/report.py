"""The sweep's report: the Pareto front of accuracy against cost, and ``DIR/report.html``.

Holds :func:`pareto_front` (the non-dominated points, lower is better on both axes), the
front of a sweep's finished rows, :func:`pareto_figure` (matplotlib, in the figure style of
the run reports: it uses the style of ``algodiscover.reports.figures`` and its SVG export),
and :func:`write_sweep_report` / :func:`render_sweep_html` (a self-contained page: figure
inline, tables of the front and of every run, links to the runs). Imports the standard
library, ``algodiscover.errors``, the atomic writer of ``analysis`` and ``.store`` at module
level; jinja2, matplotlib and ``algodiscover.reports.figures`` inside the functions that draw.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..analysis import write_atomic
from ..errors import InputError
from .store import DB_NAME, STATUSES, SweepStore

__all__ = ["pareto_front", "pareto_figure", "write_sweep_report", "render_sweep_html", "REPORT_NAME"]

REPORT_NAME = "report.html"


def pareto_front(points: Sequence[tuple[float, float, Any]]) -> list[Any]:
    """Ids of the points ``(cost, error, id)`` that no other point beats: no point with
    cost <= and error <=, one of them strictly (lower is better for both). Sorted by cost."""
    best = math.inf
    front = []
    for c, e, i in sorted(points, key=lambda p: (p[0], p[1])):
        if e < best:
            front.append(i)
            best = e
    return front


def _front_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    ok = [r for r in rows if r["status"] == "done" and r["error"] is not None and r["cost"] is not None]
    if not ok:
        return []
    metric = max({r["error_metric"] for r in ok}, key=lambda m: sum(r["error_metric"] == m for r in ok))
    ok = [r for r in ok if r["error_metric"] == metric]
    ids = set(pareto_front([(r["cost"], r["error"], r["config_hash"]) for r in ok]))
    return sorted((r for r in ok if r["config_hash"] in ids), key=lambda r: (r["cost"], r["error"]))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Sweep {{ name }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.86em; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.front td { background: #eef6ff; } .st-done { color: #1a7f37; } .st-diverged { color: #b35900; } .st-failed { color: #c00; }
.muted { color: #666; } code { font-size: 0.95em; } .plot svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>Sweep <code>{{ name }}</code></h1>
<p>{{ counts.done }} done, {{ counts.diverged }} diverged, {{ counts.failed }} failed{% if counts.pending or counts.running %}, {{ counts.pending + counts.running }} not yet run{% endif %} of {{ total }} configurations.
Swept: {% for k in keys %}<code>{{ k }}</code>{% if not loop.last %}, {% endif %}{% else %}nothing (one configuration){% endfor %}.
Generated {{ generated }} by algodiscover {{ version }}.</p>
{% if plot %}
<h2>Accuracy against cost</h2>
<p class="muted">{{ metric }} against cost ({{ unit }}); the Pareto front (blue, joined) holds the runs that no other run beats on both. Points link to their run.</p>
<div class="plot">{{ plot }}</div>
{% endif %}
{% if front %}
<h2>Pareto front</h2>
{{ table(front) }}
{% endif %}
<h2>All runs</h2>
{{ table(rows) }}
</body></html>
"""

_TABLE = """<table><thead><tr><th>run</th><th>status</th>{% for k in keys %}<th>{{ k }}</th>{% endfor %}
<th>cost</th><th>error</th><th>exact order</th><th>pers. order</th><th>measured order</th><th>classical / learned</th><th>final loss</th><th>identified as</th><th>train s</th></tr></thead><tbody>
{% for r in rows %}<tr class="{{ 'front' if r.front else '' }}">
<td>{% if r.link %}<a href="{{ r.link }}"><code>{{ r.run_id }}</code></a>{% else %}<code>{{ r.run_id }}</code>{% endif %}</td>
<td class="st-{{ r.status }}" title="{{ r.message or '' }}">{{ r.status }}</td>
{% for k in keys %}<td>{{ r.swept[k] }}</td>{% endfor %}
<td class="num">{{ r.cost }}</td><td class="num">{{ r.error }}</td><td class="num">{{ r.exact_order }}</td><td class="num">{{ r.personalised_order }}</td>
<td class="num">{{ r.measured_order }}</td><td class="num" title="{{ r.best_classical }}">{{ r.ratio }}</td><td class="num">{{ r.final_loss }}</td>
<td>{{ r.identified_as }}</td><td class="num">{{ r.train_s }}</td></tr>
{% endfor %}</tbody></table>"""


def write_sweep_report(out_dir: str | Path, *, store: SweepStore | None = None) -> Path:
    """Write DIR/report.html from the sweep database (can be called while a sweep runs)."""
    out = Path(out_dir)
    own = store is None
    if own:
        if not (out / DB_NAME).exists():
            raise InputError(f"{out}: no {DB_NAME} (not a sweep directory)")
        store = SweepStore(out / DB_NAME)
    try:
        rows = store.rows()
        name = store.get_meta("name") or out.name
        keys = json.loads(store.get_meta("swept_keys") or "[]")
        counts = store.counts()
    finally:
        if own:
            store.close()
    html = render_sweep_html(rows, name=name, keys=keys, counts=counts, base=out)
    path = out / REPORT_NAME
    write_atomic(path, html)
    return path


def render_sweep_html(rows: Sequence[dict[str, Any]], *, name: str, keys: Sequence[str], counts: Mapping[str, int], base: Path) -> str:
    """The self-contained sweep report (inline CSS and the SVG of :func:`pareto_figure`;
    links relative to ``base``)."""
    import jinja2
    from markupsafe import Markup

    front = _front_rows(rows)
    front_ids = {r["config_hash"] for r in front}
    view = [_row_view(r, keys, base, r["config_hash"] in front_ids) for r in rows]
    front_view = [v for v in view if v["front"]]
    front_view.sort(key=lambda v: (v["_cost"], v["_error"]))
    metric = front[0]["error_metric"] if front else ""
    unit = front[0]["cost_unit"] if front else ""
    plot = pareto_svg(rows, front_ids, metric, unit, base) if front else ""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    table = env.from_string(_TABLE)

    def render_table(items: Sequence[dict[str, Any]]) -> Any:
        return Markup(table.render(rows=items, keys=keys))

    from .. import __version__

    return env.from_string(_TEMPLATE).render(
        name=name, counts={s: counts.get(s, 0) for s in STATUSES}, total=sum(counts.values()), keys=keys, plot=Markup(plot),
        front=front_view, rows=view, table=render_table, metric=metric, unit=unit,
        generated=time.strftime("%Y-%m-%d %H:%M:%S"), version=__version__)


def _row_view(r: Mapping[str, Any], keys: Sequence[str], base: Path, on_front: bool) -> dict[str, Any]:
    assignment = json.loads(r["assignment"] or "{}")
    return {
        "run_id": r["run_id"], "status": r["status"], "message": r["message"], "front": on_front,
        "link": _run_link(r, base), "swept": {k: _fmt(assignment.get(k)) for k in keys},
        "cost": _fmt(r["cost"]), "error": _fmt(r["error"]), "exact_order": _fmt(r["exact_order"]),
        "personalised_order": _fmt(r["personalised_order"]), "measured_order": _fmt(r["measured_order"], 3),
        "ratio": _fmt(r["best_classical_ratio"], 3), "best_classical": _best_classical(r), "final_loss": _fmt(r["final_loss"]),
        "identified_as": _identified(r), "train_s": _fmt(r["train_s"], 3),
        "_cost": r["cost"] if r["cost"] is not None else math.inf, "_error": r["error"] if r["error"] is not None else math.inf,
    }


def _best_classical(r: Mapping[str, Any]) -> str:
    m = json.loads(r["metrics"]) if r["metrics"] else {}
    b = m.get("best_classical")
    return f"best classical method at equal cost: {b} (error ratio > 1: the learned method is more accurate)" if b else ""


def _identified(r: Mapping[str, Any]) -> str:
    m = json.loads(r["metrics"]) if r["metrics"] else {}
    return m.get("identified_as") or ""


def _run_link(r: Mapping[str, Any], base: Path) -> str | None:
    if not r["run_dir"]:
        return None
    for name in ("report.html", "analysis.json", "algorithm.json"):
        if (base / r["run_dir"] / name).exists():
            return f"{r['run_dir']}/{name}"
    return f"{r['run_dir']}/"


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.{digits}g}"
    return str(v)


def pareto_figure(rows: Sequence[Mapping[str, Any]], front_ids: set[str], metric: str, unit: str, base: Path) -> Any:
    """Accuracy against cost of the finished runs measured by ``metric`` (log error axis),
    the Pareto front joined as a staircase, drawn in the style of the run reports' figures
    (``algodiscover.reports.figures``); every point links to its run (``base``-relative).

    Runs at the same cost are spread a little sideways (a fixed jitter by run index) so
    that they do not hide each other; front points are drawn at their true cost.
    Returns a matplotlib ``Figure`` (Agg canvas, no pyplot state).
    """
    from matplotlib import rc_context

    from ..reports.figures import _BASE, _METHOD, _RC, _new_figure

    ok = [r for r in rows if r["status"] == "done" and r["error"] is not None and r["cost"] is not None and r["error_metric"] == metric]
    positive = [r["error"] for r in ok if r["error"] > 0]
    floor = min(positive) / 10 if positive else 1e-16
    costs = sorted({r["cost"] for r in ok})
    spread = 0.25 * (min(b - a for a, b in zip(costs, costs[1:])) if len(costs) > 1 else 1.0)
    others = [r for r in ok if r["config_hash"] not in front_ids]
    front = sorted((r for r in ok if r["config_hash"] in front_ids), key=lambda r: r["cost"])

    def xy(rs: Sequence[Mapping[str, Any]], jitter: bool) -> tuple[list[float], list[float]]:
        xs = [r["cost"] + (spread * (((r["idx"] * 0.618034) % 1.0) - 0.5) if jitter else 0.0) for r in rs]
        ys = [max(r["error"], floor) for r in rs]
        return xs, ys

    with rc_context(_RC):
        fig = _new_figure(6.2, 4.3)
        ax = fig.add_subplot()
        if others:
            xs, ys = xy(others, True)
            sc = ax.scatter(xs, ys, s=20, color=_BASE, alpha=0.45, lw=0, label="other runs", zorder=2)
            sc.set_urls([_run_link(r, base) for r in others])
        xs, ys = xy(front, False)
        ax.step(xs, ys, where="post", color=_METHOD, lw=1.3, zorder=3)
        sc = ax.scatter(xs, ys, s=40, color=_METHOD, edgecolor="white", lw=0.8, label="Pareto front", zorder=4)
        sc.set_urls([_run_link(r, base) for r in front])
        for r, x, y in zip(front, xs, ys):
            ax.annotate(r["run_id"][:8], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7, color=_METHOD)
        ax.set_yscale("log")
        ax.set_xlabel(f"cost ({unit})")
        ax.set_ylabel(metric)
        ax.set_xticks(costs)
        ax.legend(loc="best", framealpha=0.92)
    return fig


def pareto_svg(rows: Sequence[Mapping[str, Any]], front_ids: set[str], metric: str, unit: str, base: Path) -> str:
    """:func:`pareto_figure` as an ``<svg>`` element for inlining (``reports.figures.figure_svg``)."""
    from ..reports.figures import figure_svg

    return figure_svg(pareto_figure(rows, front_ids, metric, unit, base), "pareto")
