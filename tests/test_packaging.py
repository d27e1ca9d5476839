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
