"""Reports: HTML (MathML, self-contained, renders in chromium), LaTeX (compiles with
pdflatex), escaping, the pdf/pdflatex error paths and determinism.

The analysis dicts are built in-process with the torch-free analysis package; the tests that
need chromium, pdflatex or poppler skip with a reason when the tool is missing (``.ci/run``
installs them)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sympy as sp

from algodiscover import reports
from algodiscover.analysis import AnalysisInputError, ButcherTableau, OdeFamilySpec, analyze_tableau, get_method
from algodiscover.reports import render as render_mod
from algodiscover.reports.provenance import config_toml
from algodiscover.reports.texescape import latex_escape

MATHML = "{http://www.w3.org/1998/Math/MathML}"
WEIRD = 'R&D_<x>% $#{}~^\\ --q "é" μ </math><script>'


# ------------------------------------------------------------------ fixtures
def _square_spec(name: str = "square") -> OdeFamilySpec:
    y, a, t = sp.symbols("y a t")
    return OdeFamilySpec(name=name, state=(y,), rhs=(-a * y**2,), params=(a,), state_ranges=((1, 3),),
                         param_ranges=((0.1, 0.5),), ood_param_ranges=((0.5, 1.0),), exact_solution=(y / (1 + a * y * t),))


def _learned(name: str = "R2N2-2-square", family: str = "square") -> dict:
    """A learned 2-stage method as ``discover`` would analyse it (weights of the default run)."""
    tab = ButcherTableau.from_dict({"name": name, "A": [[0.0, 0.0], [1.8199875769772007, 0.0]],
                                    "b": [0.725746339821037, 0.2742478178901362]})
    extra = {
        "training": {"loss_history": [800.0, 12.0, 3.0, 0.5, 1e-3, 2e-5, 2.4e-7], "phases": [["adam", 4], ["lbfgs", 2], ["final", 1]],
                     "final_loss": 2.4e-7},
        "structure": {"stages": 2, "outer": 1, "consistency": None, "h": "per sample (time step)"},
        "provenance": {"seed": 0, "command": f"algodiscover discover ode --family {family} --stages 2 --outer 1 --seed 0",
                       "config": {"name": name, "seed": 0, "problem": {"class": "ode", "family": family},
                                  "model": {"stages": 2, "outer": 1, "consistency": None}, "train": {"adam_steps": 4, "lr": 0.02}},
                       "versions": {"python": "3.11", "algodiscover": "0.1.0"}, "content_hash": "sha256:" + "ab" * 32},
        "algorithm_hash": "sha256:" + "ab" * 32,
        "problem_class": "ode",
    }
    return analyze_tableau(tab, family=_square_spec(family), learned=True, name=name, extra=extra).to_json()


@pytest.fixture(scope="module")
def learned() -> dict:
    return _learned()


@pytest.fixture(scope="module")
def weird() -> dict:
    """The learned method again, with a name and family name full of special characters."""
    return _learned(name=WEIRD, family="sq&re_<1>%")


@pytest.fixture(scope="module")
def rk4() -> dict:
    return analyze_tableau(get_method("RK4")).to_json()


@pytest.fixture(scope="module")
def gauss() -> dict:
    return analyze_tableau(get_method("GaussLegendre2")).to_json()


def _xml(html: str) -> ET.Element:
    """The page parsed as XML (it is written to be well-formed)."""
    return ET.fromstring(re.sub(r"^<!DOCTYPE html>", "", html.lstrip()))


def _need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} not installed (.ci/run installs it with apt-get)")
    return exe


def _pdf_pages(pdf: Path) -> int:
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf.read_bytes()))


def _assert_scalable_fonts(pdf: Path) -> None:
    """No bitmap (Type 3) fonts: every font comes from the CM Type 1 set or the figures."""
    if shutil.which("pdffonts"):
        out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "Type 3" not in out, out


# ------------------------------------------------------------------ HTML
def test_html_check_report_has_tableau_as_mathml(rk4, tmp_path):
    files = reports.render_run(rk4, tmp_path, formats=("html",))
    assert files == [tmp_path / "report.html"]
    html = files[0].read_text(encoding="utf-8")
    root = _xml(html)
    tables = [m for m in root.iter(f"{MATHML}mtable") if m.get("class") == "tableau"]
    assert len(tables) == 2, "exact and float Butcher tableaux as MathML"
    exact, floats = re.findall(r'<mtable class="tableau">.*?</mtable>', html)
    assert "<mfrac><mn>1</mn><mn>6</mn></mfrac>" in exact and "<mfrac><mn>1</mn><mn>3</mn></mfrac>" in exact
    assert "<mn>0.16666666666666666</mn>" in floats  # float tableau at full precision (repr)
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    # self-contained: no scripts, no external resources
    assert "<script" not in html and "<link" not in html and " src=" not in html
    # sections without data are skipped
    for present in ("summary", "algorithm", "conditions", "stability", "provenance"):
        assert f'id="{present}"' in html
    for absent in ("accuracy", "training"):
        assert f'id="{absent}"' not in html

    class Strict(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br", "img", "hr", "input", "link"):
                self.stack.append(tag)

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
            self.stack.pop()

    p = Strict()
    p.feed(html)
    p.close()
    assert p.stack == []


def test_html_learned_report_sections_and_honest_wording(learned):
    html = render_mod.render_html(learned)
    root = _xml(html)
    for sec in ("summary", "algorithm", "conditions", "stability", "accuracy", "training", "provenance"):
        assert root.find(f".//section[@id='{sec}']") is not None, sec
    # exact distilled coefficients 3/4, 1/4 in the tableau and the learned floats next to them
    assert "<mfrac><mn>3</mn><mn>4</mn></mfrac>" in html
    assert "1.8199875769772007" in html and "0.725746339821037" in html
    ratio = learned["comparison"]["ratios"]["in_distribution"]["R2N2-2-square (learned weights)"]
    lo, hi = learned["comparison"]["ci95"]["in_distribution"]["R2N2-2-square (learned weights)"]
    assert lo <= ratio <= hi
    if hi < 1:  # the learned floats are more accurate: they are the primary result, and the report says so
        assert learned["primary"]["method"] == "learned weights"
        assert "The distilled method is less accurate than the learned weights" in html
        assert "learned float64 weights are the primary result" in html
    elif lo > 1:
        assert "The distilled method is more accurate than the learned float64 weights" in html
    else:
        assert "equally accurate within the interval" in html
    assert "95% bootstrap intervals" in html
    # the work-precision diagram: global error at T against f evaluations, training range shaded
    wp = learned["work_precision"]
    assert "Work-precision diagram" in html and "training range of h" in html
    assert set(wp["errors"]) >= {"R2N2-2-square", "R2N2-2-square (learned weights)", "Heun", "Midpoint", "Ralston2"}
    assert wp["training_h"] == [0.01, 0.1] and min(wp["h"]) < 0.01 < 0.1 < max(wp["h"])
    # the distilled method converges at order 2 in the global error: 4x fewer errors per halving of h, roughly
    e = [x for x in wp["errors"]["R2N2-2-square"]]
    assert e[-1] < 1e-3 * e[0]
    assert "<svg" in html and 'class="figure"' in html  # inlined matplotlib figures
    assert "@article{doncevic2024r2n2" in html and "arXiv" in html
    assert html.count("<svg") == html.count("</svg>")


def test_html_renders_in_chromium(learned, tmp_path):
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        pytest.skip("chromium not installed (.ci/run installs it with apt-get)")
    from PIL import Image

    page = reports.render_file(learned, tmp_path / "a b&c" / "report.html")
    png = tmp_path / "shot.png"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1200,2000", page.as_uri()]
    subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
    assert png.exists(), "chromium wrote no screenshot"
    img = Image.open(png).convert("RGB")
    assert img.size == (1200, 2000)
    colours = img.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "screenshot looks blank"
    dark = sum(n for n, (r, g, b) in colours if r + g + b < 200)
    assert dark > 2000, "no text on the page"


# ------------------------------------------------------------------ LaTeX / PDF
def test_run_report_compiles_with_pdflatex(weird, tmp_path):
    """A learned run with special characters in its names, in a folder with special
    characters: html, tex (+ figures) and a PDF that pdflatex compiled."""
    _need("pdflatex")
    out = tmp_path / "dir with space & 100%"
    files = reports.render_run(weird, out, formats=("html", "tex", "pdf"))
    names = {p.relative_to(out).as_posix() for p in files}
    assert {"report.html", "report.tex", "report.pdf", "figures/stability.pdf", "figures/accuracy.pdf",
            "figures/training.pdf"} <= names
    tex = (out / "report.tex").read_text(encoding="utf-8")
    assert r"\begin{array}{c|cc}" in tex and r"\hline" in tex and r"\frac{3}{4}" in tex
    assert r"\includegraphics[width=0.55\linewidth]{figures/stability.pdf}" in tex
    pdf = out / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert _pdf_pages(pdf) >= 3
    _assert_scalable_fonts(pdf)
    assert not list(out.glob("*.log")), "a successful compile keeps no log"


def test_implicit_method_render_file_each_suffix(gauss, tmp_path):
    html = reports.render_file(gauss, tmp_path / "gl2.html")
    assert "<msqrt><mn>3</mn></msqrt>" in html.read_text(encoding="utf-8")
    tex = reports.render_file(gauss, tmp_path / "gl2.tex")
    src = tex.read_text(encoding="utf-8")
    assert r"\sqrt{3}" in src and "gl2_figures/stability.pdf" in src
    assert (tmp_path / "gl2_figures" / "stability.pdf").exists()
    with pytest.raises(AnalysisInputError, match="unknown report type"):
        reports.render_file(gauss, tmp_path / "gl2.docx")
    _need("pdflatex")
    pdf = reports.render_file(gauss, tmp_path / "gl2.pdf")
    assert pdf == tmp_path / "gl2.pdf" and _pdf_pages(pdf) >= 2
    _assert_scalable_fonts(pdf)


def test_escaping_of_user_strings(weird):
    """Names with & _ < % $ # { } ~ ^ \\ -- and non-ASCII stay text in both outputs (the
    PDF compile of this analysis is in test_run_report_compiles_with_pdflatex)."""
    a = weird
    html = render_mod.render_html(a)
    root = _xml(html)  # still well-formed: nothing from the name leaked as markup
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert root.find(".//title").text.startswith(WEIRD)
    tex = render_mod.render_tex(a)
    assert r"R\&D\_\ensuremath{<}x\ensuremath{>}\%" in tex and r"sq\&re\_\ensuremath{<}1\ensuremath{>}\%" in tex
    title = re.search(r"^\\title\{.*\}$", tex, re.M).group(0)
    assert "-{}-q" in title and "--q" not in title  # no en-dash ligature from the name


def test_latex_escape_table():
    assert latex_escape("a_b&c%d$e#f{g}") == r"a\_b\&c\%d\ensuremath{\$}e\#f\{g\}"
    assert latex_escape("x<y>z|w") == r"x\ensuremath{<}y\ensuremath{>}z\ensuremath{|}w"
    assert latex_escape("--a") == "-{}-a"
    assert latex_escape("μ") == r"\ensuremath{\mu}" and latex_escape("\u2603") == "[U+2603]"
    assert latex_escape("back\\slash") == r"back\textbackslash{}slash"


# ------------------------------------------------------------------ errors and determinism
def test_pdf_without_pdflatex_is_a_clear_input_error(rk4, tmp_path, monkeypatch):
    monkeypatch.setattr(render_mod.shutil, "which", lambda name: None)
    with pytest.raises(AnalysisInputError, match=r"--format pdf: pdflatex not found; install TeX Live"):
        reports.render_run(rk4, tmp_path / "run", formats=("html", "pdf"))
    assert not (tmp_path / "run").exists(), "nothing is written when pdflatex is missing"
    with pytest.raises(AnalysisInputError, match="pdflatex not found"):
        reports.render_file(rk4, tmp_path / "x.pdf")


def test_pdflatex_failure_names_the_kept_log(rk4, tmp_path, monkeypatch):
    _need("pdflatex")
    broken = "\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n"
    monkeypatch.setattr(render_mod, "render_tex", lambda *args, **kw: broken)
    with pytest.raises(AnalysisInputError, match=r"pdflatex failed .*log kept at .*report\.pdflatex\.log") as exc:
        reports.render_run(rk4, tmp_path, formats=("pdf",))
    assert "Undefined control sequence" in str(exc.value)
    assert (tmp_path / "report.pdflatex.log").exists() and not (tmp_path / "report.pdf").exists()


def test_bad_formats_and_inputs(rk4, tmp_path):
    with pytest.raises(AnalysisInputError, match="unknown report format 'docx'"):
        reports.render_run(rk4, tmp_path, formats=("html", "docx"))
    with pytest.raises(AnalysisInputError, match="not an algodiscover analysis"):
        reports.render_run({"order": 4}, tmp_path)
    assert reports.render_run(rk4, tmp_path / "none", formats=()) == []


def test_output_is_deterministic(learned, rk4, tmp_path):
    """Same analysis, same bytes: SVG ids are salted, figures and pages carry no dates."""
    assert render_mod.render_html(learned) == render_mod.render_html(copy.deepcopy(learned))
    a = reports.render_run(rk4, tmp_path / "a", formats=("html", "tex"))
    b = reports.render_run(copy.deepcopy(rk4), tmp_path / "b", formats=("html", "tex"))
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert tmp_path / "a" / "figures" / "stability.pdf" in a
    for p, q in zip(a, b):
        assert p.read_bytes() == q.read_bytes(), p.name
    assert not [p for p in (tmp_path / "a").rglob("*") if p.name.endswith(".tmp")], "temporary files left behind"


def test_config_block_is_valid_toml(learned):
    import tomllib

    cfg = learned["provenance"]["config"]
    text = config_toml(cfg)
    assert "# consistency: not set" in text
    back = tomllib.loads(text)
    expected = copy.deepcopy(cfg)
    del expected["model"]["consistency"]
    assert back == expected


@pytest.mark.skipif(sys.platform == "win32", reason="posix paths")
def test_discover_run_writes_reports(tmp_path):
    pytest.importorskip("torch")
    from algodiscover.config import default_config
    from algodiscover.pipeline import run_discover

    res = run_discover(default_config(), tmp_path, formats=("html", "tex"), progress=False)
    for name in ("report.html", "report.tex", "figures/stability.pdf", "figures/accuracy.pdf", "figures/training.pdf"):
        assert (tmp_path / name) in res.files, name
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    root = _xml(html)
    assert root.find(".//section[@id='training']") is not None
    assert res.analysis["provenance"]["command"] in html


def test_only_core_keys_and_other_kinds_render(rk4):
    core = {k: rk4[k] for k in ("kind", "name", "order", "tol", "residuals", "tableau", "stability", "conditions")}
    html = render_mod.render_html(core)
    assert re.findall(r'<section id="(\w+)"', html) == ["summary", "algorithm", "conditions", "stability", "provenance"]
    assert "<mfrac><mn>1</mn><mn>6</mn></mfrac>" in html
    render_mod.render_tex(core)
    # a kind without its own sections yet: the generic summary and the shared sections only
    other = dict(core, kind="krylov", summary="A learned polynomial iteration.",
                 training={"loss_history": [1.0, 0.1, 0.01], "phases": [["adam", 3]]})
    html = render_mod.render_html(other)
    assert re.findall(r'<section id="(\w+)"', html) == ["summary", "training", "provenance"]
    assert "A learned polynomial iteration." in html
    assert "Analysis kind" not in html and "no \u201ckrylov\u201d section" in html
    assert r"\section{Training}" in render_mod.render_tex(other)


def test_large_tableau_is_listed_coefficient_by_coefficient_in_latex():
    a = analyze_tableau(get_method("PrinceDormand8(7)")).to_json()
    tex = render_mod.render_tex(a)
    assert r"\subsection*{Coefficients}" in tex and r"\allowbreak" in tex
    assert r"\sum_{j=1}^{i-1} a_{ij}" in tex  # the step with symbolic coefficients
    assert r"\begin{array}" not in tex.split(r"\section{Order conditions}")[0]
    html = render_mod.render_html(a)
    assert html.count('<mtable class="tableau">') == 2  # the page scrolls instead


# ------------------------------------------------------------------ solver kinds: krylov and newton-krylov
def _discover(tmp_path_factory, name: str, mapping: dict) -> dict:
    """A small real run (train + analyse, no report) as ``algodiscover discover`` makes it."""
    pytest.importorskip("torch")
    from algodiscover.config import config_from_mapping
    from algodiscover.pipeline import run_discover

    res = run_discover(config_from_mapping(mapping), tmp_path_factory.mktemp(name), formats=(), progress=False)
    return res.analysis


@pytest.fixture(scope="module")
def krylov_spd(tmp_path_factory) -> dict:
    return _discover(tmp_path_factory, "spd", {
        "problem": {"class": "linear", "family": "spd"}, "model": {"stages": 3, "outer": 2},
        "train": {"adam_steps": 40, "lbfgs_steps": 10}, "linear": {"samples": 16, "heldout": 2, "size": 12}})


@pytest.fixture(scope="module")
def krylov_complex(tmp_path_factory) -> dict:
    """Convection-diffusion with cell Peclet number above 1: complex eigenvalues."""
    return _discover(tmp_path_factory, "convdiff", {
        "problem": {"class": "linear", "family": "convdiff2d"}, "model": {"stages": 3, "outer": 2},
        "train": {"adam_steps": 40, "lbfgs_steps": 10}, "linear": {"samples": 16, "heldout": 2, "size": 6, "peclet": 40.0}})


@pytest.fixture(scope="module", params=["derivative-free", "newton-krylov"])
def nonlinear(request, tmp_path_factory) -> dict:
    return _discover(tmp_path_factory, request.param, {
        "problem": {"class": "nonlinear", "family": "hequation"}, "model": {"stages": 2, "outer": 3},
        "train": {"adam_steps": 30, "lbfgs_steps": 10},
        "nonlinear": {"samples": 16, "heldout": 5, "size": 20, "mode": request.param}})


def _sections(html: str) -> list[str]:
    return re.findall(r'<section id="(\w+)"', html)


def _text(el: ET.Element) -> str:
    return "".join(el.itertext())


def _assert_unique_ids(root: ET.Element) -> None:
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids (several inlined figures)"


def _screenshot(html_path: Path, png: Path, profile: Path, height: int = 3000):
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        pytest.skip("chromium not installed (.ci/run installs it with apt-get)")
    from PIL import Image

    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size=1100,{height}", html_path.as_uri()]
    subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
    assert png.exists(), "chromium wrote no screenshot"
    img = Image.open(png).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "screenshot looks blank"
    assert sum(n for n, (r, g, b) in colours if r + g + b < 200) > 2000, "no text on the page"


def test_krylov_html_polynomial_as_mathml_and_comparison_numbers(krylov_spd):
    a = krylov_spd
    k = a["krylov"]
    html = render_mod.render_html(a)
    root = _xml(html)
    _assert_unique_ids(root)
    assert _sections(html) == ["summary", "recurrence", "convergence", "matvecs", "training", "provenance"]
    assert "Analysis kind" not in html and "learned linear solver" in html
    # the residual polynomial q(lambda) exactly: every coefficient of the sympy string as <mn>
    maths = [ET.tostring(m, encoding="unicode") for m in root.iter(f"{MATHML}math")]
    q_math = next(m for m in maths if "<ns0:mi>q</ns0:mi>" in m and all(
        f"<ns0:mn>{c}</ns0:mn>" in m for c in re.findall(r"\d+\.\d+", k["polynomial"]["sympy"]) if c != "1.0"))
    assert "&#955;" in html or "\u03bb" in q_math
    # the recurrence and the Richardson form as pseudocode
    pres = [_text(p) for p in root.iter("pre")]
    assert k["recurrence"] in pres and k["richardson_form"] in pres
    # convergence factors, Chebyshev, ratio
    conv = _text(root.find(".//section[@id='convergence']"))
    assert f"{k['factor']['per_outer']:.4g}" in conv and f"{k['chebyshev']['per_outer']:.4g}" in conv
    ratio_cells = [_text(td).strip() for td in root.find(".//section[@id='convergence']//tbody/tr").findall("td")]
    assert float(ratio_cells[3]) == pytest.approx(k["factor_ratio"]["per_outer"], rel=5e-3)
    # the equal-matvec table: median matvecs per method and the ratios
    rows = root.findall(".//section[@id='matvecs']//tbody/tr")
    methods = k["comparison"]["methods"]
    assert len(rows) == len(methods)
    for tr, (m, d) in zip(rows, [("learned", methods["learned"])] + [(m, d) for m, d in methods.items() if m != "learned"]):
        cells = [_text(td).strip() for td in tr.findall("td")]
        med = d["median"]
        assert cells[1] == ("n/a" if med is None else (str(int(med)) if float(med).is_integer() else f"{med:.1f}")), (m, cells)
        if m != "learned" and k["comparison"]["ratios"].get(m) is not None:
            assert float(cells[3]) == pytest.approx(k["comparison"]["ratios"][m], rel=5e-3), (m, cells)
    # honest GMRES(n) verdict, only where its bootstrap interval excludes 1
    summary = _text(root.find(".//section[@id='summary']"))
    verdict = k["comparison"]["ratio_estimates"]["gmres(3)"]["verdict"]
    assert "GMRES(3) needs fewer matvecs" in summary if verdict == "more" else "GMRES(3) needs fewer matvecs" not in summary
    assert ("the learned iteration needs fewer matvecs than GMRES(3)" in summary) == (verdict == "fewer")
    if verdict is None:
        assert "too few systems for an interval, so no verdict" in summary
    # figures: |q| against Chebyshev and the residual histories; the Butcher view is secondary
    assert html.count('class="figure"') == 3  # polynomial, history, training
    assert "Runge&#8211;Kutta view (secondary)" in html and html.count('<mtable class="tableau">') >= 1
    assert render_mod.render_html(copy.deepcopy(a)) == html


def test_krylov_complex_spectrum(krylov_complex):
    a = krylov_complex
    k = a["krylov"]
    assert not k["spectrum"]["real"] and k["chebyshev"] is None
    html = render_mod.render_html(a)
    root = _xml(html)
    _assert_unique_ids(root)
    conv = _text(root.find(".//section[@id='convergence']"))
    assert "no Chebyshev reference for a complex spectrum" in conv and "Re \u03bb" in html
    assert f"{k['factor']['per_outer']:.4g}" in conv
    if any(abs(r[1]) > 0 for r in k["roots"]):
        assert "<mi>i</mi>" in html  # complex roots and Richardson steps as a + b i
    tex = render_mod.render_tex(a)
    assert r"\section{Residual polynomial and convergence factor}" in tex and "polynomial.pdf" in tex


def test_newton_krylov_html_sections_and_tables(nonlinear):
    a = nonlinear
    nl = a["nonlinear"]
    html = render_mod.render_html(a)
    root = _xml(html)
    _assert_unique_ids(root)
    assert _sections(html) == ["summary", "nliteration", "linearisation", "newton", "training", "provenance"]
    assert "Analysis kind" not in html and "learned nonlinear solver" in html
    assert nl["structure"] in [_text(p) for p in root.iter("pre")]
    lin = _text(root.find(".//section[@id='linearisation']"))
    assert f"{nl['linearisation']['local_rate']:.4g}" in lin and "Meaning as recorded in the analysis" in lin
    newton = root.find(".//section[@id='newton']")
    tables = newton.findall(".//table")
    assert len(tables) == 2  # in and out of distribution
    for table, setting in zip(tables, ("in_distribution", "out_of_distribution")):
        c = nl["comparison"][setting]
        rows = {(_text(tr.find("td")).strip().removesuffix(" (fewest)")): [_text(td).strip() for td in tr.findall("td")]
                for tr in table.findall(".//tbody/tr")}
        assert len(rows) == len(c["evaluations"])  # the learned iteration and every baseline
        nk = rows["SciPy newton_krylov (defaults)"]
        assert nk[1] == f"{c['success']['newton_krylov']} of {c['instances']}"
        if c["median_ratio_learned_to_newton_krylov"] is not None:  # learned / newton_krylov on the baseline's row
            assert float(nk[3]) == pytest.approx(c["median_ratio_learned_to_newton_krylov"], rel=5e-3)
        exact = rows.get("Newton, exact Jacobian")
        if "jacobians" in c and c["success"].get("newton_exact"):
            assert exact[6] != ""
    text = _text(newton)
    verdict = nl["comparison"]["in_distribution"]["ratios"]["newton_krylov"]["verdict"]
    if verdict is not None:
        assert {"fewer": "needs fewer residual evaluations than", "more": "needs more residual evaluations than",
                "no significant difference": "no significant difference"}[verdict] in text
    assert "safeguard rejected" in text
    # the residual polynomial from the given coefficients, as MathML
    assert re.search(r"<math[^>]*display=\"block\"><mrow><mrow><mi>q</mi>", html)
    assert 'class="figure"' in html and "linearisation" in html


def _render_solver_report(a: dict, out: Path, figures: set[str], tmp_path: Path) -> None:
    formats = ("html", "tex", "pdf") if shutil.which("pdflatex") else ("html", "tex")
    files = reports.render_run(a, out, formats=formats)
    names = {p.relative_to(out).as_posix() for p in files}
    assert {f"figures/{f}.pdf" for f in figures} | {"report.html", "report.tex", "figures/training.pdf"} <= names, names
    assert "figures/stability.pdf" not in names  # Runge-Kutta figures only in Runge-Kutta reports
    _screenshot(out / "report.html", tmp_path / "shot.png", tmp_path / "profile")
    if "pdf" not in formats:
        pytest.skip("pdflatex not installed (.ci/run installs it with apt-get); html and tex checked")
    pdf = out / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and _pdf_pages(pdf) >= 4
    _assert_scalable_fonts(pdf)


def test_krylov_report_renders_in_chromium_and_compiles(krylov_spd, tmp_path):
    _render_solver_report(krylov_spd, tmp_path / "run", {"polynomial", "history"}, tmp_path)


def test_newton_krylov_report_renders_in_chromium_and_compiles(nonlinear, tmp_path):
    _render_solver_report(nonlinear, tmp_path / "run", {"linearisation"}, tmp_path)


def test_stability_section_shows_the_verdicts_pade_type_and_ascending_R(tmp_path):
    from algodiscover.analysis import analyze_tableau, get_method

    html = reports.render_file(analyze_tableau(get_method("GaussLegendre3")).to_json(), tmp_path / "gl3.html").read_text()
    assert "(3, 3) Padé approximant of exp(z)" in html
    for row, value in (("A-stable", "yes"), ("L-stable", "no"), ("algebraically stable", "yes"), ("stiffly accurate", "no")):
        i = html.index(row)
        assert f"<td>{value}</td>" in html[i:i + 300], row
    radau = reports.render_file(analyze_tableau(get_method("RadauIIA3")).to_json(), tmp_path / "r.tex").read_text()
    assert "L-stable (A-stable and R(" in radau and "1 + \\frac{2 z}{5}" in radau  # ascending powers
    pd8 = reports.render_file(analyze_tableau(get_method("PD8")).to_json(), tmp_path / "pd8.html").read_text()
    assert "exceeds 1 only slightly near 0" in pd8
