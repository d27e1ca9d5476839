"""analysis.json has one schema: the documented JSON Schema shipped in algodiscover.analysis
and the typed views of algodiscover.analysis.schema describe the same shapes, real outputs of
every kind (discover ode/linear/nonlinear, check --json) validate against it, and a value of
the wrong type is a one-line input error naming its key path, never a traceback.

The runs are small configurations (a few seconds each); the validator is ``jsonschema``
(Draft 2020-12)."""

from __future__ import annotations

import ast
import collections.abc
import copy
import json
import re
import shutil
import types
import typing
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algodiscover.analysis import AnalysisInputError
from algodiscover.analysis.jsonview import iter_view_types, json_kinds, view_fields
from algodiscover.analysis.schema import AnalysisView, analysis_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = analysis_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _errors(doc: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
            for e in sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def _assert_valid(doc: dict) -> AnalysisView:
    errs = _errors(doc)
    assert not errs, "\n".join(errs[:10])
    return AnalysisView.read(doc)


# ------------------------------------------------------------------ real outputs
def _run(tmp_path_factory, name: str, mapping: dict | None) -> Path:
    """A run directory as ``algodiscover discover`` writes it (train + analyse, no report)."""
    pytest.importorskip("torch")
    from algodiscover.config import config_from_mapping, default_config
    from algodiscover.pipeline import run_discover

    out = tmp_path_factory.mktemp(name)
    cfg = default_config() if mapping is None else config_from_mapping(mapping)
    run_discover(cfg, out, formats=(), progress=False)
    return out


def _discover(tmp_path_factory, name: str, mapping: dict | None) -> dict:
    return json.loads((_run(tmp_path_factory, name, mapping) / "analysis.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def default_dir(tmp_path_factory) -> Path:
    """The embedded default example (``algodiscover discover`` without arguments)."""
    return _run(tmp_path_factory, "default", None)


@pytest.fixture(scope="module")
def default_run(default_dir) -> dict:
    return json.loads((default_dir / "analysis.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory) -> dict:
    return _discover(tmp_path_factory, "spd", {
        "problem": {"class": "linear", "family": "spd"}, "model": {"stages": 3, "outer": 2},
        "train": {"adam_steps": 40, "lbfgs_steps": 10}, "linear": {"samples": 16, "heldout": 6, "size": 12}})


@pytest.fixture(scope="module", params=["derivative-free", "newton-krylov"])
def nonlinear_run(request, tmp_path_factory) -> dict:
    return _discover(tmp_path_factory, request.param, {
        "problem": {"class": "nonlinear", "family": "hequation"}, "model": {"stages": 2, "outer": 3},
        "train": {"adam_steps": 30, "lbfgs_steps": 10},
        "nonlinear": {"samples": 16, "heldout": 5, "size": 20, "mode": request.param}})


def _check_json(capsys, *args: str) -> dict:
    from algodiscover.cli import main

    assert main(["check", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_default_discover_run_validates(default_run):
    a = _assert_valid(default_run)
    assert a.kind == "runge-kutta" and a.learned and a.family is not None and a.comparison is not None
    assert a.exact_order == default_run["exact_order"] and isinstance(a.exact_order, int)
    assert a.rational is not None and list(a.rational.b) == default_run["rational"]["b"]
    assert a.measured is not None and a.measured.order == default_run["measured"]["order"]


def test_check_json_of_catalogue_and_float_tableaux_validates(capsys, tmp_path):
    rk4 = _check_json(capsys, "RK4")
    a = _assert_valid(rk4)
    assert (a.kind, a.order, a.arithmetic, a.identified_as) == ("runge-kutta", 4, "exact", "RK4")
    assert not a.learned and a.rational is not None and a.rational.b == ("1/6", "1/3", "1/3", "1/6")
    _assert_valid(_check_json(capsys, "GaussLegendre3"))  # implicit: R(z) rational, interval "-inf"
    _assert_valid(_check_json(capsys, "DormandPrince5(4)", "--max-order", "6"))  # b_hat, past the first failure
    for name, b, distilled in (("kutta3", [0.16666666666666666, 0.6666666666666666, 0.16666666666666666], False),
                               ("noisy", [0.19098300, 0.8090169944], True)):
        A = [[0, 0, 0], [0.5, 0, 0], [-1.0, 2.0, 0]] if len(b) == 3 else [[0, 0], [0.6180339887, 0]]
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"A": A, "b": b}))
        doc = _check_json(capsys, str(path))
        a = _assert_valid(doc)
        assert a.arithmetic == "float64" and a.tableau is not None and a.tableau.is_float
        assert (a.distillation is not None) == distilled and a.rational is not None


def test_linear_run_validates(linear_run):
    a = _assert_valid(linear_run)
    k = a.krylov_section
    assert a.kind == "krylov" and k is not None and k.polynomial is not None
    assert k.factor is not None and k.factor.per_outer == linear_run["krylov"]["factor"]["per_outer"]
    assert k.comparison is not None and set(k.comparison.methods) == set(linear_run["krylov"]["comparison"]["methods"])
    assert k.family is not None and k.family.name == "spd"


def test_nonlinear_run_validates(nonlinear_run):
    a = _assert_valid(nonlinear_run)
    nl = a.nonlinear_section
    assert a.kind == "newton-krylov" and nl is not None and nl.mode == nonlinear_run["mode"]
    c = nl.comparison.get("in_distribution")
    raw = nonlinear_run["nonlinear"]["comparison"]["in_distribution"]
    assert c.median_ratio_learned_to_newton_krylov == raw["median_ratio_learned_to_newton_krylov"]
    assert dict(c.success) == raw["success"] and c.evaluations["learned"] == tuple(raw["evaluations"]["learned"])


def test_every_solver_ratio_carries_its_bootstrap_interval(linear_run, nonlinear_run):
    """Each ratio learned vs classical in analysis.json has ci95 and n beside it (an interval
    wherever at least 5 instances enter it), readable through the typed views."""
    from algodiscover.analysis.statistics import MIN_INSTANCES

    comp = linear_run["krylov"]["comparison"]
    view = AnalysisView.read(linear_run).krylov_section.comparison
    assert comp["ratios"] and set(comp["ratio_estimates"]) == set(comp["ratios"])
    for m, r in comp["ratios"].items():
        e = comp["ratio_estimates"][m]
        assert e["value"] == r == view.ratio_estimates[m].value and e["n"] == comp["instances"] == 6
        if r is not None:
            assert len(e["ci95"]) == 2 and e["verdict"] in ("fewer", "more", "no significant difference")
            assert view.ratio_estimates[m].ci95 == tuple(e["ci95"])
    nl = AnalysisView.read(nonlinear_run).nonlinear_section
    for setting, c in nonlinear_run["nonlinear"]["comparison"].items():
        baselines = [m for m in c["evaluations"] if m != "learned"]
        assert baselines and set(c["ratios"]) == set(baselines)
        for m in baselines:
            e = c["ratios"][m]
            assert isinstance(e["n"], int) and "ci95" in e
            assert (e["ci95"] is not None) == (e["value"] is not None and e["n"] >= MIN_INSTANCES), (setting, m, e)
            assert nl.comparison.get(setting).ratios[m].n == e["n"]


# ------------------------------------------------------------------ the schema itself
def _walk_schema(node, where="schema"):
    """Every subschema that describes a document's shape (not the conditions of ``if``)."""
    if isinstance(node, dict):
        yield where, node
        for k, v in node.items():
            if k != "if":
                yield from _walk_schema(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_schema(v, f"{where}[{i}]")


def test_schema_is_valid_and_every_property_is_described():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    undescribed = [f"{where}.{key}" for where, node in _walk_schema(SCHEMA) if isinstance(node.get("properties"), dict)
                   for key, sub in node["properties"].items() if not (isinstance(sub, dict) and sub.get("description"))]
    assert not undescribed, undescribed
    assert set(SCHEMA["properties"]["kind"]["enum"]) == {"runge-kutta", "two-derivative-runge-kutta", "multistep", "krylov", "newton-krylov"}


def test_schema_rejects_what_the_tool_does_not_write(default_run, linear_run):
    for mutate, where in (
        (lambda d: d.update(undocumented=1), "undocumented"),
        (lambda d: d.update(kind="integrator"), "kind"),
        (lambda d: d.update(order=2.5), "order"),
        (lambda d: d["stability"].update(real_interval=["-infinity", 0.0]), "stability.real_interval.0"),
        (lambda d: d["tableau"].pop("b"), "tableau"),
        (lambda d: d["training"]["phases"].append(["adam"]), "training.phases"),
    ):
        doc = copy.deepcopy(default_run)
        mutate(doc)
        errs = _errors(doc)
        assert errs and any(e.startswith(where) or e.startswith("(top)") for e in errs), (where, errs)
    doc = copy.deepcopy(linear_run)
    del doc["krylov"]
    assert any("'krylov' is a required property" in e for e in _errors(doc))


# ------------------------------------------------------------------ views and schema agree
def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _alternatives(node: dict) -> list[dict]:
    node = _resolve(node)
    alts = node.get("anyOf") or node.get("oneOf")
    if alts:
        return [a for alt in alts for a in _alternatives(alt)]
    return [node]


def _schema_kinds(node: dict) -> set[str]:
    kinds: set[str] = set()
    for alt in _alternatives(node):
        if "type" in alt:
            t = alt["type"]
            kinds |= set([t] if isinstance(t, str) else t)
        for value in alt.get("enum", []) + ([alt["const"]] if "const" in alt else []):
            kinds.add({str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}[type(value)])
        if not ({"type", "enum", "const"} & set(alt)):
            kinds |= {"null", "boolean", "integer", "number", "string", "array", "object"}
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def _items(node: dict, count: int | None, path: str) -> list[dict]:
    """The schema of an array's items (``count``: per position of a fixed-length array)."""
    for alt in _alternatives(node):
        if count is not None and "prefixItems" in alt:
            return list(alt["prefixItems"])
        if isinstance(alt.get("items"), dict):
            return [alt["items"]] * (count or 1)
    raise AssertionError(f"{path}: the schema does not describe the items")


def _values(node: dict, path: str) -> dict:
    """The schema of an object's values (a mapping)."""
    for alt in _alternatives(node):
        extra = alt.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
        if extra is True:  # any JSON value
            return {}
    raise AssertionError(f"{path}: the schema does not describe the values")


def _check_agreement(tp, node: dict, path: str, problems: list[str]) -> None:
    """The JSON types the view accepts at ``path`` are those the schema allows there (the
    view may also accept null: it stands for a missing key), down through arrays, mappings
    and nested views."""
    view_k = set(json_kinds(tp)) - {"null"}
    schema_k = _schema_kinds(node)
    if view_k != schema_k - {"null"} or ("null" in schema_k and "null" not in json_kinds(tp)):
        problems.append(f"{path}: view accepts {sorted(json_kinds(tp))}, schema {sorted(schema_k)}")
        return
    alternatives = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    for arg in alternatives:
        origin = typing.get_origin(arg)
        if origin is tuple:
            args = typing.get_args(arg)
            variadic = len(args) == 2 and args[1] is Ellipsis
            items = _items(node, None if variadic else len(args), path)
            for i, (item, sub) in enumerate(zip(args[:1] if variadic else args, items)):
                _check_agreement(item, sub, f"{path}[{'' if variadic else i}]", problems)
        elif origin is collections.abc.Mapping:
            _check_agreement(typing.get_args(arg)[1], _values(node, path), f"{path}{{}}", problems)
        elif isinstance(arg, type) and arg in VIEWS:
            _check_view(arg, node, path, problems)


def _check_view(cls, node: dict, path: str, problems: list[str]) -> None:
    obj = next((alt for alt in _alternatives(node) if "properties" in alt), None)
    if obj is None:
        problems.append(f"{path}: the schema gives no properties for {cls.__name__}")
        return
    for f in view_fields(cls):
        if f.whole:
            continue
        sub = f"{path}.{f.key}" if path else f.key
        prop = obj["properties"].get(f.key)
        if prop is None:
            problems.append(f"{sub}: read by {cls.__name__}.{f.name} but not described in the schema")
        elif not (prop.get("description") or _resolve(prop).get("description")):
            problems.append(f"{sub}: no description in the schema")
        else:
            _check_agreement(f.type, prop, sub, problems)


VIEWS = set(iter_view_types(AnalysisView))


def test_every_field_the_views_read_is_described_in_the_schema_with_its_types():
    problems: list[str] = []
    _check_view(AnalysisView, SCHEMA, "", problems)
    assert not problems, "\n".join(problems)
    assert len(VIEWS) >= 30


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["krylov"]["factor"].update(per_outer="fast"),
     r"^analysis\.json: krylov\.factor\.per_outer: expected a number or null, got 'fast' \(a string\)$"),
    (lambda d: d["tableau"]["A"].pop(), r"^analysis\.json: tableau\.A: expected a square matrix"),
    (lambda d: d["krylov"]["roots"].append([1.0]), r"^analysis\.json: krylov\.roots\[\d+\]: expected an array of 2, got 1 entries$"),
    (lambda d: d.update(stages=True), r"^analysis\.json: stages: expected an integer or null, got True \(a boolean\)$"),
    (lambda d: d["krylov"]["family"].pop("name"), r"^analysis\.json: krylov\.family\.name: is missing$"),
    (lambda d: d.update(provenance=[1]), r"^analysis\.json: provenance: expected an object or null, got an array$"),
])
def test_a_value_of_the_wrong_type_is_an_input_error_naming_its_path(linear_run, mutate, message):
    doc = copy.deepcopy(linear_run)
    mutate(doc)
    with pytest.raises(AnalysisInputError, match=message):
        AnalysisView.read(doc)
    from algodiscover.reports import render_html

    with pytest.raises(AnalysisInputError, match=message):
        render_html(doc)


def test_report_of_a_malformed_analysis_json_exits_2_with_one_line(default_dir, tmp_path, capsys):
    from algodiscover.cli import main

    run = tmp_path / "run"
    shutil.copytree(default_dir, run)
    doc = json.loads((run / "analysis.json").read_text())
    doc["stability"]["R"] = 1.5
    (run / "analysis.json").write_text(json.dumps(doc))
    assert main(["report", str(run), "--format", "html"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"algodiscover: error: {run}: analysis.json: stability.R: expected a string or null, got 1.5 (a number)"]
    assert not (run / "report.html").exists()


# ------------------------------------------------------------------ properties
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, allow_infinity=False, width=32)
                     | st.text(max_size=4), lambda ch: st.lists(ch, max_size=3) | st.dictionaries(st.text(max_size=4), ch, max_size=3),
                     max_leaves=4)


def _paths(x, path: str = "") -> list[tuple[str, tuple]]:
    """(printed path, access path) of every value; arrays by their first two entries."""
    out = []
    items = list(x.items()) if isinstance(x, dict) else list(enumerate(x[:2])) if isinstance(x, list) else []
    for k, v in items:
        sub = (f"{path}.{k}" if path else str(k)) if isinstance(x, dict) else f"{path}[{k}]"
        out.append((sub, (k,)))
        out += [(p, (k, *acc)) for p, acc in _paths(v, sub)]
    return out


@pytest.fixture(scope="module")
def documents(default_run, linear_run) -> list[tuple[dict, list]]:
    return [(d, _paths(d)) for d in (default_run, linear_run)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 1), pick=st.integers(0, 10**6), value=_JSON)
