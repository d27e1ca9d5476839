"""``LearnedAlgorithm``: the artefact a training run leaves behind (``algorithm.json``).

It holds the weights at full precision (floats written with ``repr`` round-trip exactly),
the structure, the problem family, the whole configuration, the seed, the loss history,
the package versions and a SHA-256 content hash over everything that defines the result
(not the wall time). Files are written atomically, so a failed or diverged run never
replaces a good artefact.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import ButcherTableau, write_json_atomic

from .errors import InputError

__all__ = ["LearnedAlgorithm", "ALGORITHM_FORMAT", "TWO_DERIVATIVE_KIND", "MULTISTEP_KIND", "package_versions", "content_hash"]

ALGORITHM_FORMAT = "algodiscover.algorithm/1"
#: The kind of a learned two-derivative Runge-Kutta method (weights W, b, W2, b2).
TWO_DERIVATIVE_KIND = "two-derivative-runge-kutta"
#: The kind of a learned multistep method (an R2N2 with memory: weights W, b, betas, gammas).
MULTISTEP_KIND = "multistep"
_HASHED = ("format", "kind", "problem", "structure", "weights", "config", "seed", "training")


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide the numbers."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("algodiscover", "torch", "numpy", "scipy", "sympy", "mpmath"):
        loaded = getattr(sys.modules.get(pkg), "__version__", None)  # cheaper than reading metadata
        try:
            out[pkg] = str(loaded) if loaded is not None else version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def content_hash(data: dict[str, Any]) -> str:
    """``sha256:`` of the canonical JSON of the defining fields."""
    body = {k: data.get(k) for k in _HASHED}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class LearnedAlgorithm:
    """A trained R2N2 and how it came to be.

    ``kind`` is ``"runge-kutta"``, ``"two-derivative-runge-kutta"``, ``"multistep"``,
    ``"krylov"`` or ``"newton-krylov"``; ``weights`` holds ``W`` (n x n, strictly lower
    triangular) and ``b`` (n), plus ``W2`` and ``b2`` (the g-weights) for a two-derivative
    method, ``betas`` (M) and ``gammas`` (M x n) for a multistep method (an R2N2 with memory
    M), ``h`` for solvers and any inner weights; ``problem`` names the class (``ode``/``linear``/``nonlinear``)
    and family. ``cost`` holds the measured cost of a derivative module relative to one f
    evaluation (:mod:`algodiscover.derivative_cost`); like ``timing`` it is a measurement and
    not part of the content hash, and it is written only when present.
    """

    kind: str
    problem: dict[str, Any]
    structure: dict[str, Any]
    weights: dict[str, Any]
    config: dict[str, Any]
    seed: int
    training: dict[str, Any]
    versions: dict[str, str] = field(default_factory=package_versions)
    timing: dict[str, float] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    #: "verified" (built here, or loaded from a file whose content hash matched), "missing"
    #: or "mismatch" (loaded from a file without a hash, or with a wrong one); not content.
    integrity: str = field(default="verified", compare=False)

    # ----------------------------------------------------------------- views
    @property
    def W(self) -> np.ndarray:
        return np.array(self.weights["W"], dtype=np.float64).reshape(self.stages, self.stages)

    @property
    def b(self) -> np.ndarray:
        return np.array(self.weights["b"], dtype=np.float64)

    @property
    def stages(self) -> int:
        return int(self.structure["stages"])

    @property
    def is_two_derivative(self) -> bool:
        return self.kind == TWO_DERIVATIVE_KIND

    @property
    def is_multistep(self) -> bool:
        return self.kind == MULTISTEP_KIND

    def multistep_method(self, name: str | None = None):
        """The learned multistep method (:class:`~algodiscover.analysis.multistep.MultistepMethod`)."""
        from .analysis.multistep import MultistepMethod

        return MultistepMethod(self.W.tolist(), self.b.tolist(), list(self.weights["betas"]), [list(g) for g in self.weights["gammas"]],
                               name=name or self.default_name)

    def tableau(self, name: str | None = None):
        """The learned method: a :class:`ButcherTableau`, or for a two-derivative artefact a
        :class:`~algodiscover.analysis.TwoDerivativeTableau` (weights W, b, W2, b2)."""
        if self.is_two_derivative:
            from .analysis import TwoDerivativeTableau

            n = self.stages
            W2 = np.array(self.weights["W2"], dtype=np.float64).reshape(n, n)
            b2 = np.array(self.weights["b2"], dtype=np.float64)
            return TwoDerivativeTableau(self.W.tolist(), self.b.tolist(), W2.tolist(), b2.tolist(), name=name or self.default_name)
        return ButcherTableau(self.W, self.b, name=name or self.default_name)

    @property
    def default_name(self) -> str:
        fam = self.problem.get("family", "?")
        if self.is_two_derivative:
            return f"R2N2-{self.stages}g-{fam}"
        if self.is_multistep or self.weights.get("betas"):
            return f"R2N2-{self.stages}m{len(self.weights.get('betas', []))}-{fam}"
        return f"R2N2-{self.stages}-{fam}"

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        d = {
            "format": ALGORITHM_FORMAT,
            "kind": self.kind,
            "problem": self.problem,
            "structure": self.structure,
            "weights": self.weights,
            "config": self.config,
            "seed": self.seed,
            "training": self.training,
            "versions": self.versions,
            "timing": self.timing,
        }
        if self.cost:
            d["cost"] = self.cost
        d["content_hash"] = content_hash(d)
        return d

    @property
    def content_hash(self) -> str:
        return self.to_dict()["content_hash"]

    def provenance(self) -> dict[str, Any]:
        """Seed, configuration, versions, content hash and the shortest command that
        reproduces the run (``--config config.toml`` when flags cannot express it)."""
        from .config import config_from_mapping

        try:
            cmd = config_from_mapping(self.config, source="algorithm.json").command()
        except InputError:
            cmd = "algodiscover discover --config config.toml"
        return {"seed": self.seed, "config": self.config, "versions": self.versions, "content_hash": self.content_hash, "command": cmd}

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        write_json_atomic(p, self.to_dict())
        return p

    @classmethod
    def load(cls, path: str | Path, strict: bool = False) -> "LearnedAlgorithm":
        """Load ``algorithm.json``; a missing file, bad JSON, missing keys or non-finite
        weights raise :class:`InputError` naming the file.

        A content hash that is missing or does not match the contents (an edited or
        corrupt file) gives an :class:`~algodiscover.errors.AlgodiscoverWarning` and sets
        :attr:`integrity` (``"missing"``/``"mismatch"``); with ``strict`` it raises.
        """
        p = Path(path)
        if not p.exists():
            raise InputError(f"{p}: no such file (expected an algorithm.json written by 'algodiscover train' or 'discover')")
        try:
            data = json.loads(p.read_text(encoding="utf-8"), parse_constant=_reject)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{p}: cannot read ({exc.__class__.__name__})") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}: malformed JSON at line {exc.lineno}: {exc.msg}") from None
        except ValueError as exc:
            raise InputError(f"{p}: {exc}") from None
        except RecursionError:
            raise InputError(f"{p}: JSON nested too deeply") from None
        if not isinstance(data, dict):
            raise InputError(f"{p}: expected a JSON object")
        if data.get("format") != ALGORITHM_FORMAT:
            raise InputError(f"{p}: not an algodiscover algorithm file (format {data.get('format')!r}, expected {ALGORITHM_FORMAT!r})")
        missing = [k for k in ("kind", "problem", "structure", "weights", "config", "seed", "training") if k not in data]
        if missing:
            raise InputError(f"{p}: missing key {missing[0]!r}")
        integrity = _integrity(data, p)
        if integrity != "verified":
            what = ("has no content hash" if integrity == "missing"
                    else "content hash does not match its contents (file edited or corrupt)")
            if strict:
                raise InputError(f"{p}: {what}; refused (--strict)")
            import warnings

            from .errors import AlgodiscoverWarning

            warnings.warn(f"{p}: {what}; results computed from it are marked unverified", AlgodiscoverWarning, stacklevel=2)
        alg = cls(
            kind=data["kind"], problem=data["problem"], structure=data["structure"], weights=data["weights"],
            config=data["config"], seed=int(data["seed"]), training=data["training"],
            versions=data.get("versions", {}), timing=data.get("timing", {}), cost=data.get("cost") or {}, integrity=integrity,
        )
        alg._validate(str(p))
        return alg

    def _validate(self, where: str) -> None:
        try:
            n = self.stages
            W, b = self.W, self.b
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: weights or structure malformed ({exc})") from None
        if W.shape != (n, n) or b.shape != (n,):
            raise InputError(f"{where}: weights have the wrong shape for {n} stages")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise InputError(f"{where}: weights are not finite")
        if self.is_two_derivative:
            try:
                W2 = np.array(self.weights["W2"], dtype=np.float64)
                b2 = np.array(self.weights["b2"], dtype=np.float64)
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{where}: two-derivative weights W2, b2 missing or malformed ({exc})") from None
            if W2.shape != (n, n) or b2.shape != (n,):
                raise InputError(f"{where}: weights W2, b2 have the wrong shape for {n} stages")
            if not (np.all(np.isfinite(W2)) and np.all(np.isfinite(b2))):
                raise InputError(f"{where}: weights are not finite")
            if not isinstance(self.cost, dict):
                raise InputError(f"{where}: cost must be an object")
        if self.is_multistep or "betas" in self.weights:
            try:
                M = int(self.structure["memory"])
                betas = np.array(self.weights["betas"], dtype=np.float64)
                gammas = np.array(self.weights["gammas"], dtype=np.float64)
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{where}: memory weights betas, gammas or structure.memory missing or malformed ({exc})") from None
            if M < 1 or betas.shape != (M,) or gammas.shape != (M, n):
                raise InputError(f"{where}: memory weights have the wrong shape for memory {M} and {n} stages")
            if not (np.all(np.isfinite(betas)) and np.all(np.isfinite(gammas))):
                raise InputError(f"{where}: weights are not finite")
        h = self.weights.get("h")
        if h is not None and not (isinstance(h, (int, float)) and math.isfinite(h)):
            raise InputError(f"{where}: weight h is not finite")


def _reject(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def _integrity(data: dict[str, Any], path: Path) -> str:
    recorded = data.get("content_hash")
    if not isinstance(recorded, str):
        return "missing"
    try:
        return "verified" if recorded == content_hash(data) else "mismatch"
    except (TypeError, ValueError):  # not hashable as canonical JSON (e.g. NaN in a field)
        return "mismatch"
