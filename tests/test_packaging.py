"""The package installs as one namespace and its import names cannot collide with a user's files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"algodiscover": "algodiscover", "analysis": "algodiscover.analysis", "reports": "algodiscover.reports"}


def test_every_package_folder_is_installed_under_the_algodiscover_namespace():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = set()
    for folder, namespace in FOLDERS.items():
        assert cfg["package-dir"][namespace] == folder
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((namespace, *rel)))
    assert found == listed, f"pyproject.toml [tool.setuptools] packages must list {sorted(found)}"
    assert all(name.startswith("algodiscover") for name in listed)
    assert (ROOT / "algodiscover" / "py.typed").is_file()


def test_a_users_own_analysis_and_reports_modules_do_not_shadow_ours(tmp_path):
    for name in ("analysis", "reports"):
        (tmp_path / f"{name}.py").write_text("raise ImportError('the user file was imported')\n")
    code = ("import algodiscover.analysis as a, algodiscover.reports as r, algodiscover.linear; "
            "print(a.check_order(a.get_method('RK4')).order, r.__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["4", "algodiscover.reports"]


def test_every_lazily_exported_name_of_analysis_resolves():
    import algodiscover.analysis as analysis

    missing = [name for name in analysis.__all__ if not hasattr(analysis, name)]
    assert not missing
    assert set(analysis.__all__) <= set(dir(analysis))


def test_no_exported_name_is_also_a_submodule_name():
    """``from algodiscover.analysis import X`` must give the function X even after the submodule
    of the same name was imported (importing a submodule binds its name on the package)."""
    import pkgutil

    import algodiscover.analysis as analysis

    submodules = {m.name for m in pkgutil.iter_modules(analysis.__path__)}
    assert not submodules & set(analysis.__all__)


# torch is blocked from import the way a missing package is: sys.modules["torch"] = None
_NO_TORCH = "import sys; sys.modules['torch'] = None; "


def _without_torch(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _NO_TORCH + code], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_checker_works_without_torch_installed(tmp_path):
    """README: the checker stands alone. check (text, --json, --report), methods and the
    analysis API must not import torch."""
    (tmp_path / "t.json").write_text('{"A": [[0, 0], ["2/3", 0]], "b": ["1/4", "3/4"]}')
    code = ("import json, io, contextlib; from algodiscover.cli import main\n"
            "for argv in (['check', 'RK4', '--json'], ['check', 't.json'], ['methods'],\n"
            "             ['check', 'GaussLegendre2', '--report', 'gl2.html']):\n"
            "    buf = io.StringIO()\n"
            "    with contextlib.redirect_stdout(buf):\n"
            "        assert main(argv) == 0, argv\n"
            "    if argv[-1] == '--json':\n"
            "        assert json.loads(buf.getvalue())['order'] == 4\n"
            "from algodiscover.analysis import analyze_tableau, get_method, check_order\n"
            "assert check_order(get_method('Ralston2')).order == 2\n"
            "print('ok', 'torch' in sys.modules and sys.modules['torch'] is not None)")
    r = _without_torch(code, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["ok", "False"]
    assert (tmp_path / "gl2.html").stat().st_size > 1000


def test_training_without_torch_says_so_in_one_line(tmp_path):
    r = _without_torch("from algodiscover.cli import main; sys.exit(main(['discover', '--out', 'x', '--quiet']))", tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    assert r.stderr.strip().count("\n") == 0 and "torch" in r.stderr and "Traceback" not in r.stderr


def test_help_and_version_load_no_numerical_library(tmp_path):
    code = ("import contextlib, io; from algodiscover.cli import main\n"
            "for argv in (['--help'], ['--version'], ['check', '--help'], ['sweep', '--help']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n"
            "            main(argv)\n"
            "        except SystemExit as exc:\n"
            "            assert exc.code == 0, argv\n"
            "print(sorted(m for m in ('numpy', 'scipy', 'sympy', 'matplotlib', 'torch') if sys.modules.get(m) is not None))")
    r = _without_torch(code, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[]"


def _module_level_imports() -> dict[str, set[str]]:
    """Edges module -> package module it imports at import time (statements at module level,
    outside ``if TYPE_CHECKING:``; imports inside functions are deferred and not edges)."""
    import ast

    modules: dict[str, Path] = {}
    for folder, namespace in FOLDERS.items():
        for p in (ROOT / folder).rglob("*.py"):
            rel = p.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((namespace, *rel))
            modules[name[: -len(".__init__")] if name.endswith(".__init__") else name] = p
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        tree = ast.parse(path.read_text())
        body = []
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            body.append(node)
        for node in body:
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != mod:
                    graph[mod].add(t)
    return graph


def test_no_import_cycles_anywhere():
    import networkx as nx

    g = nx.DiGraph([(a, b) for a, bs in _module_level_imports().items() for b in bs])
    cycles = list(nx.simple_cycles(g))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles[:5])


def test_the_layers_import_one_way_and_analysis_never_imports_torch():
    """algodiscover (learning) -> reports (rendering) -> analysis (distilling); analysis
    imports neither of the others, reports never imports the learning side, and neither
    analysis nor reports imports torch (anywhere in the file, not only at module level)."""
    graph = _module_level_imports()
    for mod, deps in graph.items():
        if mod.startswith("algodiscover.analysis"):
            assert all(d.startswith("algodiscover.analysis") for d in deps), (mod, deps)
        if mod.startswith("algodiscover.reports"):
            assert all(d.startswith(("algodiscover.reports", "algodiscover.analysis")) for d in deps), (mod, deps)
    for folder in ("analysis", "reports"):
        for p in (ROOT / folder).rglob("*.py"):
            text = p.read_text()
            assert "import torch" not in text and "from torch" not in text, p


def test_the_top_level_api_is_lazy_and_enough_for_a_notebook():
    code = ("import algodiscover as ad, algodiscover.pipeline, algodiscover.cli\n"
            "assert callable(ad.discover) and callable(ad.load)\n"
            "assert ad.check_order(ad.get_method('RK4')).order == 4\n"
            "t = ad.ButcherTableau([[0, 0], ['2/3', 0]], ['1/4', '3/4'])\n"
            "assert ad.analyze_tableau(t).identification.name == 'Ralston2'\n"
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", "import sys; import algodiscover; "
                        "assert 'sympy' not in sys.modules and 'torch' not in sys.modules\n" + code],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]


def test_discover_and_load_from_python(tmp_path):
    import algodiscover as ad

    cfg = {"problem": {"class": "ode", "family": "square"}, "train": {"adam_steps": 6, "lbfgs_steps": 4}, "ode": {"samples": 16}}
    run = ad.discover(cfg, out=tmp_path / "run", formats=(), seed=2)
    assert run.algorithm.seed == 2 and run.analysis["kind"] == "runge-kutta"
    again = ad.load(tmp_path / "run")
    assert again.algorithm.content_hash == run.algorithm.content_hash and again.analysis == run.analysis
    assert ad.load(tmp_path / "run" / "algorithm.json").analysis == run.analysis
    assert "Run(" in repr(again) and again.tableau.stages == 2


def test_the_wheel_holds_every_module_and_data_file(tmp_path):
    """What a non-editable install gets: the three folders under algodiscover/, with the
    catalogue, the analysis schema, the report templates and py.typed."""
    import zipfile

    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("algodiscover-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, namespace in FOLDERS.items():
        for p in (ROOT / folder).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".json", ".j2", ".css", ".typed"):
                inside = "/".join(namespace.split(".")) + "/" + p.relative_to(ROOT / folder).as_posix()
                assert inside in names, inside