def test_views_read_every_schema_valid_document_and_name_the_path_of_a_bad_value(documents, which, pick, value):
    """Replace one value of a real analysis: when the result fits the schema the views read it;
    when the views refuse it, the error names that value's key path (or one inside it)."""
    base, paths = documents[which]
    printed, access = paths[pick % len(paths)]
    doc = copy.deepcopy(base)
    parent = doc
    for k in access[:-1]:
        parent = parent[k]
    parent[access[-1]] = value
    try:
        AnalysisView.read(doc)
    except AnalysisInputError as exc:
        named = re.match(r"^analysis\.json: (.+?): (?:expected|is missing)", str(exc)).group(1)
        assert named.startswith(printed) or printed.startswith(named), (printed, str(exc))
        shape = "square matrix" in str(exc) or "one per stage" in str(exc)  # relations JSON Schema cannot state
        # JSON Schema counts 1.0 as an integer; the views read numbers as Python's json does (1.0 is a float)
        integral = re.search(r"expected an integer(?: or null)?, got -?\d+\.0 \(a number\)$", str(exc)) is not None
        assert shape or integral or not VALIDATOR.is_valid(doc), f"schema accepts what the views refuse: {exc}"


# ------------------------------------------------------------------ module structure
def _relative_imports(path: Path, package: str) -> set[str]:
    """Modules of ``package`` a file imports with relative imports (``from .x import``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return out & {p.stem for p in path.parent.glob("*.py")}


def test_reports_modules_are_small_documented_and_import_no_cycle():
    folder = ROOT / "reports"
    graph = {p.stem: _relative_imports(p, "reports") for p in folder.glob("*.py")}
    for p in folder.glob("*.py"):
        doc = ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{p.name}: no module docstring"
        assert len(p.read_text(encoding="utf-8").splitlines()) <= 520, f"{p.name}: over ~500 lines"
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        if state.get(m) == 1:
            raise AssertionError("import cycle: " + " -> ".join(stack + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for dep in sorted(graph.get(m, ())):
            visit(dep, stack + [m])
        state[m] = 2

    for m in sorted(graph):
        visit(m, [])


def test_the_schema_modules_import_neither_reports_nor_torch():
    for name in ("schema.py", "jsonview.py"):
        tree = ast.parse((ROOT / "analysis" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1 and not (node.module or "").startswith(("torch", "reports")), (name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] in ("torch", "matplotlib", "jinja2") for a in node.names), name
