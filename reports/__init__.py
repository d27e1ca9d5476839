"""Rendering of analyses as HTML and LaTeX reports.

``reports`` renders an analysis (``analysis.json``, read through the typed views of
:mod:`analysis.schema`); it computes nothing new. :func:`render_run` writes ``report.html``
/ ``report.tex`` (+ ``figures/``) / ``report.pdf`` of a run directory, :func:`render_file`
one report chosen by suffix. :mod:`reports.render` drives the templates,
:mod:`reports.context` lists the sections (one builder module per topic) and
:mod:`reports.figures` draws the figures.
"""

from .render import FORMATS, render_file, render_html, render_run, render_tex

__all__ = ["render_run", "render_file", "render_html", "render_tex", "FORMATS"]
