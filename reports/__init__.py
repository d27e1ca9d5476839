"""Rendering of analyses as HTML and LaTeX reports.

``reports`` renders the JSON-ready dict of an analysis (``analysis.json``); it computes
nothing new. :func:`render_run` writes ``report.html`` / ``report.tex`` (+ ``figures/``) /
``report.pdf`` of a run directory, :func:`render_file` one report chosen by suffix.
"""

from .render import FORMATS, render_file, render_html, render_run, render_tex

__all__ = ["render_run", "render_file", "render_html", "render_tex", "FORMATS"]
