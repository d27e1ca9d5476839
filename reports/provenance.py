"""The provenance section: seed, hashes, package versions, the command and configuration
that reproduce the run, and how to cite the method.

:func:`build_provenance` reads :class:`~analysis.schema.ProvenanceView`; :func:`config_toml`
prints the run configuration back as TOML. May import :mod:`reports.formatting`,
:mod:`reports.mathtext` and :mod:`analysis.schema`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..analysis.schema import AnalysisView, ProvenanceView
from .formatting import Rich
from .mathtext import Code

__all__ = ["build_provenance", "config_toml", "BIBTEX", "REFERENCES"]


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def _toml_key(k: str) -> str:
    return k if k and all(ch.isalnum() or ch in "_-" for ch in k) else json.dumps(k)


def config_toml(cfg: Mapping[str, Any]) -> str:
    """The run configuration as TOML (``None`` values become comments)."""
    lines: list[str] = []

    def emit(table: Mapping[str, Any], prefix: str) -> None:
        scalars = [(k, v) for k, v in table.items() if not isinstance(v, Mapping)]
        subs = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
        if prefix and (scalars or not subs):
            if lines:
                lines.append("")
            lines.append(f"[{prefix}]")
        for k, v in scalars:
            if v is None:
                lines.append(f"# {_toml_key(str(k))}: not set")
            else:
                lines.append(f"{_toml_key(str(k))} = {_toml_value(v)}")
        for k, v in subs:
            emit(v, f"{prefix}.{_toml_key(str(k))}" if prefix else _toml_key(str(k)))

    emit(cfg, "")
    return "\n".join(lines)


def _wrap_command(cmd: str, width: int = 88) -> str:
    """A shell command wrapped with backslash continuations."""
    words = cmd.split(" ")
    lines, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width - 2:
            lines.append(cur + " \\")
            cur = "    " + w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    return "\n".join(lines)


BIBTEX = r"""@article{doncevic2024r2n2,
  author  = {Doncevic, Danimir T. and Mitsos, Alexander and Guo, Yue and Li, Qianxiao
             and Dietrich, Felix and Dahmen, Manuel and Kevrekidis, Ioannis G.},
  title   = {A Recursively Recurrent Neural Network ({R2N2}) Architecture for
             Learning Iterative Algorithms},
  journal = {SIAM Journal on Scientific Computing},
  volume  = {46},
  number  = {2},
  year    = {2024},
  eprint  = {2211.12386},
  archivePrefix = {arXiv},
}

@article{guo2022personalized,
  author  = {Guo, Yue and Dietrich, Felix and Bertalan, Tom and Doncevic, Danimir T.
             and Dahmen, Manuel and Kevrekidis, Ioannis G. and Li, Qianxiao},
  title   = {Personalized Algorithm Generation: A Case Study in Learning {ODE}
             Integrators},
  journal = {SIAM Journal on Scientific Computing},
  volume  = {44},
  number  = {4},
  year    = {2022},
  eprint  = {2105.01303},
  archivePrefix = {arXiv},
}"""

REFERENCES = [
    {"authors": "D. T. Doncevic, A. Mitsos, Y. Guo, Q. Li, F. Dietrich, M. Dahmen, I. G. Kevrekidis",
     "title": "A recursively recurrent neural network (R2N2) architecture for learning iterative algorithms",
     "venue": "SIAM J. Sci. Comput. 46(2), 2024", "arxiv": "2211.12386"},
    {"authors": "Y. Guo, F. Dietrich, T. Bertalan, D. T. Doncevic, M. Dahmen, I. G. Kevrekidis, Q. Li",
     "title": "Personalized algorithm generation: a case study in learning ODE integrators",
     "venue": "SIAM J. Sci. Comput. 44(4), 2022", "arxiv": "2105.01303"},
]


def build_provenance(a: AnalysisView) -> dict[str, Any]:
    prov = a.provenance or ProvenanceView()
    rows: list[tuple[str, Rich]] = []
    if prov.seed is not None:
        rows.append(("Seed", [str(prov.seed)]))
    if a.algorithm_hash:
        rows.append(("Algorithm hash", [Code(a.algorithm_hash)]))
    if prov.content_hash and prov.content_hash != a.algorithm_hash:
        rows.append(("Content hash", [Code(prov.content_hash)]))
    if a.format:
        rows.append(("Analysis format", [Code(a.format)]))
    versions = list(prov.versions.items())
    command = _wrap_command(prov.command) if prov.command else None
    config = config_toml(prov.config.table) if prov.config is not None else None
    return {"rows": rows, "versions": versions, "command": command, "note": prov.note, "config": config,
            "bibtex": BIBTEX, "references": REFERENCES, "learned": a.learned}

