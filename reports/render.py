"""Render an analysis as ``report.html`` (self-contained), ``report.tex`` (+ PDF figures) and
``report.pdf`` (pdflatex).

The HTML inlines its SVG figures, MathML and CSS: no scripts, no external resources. The
LaTeX is a standalone article (packages from texlive-latex-base/-recommended and
texlive-pictures) with its figures as PDF files. Every file is written atomically
(a temporary file in the same folder, then ``os.replace``); the same analysis gives the same
bytes. The analysis is read once into :class:`~analysis.schema.AnalysisView` (a malformed one
is an :class:`~analysis.errors.AnalysisInputError` naming the key); the section builders
(:mod:`reports.context`) and figures (:mod:`reports.figures`) read that view. May import
every module of ``reports`` and :mod:`analysis`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import jinja2
from markupsafe import Markup, escape

from ..analysis.atomic import write_atomic
from ..analysis.errors import AnalysisInputError
from ..analysis.schema import AnalysisView

from .context import build_context
from .figures import build_figures, figure_pdf, figure_svg
from .mathtext import Code, Math
from .texescape import Tex, latex_escape, tex_finalize, verbatim_safe
from .trees import TreeDrawing

__all__ = ["render_run", "render_file", "render_html", "render_tex", "FORMATS", "PDFLATEX_TIMEOUT_S"]

FORMATS = ("html", "tex", "pdf")
PDFLATEX_TIMEOUT_S = 180
_PDFLATEX_MISSING = ("--format pdf: pdflatex not found; install TeX Live (e.g. apt-get install "
                     "texlive-latex-recommended texlive-pictures) or use html,tex")


# ------------------------------------------------------------------ Jinja environments
def _version() -> str:
    try:
        from importlib.metadata import version

        return version("algodiscover")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "0+unknown"


_PUNCT = re.compile(r"^[).,;:\]]+")


def _html_rich(parts: Iterable[Any]) -> Markup:
    """Text, inline formulas and code; punctuation right after a formula or code stays on
    its line (no break before ``)`` or ``.``)."""
    out = []
    items = list(parts)
    k = 0
    while k < len(items):
        p = items[k]
        if isinstance(p, (Math, Code)):
            html = Math(p.latex, p.mathml).html() if isinstance(p, Math) else f"<code>{escape(p.text)}</code>"
            nxt = items[k + 1] if k + 1 < len(items) else None
            m = _PUNCT.match(nxt) if isinstance(nxt, str) else None
            if m:
                out.append(f'<span class="nw">{html}{escape(m.group(0))}</span>')
                items[k + 1] = nxt[m.end():]
            else:
                out.append(html)
        else:
            out.append(str(escape(p)))
        k += 1
    return Markup("".join(out))


def _html_m(m: Math) -> Markup:
    return Markup(Math(m.latex, m.mathml).html())


def _html_dm(m: Math) -> Markup:
    return Markup(Math(m.latex, m.mathml, display=True).html())


def _html_mark(ok: bool) -> Markup:
    if ok:
        return Markup('<span class="ok" title="satisfied">&#x2713;</span>')
    return Markup('<span class="bad" title="not satisfied">&#x2717;</span>')


def _html_tree(t: TreeDrawing, label: str = "") -> Markup:
    return Markup(t.svg(str(escape(label))))


def _tex_code(text: str) -> Tex:
    s = str(text)
    esc = latex_escape(s)
    if len(s) > 24 and " " not in s:  # hashes and paths: allow line breaks
        chunks = [latex_escape(s[i:i + 8]) for i in range(0, len(s), 8)]
        esc = Tex(r"\allowbreak{}".join(chunks))
    return Tex(r"\texttt{" + esc + "}")


def _tex_rich(parts: Iterable[Any]) -> Tex:
    out = []
    for p in parts:
        if isinstance(p, Math):
            out.append("$" + p.latex + "$")
        elif isinstance(p, Code):
            out.append(_tex_code(p.text))
        else:
            out.append(latex_escape(p))
    return Tex("".join(out))


def _tex_m(m: Math) -> Tex:
    return Tex("$" + m.latex + "$")


def _tex_raw(m: Math) -> Tex:
    return Tex(m.latex)


def _tex_mark(ok: bool) -> Tex:
    return Tex(r"\ok" if ok else r"\bad")


def _tex_tree(t: TreeDrawing) -> Tex:
    return t.tikz()


@lru_cache(maxsize=1)
def _html_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader(__package__, "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(rich=_html_rich, m=_html_m, dm=_html_dm, mark=_html_mark, tree_svg=_html_tree)
    return env


@lru_cache(maxsize=1)
def _tex_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"), autoescape=False, undefined=jinja2.StrictUndefined,
        block_start_string="((*", block_end_string="*))", variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((#", comment_end_string="#))", trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, finalize=tex_finalize,
    )
    env.filters.update(rich=_tex_rich, m=_tex_m, dm=_tex_m, raw=_tex_raw, mark=_tex_mark, tikz=_tex_tree,
                       verb=verbatim_safe, code=_tex_code)
    return env


def _pdf_string(s: str) -> Tex:
    """Plain ASCII for PDF metadata (hyperref's pdftitle)."""
    return Tex(re.sub(r"[^A-Za-z0-9 .,:;()+=-]", " ", s).strip())


# ------------------------------------------------------------------ public rendering
def _check_analysis(analysis: Any) -> AnalysisView:
    """The typed view of an analysis (``analysis.json`` as a dict, or a view already)."""
    if isinstance(analysis, AnalysisView):
        return analysis
    if not isinstance(analysis, Mapping):
        raise AnalysisInputError(f"report: expected the analysis as a JSON object, got {type(analysis).__name__}")
    missing = [k for k in ("kind", "name") if k not in analysis]
    if missing:
        raise AnalysisInputError(f"report: the analysis has no {missing[0]!r} (not an algodiscover analysis)")
    return AnalysisView.read(analysis)


def _format(a: AnalysisView) -> str:
    return a.format if a.format is not None else "unknown"


def render_html(analysis: Mapping[str, Any] | AnalysisView, figures: Mapping[str, Any] | None = None) -> str:
    """The HTML page as a string (figures: name -> matplotlib Figure, built if ``None``)."""
    a = _check_analysis(analysis)
    figs = build_figures(a) if figures is None else dict(figures)
    ctx = build_context(a, list(figs))
    svgs = {name: Markup(figure_svg(fig, name)) for name, fig in figs.items()}
    return _html_env().get_template("report.html.j2").render(
        **ctx, figures=svgs, version=_version(), format=_format(a))


def render_tex(analysis: Mapping[str, Any] | AnalysisView, figure_dir: str = "figures", figure_names: Sequence[str] | None = None) -> str:
    """The LaTeX source; figures are included from ``figure_dir/<name>.pdf``."""
    a = _check_analysis(analysis)
    names = list(build_figures(a)) if figure_names is None else list(figure_names)
    ctx = build_context(a, names)

    def figpath(name: str) -> Tex:
        return Tex(f"{figure_dir}/{name}.pdf")

    return _tex_env().get_template("report.tex.j2").render(
        **ctx, figpath=figpath, version=_version(), format=_format(a), pdftitle=_pdf_string(ctx["title"]))


def _formats(formats: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    out = tuple(str(f).strip().lower() for f in formats)
    bad = [f for f in out if f not in FORMATS]
    if bad:
        raise AnalysisInputError(f"--format: unknown report format {bad[0]!r} (choose from html, tex, pdf)")
    return out


def _pdflatex() -> str:
    exe = shutil.which("pdflatex")
    if exe is None:
        raise AnalysisInputError(_PDFLATEX_MISSING)
    return exe


def _fig_dir_name(stem: str) -> str:
    """``<stem>_figures`` with characters LaTeX file names dislike replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", stem) + "_figures"


def _compile_pdf(tex: str, figure_pdfs: Mapping[str, bytes], target: Path, log_path: Path) -> Path:
    """Run pdflatex twice in a temporary folder and move the PDF to ``target``."""
    exe = _pdflatex()
    with tempfile.TemporaryDirectory(prefix="algodiscover-tex-") as tmp:
        work = Path(tmp)
        (work / "figures").mkdir()
        for name, data in figure_pdfs.items():
            (work / "figures" / f"{name}.pdf").write_bytes(data)
        (work / "report.tex").write_text(tex, encoding="utf-8")
        cmd = [exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "-file-line-error", "report.tex"]
        env = dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")
        for _ in range(2):
            try:
                proc = subprocess.run(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, timeout=PDFLATEX_TIMEOUT_S, env=env, check=False)
            except subprocess.TimeoutExpired:
                _keep_log(work, log_path, b"")
                raise AnalysisInputError(f"--format pdf: pdflatex timed out after {PDFLATEX_TIMEOUT_S} s; log kept at {log_path}") from None
            if proc.returncode != 0 or not (work / "report.pdf").exists():
                _keep_log(work, log_path, proc.stdout)
                first = _first_error(log_path)
                raise AnalysisInputError(f"--format pdf: pdflatex failed{f' ({first})' if first else ''}; log kept at {log_path}")
        return write_atomic(target, (work / "report.pdf").read_bytes())


def _keep_log(work: Path, log_path: Path, stdout: bytes) -> None:
    log = work / "report.log"
    data = log.read_bytes() if log.exists() else (stdout or b"pdflatex wrote no log\n")
    write_atomic(log_path, data)
    tex = work / "report.tex"
    if tex.exists():
        write_atomic(log_path.with_suffix(".tex"), tex.read_bytes())


def _first_error(log_path: Path) -> str:
    try:
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("!") or re.match(r"^[^:\s]+\.tex:\d+: ", line):
                return line.strip()[:160]
    except OSError:
        pass
    return ""


def render_run(analysis: Mapping[str, Any] | AnalysisView, out_dir: Path, formats: Sequence[str] = ("html", "tex")) -> list[Path]:
    """Write the reports of a run into ``out_dir``: ``report.html``, ``report.tex`` and
    ``report.pdf`` (pdflatex) as ``formats`` asks, with the PDF figures of the LaTeX in
    ``figures/`` (for ``tex`` and ``pdf``).

    Returns the paths written. Raises :class:`~analysis.errors.AnalysisInputError` for an
    analysis that does not fit the schema of analysis.json (:mod:`analysis.schema`), an
    unknown format, a missing pdflatex (before anything is written) or a failed compile.
    """
    a = _check_analysis(analysis)
    fmts = _formats(formats)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AnalysisInputError(f"{out}: exists and is not a directory")
    if "pdf" in fmts:
        _pdflatex()
    written: list[Path] = []
    if not fmts:
        return written
    figs = build_figures(a)
    try:
        if "html" in fmts:
            written.append(write_atomic(out / "report.html", render_html(a, figs)))
        if "tex" in fmts or "pdf" in fmts:
            pdfs = {name: figure_pdf(fig) for name, fig in figs.items()}
            if "tex" in fmts:
                written.append(write_atomic(out / "report.tex", render_tex(a, "figures", list(figs))))
            for name, data in pdfs.items():
                written.append(write_atomic(out / "figures" / f"{name}.pdf", data))
            if "pdf" in fmts:
                tex = render_tex(a, "figures", list(figs))
                written.append(_compile_pdf(tex, pdfs, out / "report.pdf", out / "report.pdflatex.log"))
    finally:
        for fig in figs.values():
            fig.clear()
    return written


def render_file(analysis: Mapping[str, Any] | AnalysisView, path: Path) -> Path:
    """Write one report chosen by the suffix of ``path`` (``.html``, ``.tex`` or ``.pdf``);
    for ``.tex`` and ``.pdf`` the PDF figures go to ``<stem>_figures/`` next to it."""
    a = _check_analysis(analysis)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".tex", ".pdf"):
        raise AnalysisInputError(f"{path}: unknown report type {path.suffix or '(no suffix)'!r} (use .html, .tex or .pdf)")
    if path.exists() and path.is_dir():
        raise AnalysisInputError(f"{path}: is a directory")
    if suffix == ".pdf":
        _pdflatex()
    figs = build_figures(a)
    try:
        if suffix in (".html", ".htm"):
            return write_atomic(path, render_html(a, figs))
        pdfs = {name: figure_pdf(fig) for name, fig in figs.items()}
        fig_dir = _fig_dir_name(path.stem)
        for name, data in pdfs.items():
            write_atomic(path.parent / fig_dir / f"{name}.pdf", data)
        if suffix == ".tex":
            return write_atomic(path, render_tex(a, fig_dir, list(figs)))
        tex = render_tex(a, "figures", list(figs))
        return _compile_pdf(tex, pdfs, path, path.with_name(path.stem + ".pdflatex.log"))
    finally:
        for fig in figs.values():
            fig.clear()
