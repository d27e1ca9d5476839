"""Families of nonlinear systems ``F(x; p) = 0`` for learned iterations.

Each family gives a batched torch residual ``F(X, P)`` (``X`` (B, m), ``P`` (B, n_params)),
parameter ranges for training and out-of-distribution tests, and starting points sampled
reproducibly around a family-specific guess. The built-in families also give their
analytic Jacobian ``J(X, P)`` (B, m, m), which the exact-Newton baseline uses (user
families: forward-mode autodiff of F).

* ``hequation``: Chandrasekhar's H-equation, midpoint rule with m nodes
  ``F_i = H_i - (1 - c/(2m) sum_j mu_i H_j / (mu_i + mu_j))^(-1)``, ``mu_i = (i - 1/2)/m``,
  ``c`` in [0.5, 0.9] (out of distribution: [0.9, 0.98]); guess H = 1.
* ``bratu1d`` / ``bratu2d``: ``-Laplace u = lambda exp(u)`` with zero Dirichlet data, finite
  differences (scaled by h^2), lambda below the fold (3.51 in 1D, 6.81 in 2D); guess u = 0.
* ``brusselator``: steady state of the 1D Brusselator reaction-diffusion system with
  Dirichlet data u = A, v = B/A; B in [1, 2] (below the Turing/Hopf thresholds).
* user families from TOML: ``F`` as sympy expressions in the unknowns and parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp
import torch

from .config import parse_range
from .analysis.expressions import check_variable_name, parse_expression
from .errors import InputError, input_errors

__all__ = ["NonlinearFamily", "NONLINEAR_FAMILIES", "get_nonlinear_family", "nonlinear_family_from_config", "NonlinearProblems"]

Tensor = torch.Tensor
Range = tuple[float, float]


@dataclass(frozen=True)
class NonlinearProblems:
    """A batch: parameters (B, P) and starting points (B, m), as float64 tensors."""

    params: Tensor
    x0: Tensor

    def __len__(self) -> int:
        return int(self.x0.shape[0])


@dataclass(frozen=True)
class NonlinearFamily:
    """A family of nonlinear systems.

    ``residual(X, P)`` is the batched residual; ``guess(P)`` the family's starting guess;
    ``perturbation`` the half-width of the uniform noise added to it for sampling.
    """

    name: str
    size: int
    params: tuple[str, ...]
    param_ranges: tuple[Range, ...]
    ood_ranges: tuple[Range, ...]
    residual: Callable[[Tensor, Tensor], Tensor] = field(compare=False)
    guess: Callable[[Tensor], Tensor] = field(compare=False)
    perturbation: float = 0.1
    description: str = ""
    settings: dict[str, Any] = field(default_factory=dict, compare=False)
    jacobian: Callable[[Tensor, Tensor], Tensor] | None = field(default=None, compare=False)

    def sample(self, n: int, seed: int, *, ood: bool = False) -> NonlinearProblems:
        rng = np.random.default_rng(seed)
        ranges = self.ood_ranges if ood else self.param_ranges
        P = np.column_stack([rng.uniform(lo, hi, n) for lo, hi in ranges]) if ranges else np.zeros((n, 0))
        Pt = torch.tensor(P, dtype=torch.float64)
        noise = torch.tensor(rng.uniform(-self.perturbation, self.perturbation, (n, self.size)), dtype=torch.float64)
        return NonlinearProblems(Pt, self.guess(Pt) + noise)

    def F(self, P: Tensor) -> Callable[[Tensor], Tensor]:
        """The residual with the batch's parameters bound: ``F(X)``."""
        return lambda X: self.residual(X, P)

    def numpy_residual(self, p: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """``F(x)`` for one problem with parameters ``p`` (numpy in, numpy out), e.g. for
        :func:`scipy.optimize.newton_krylov`."""
        P = torch.tensor(np.asarray(p, dtype=np.float64).reshape(1, -1))

        def F(x: np.ndarray) -> np.ndarray:
            X = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(1, -1))
            with torch.no_grad():
                return self.residual(X, P)[0].numpy().copy()

        return F

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "params": list(self.params),
                "param_ranges": [list(r) for r in self.param_ranges], "ood_param_ranges": [list(r) for r in self.ood_ranges],
                "perturbation": self.perturbation, "description": self.description, **self.settings}


# ----------------------------------------------------------------------------- H-equation
#: from this many nodes on, the H-equation's integral operator is applied through an exponential
#: sum (:func:`_cauchy_factors`) instead of the dense m x m kernel
HEQUATION_FAST_SIZE = 2048


def _cauchy_factors(mu: Tensor) -> tuple[Tensor, Tensor]:
    """``E`` (R, m) and weights ``w`` (R,) with ``1 / (mu_i + mu_j) = sum_r w_r E_ri E_rj`` to
    about 1e-15 relative: the trapezoid rule on ``1/x = int exp(s - x e^s) ds`` (step 0.25,
    s in [-38, log(50 / x_min)]), every term positive, so sums of positive H stay accurate."""
    x_min = float(2 * mu.min())
    step = 0.25
    s = torch.arange(-38.0, math.log(50.0 / x_min) + step, step, dtype=torch.float64)
    a = torch.exp(s)
    w = step * a
    E = torch.exp(-a[:, None] * mu[None, :])
    return E, w


#: exponential-sum terms with rate a_r below this (a_r (mu_i + mu_j) <= 2e-3) are summed as one
#: polynomial of degree _TAIL_DEGREE in mu_i + mu_j (Taylor remainder below 1e-18 relative)
_TAIL_RATE = 1e-3
_TAIL_DEGREE = 4


def _compressed_cauchy_factors(mu: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The terms of :func:`_cauchy_factors` with ``a_r >= 1e-3`` as they are (``E``, ``w``) and
    the others (about 60 % of them) summed exactly to 1e-18 as a polynomial in ``mu_i + mu_j``:
    ``sum_r w_r exp(-a_r (mu_i + mu_j)) = sum_{l+n<=K} G_ln mu_i^l mu_j^n`` with
    ``G_ln = binom(l+n, l) c_(l+n)``, ``c_k = sum_r w_r (-a_r)^k / k!``; returns
    ``(E, w, U, G)`` with ``U_il = mu_i^l``, so that the kernel is ``E^T diag(w) E + U G U^T``."""
    x_min = float(2 * mu.min())
    step = 0.25
    s = torch.arange(-38.0, math.log(50.0 / x_min) + step, step, dtype=torch.float64)
    a = torch.exp(s)
    w = step * a
    small = a < _TAIL_RATE
    K = _TAIL_DEGREE
    c = [float((w[small] * (-a[small]) ** k).sum()) / math.factorial(k) for k in range(K + 1)]
    G = torch.zeros(K + 1, K + 1, dtype=torch.float64)
    for l_ in range(K + 1):
        for n_ in range(K + 1 - l_):
            G[l_, n_] = math.comb(l_ + n_, l_) * c[l_ + n_]
    U = mu[:, None] ** torch.arange(K + 1, dtype=torch.float64)[None, :]
    big = ~small
    return torch.exp(-a[big, None] * mu[None, :]), w[big], U, G


def hequation(m: int = 100) -> NonlinearFamily:
    mu = (torch.arange(1, m + 1, dtype=torch.float64) - 0.5) / m
    fast = m >= HEQUATION_FAST_SIZE
    if fast:
        E, w, U, G = _compressed_cauchy_factors(mu)
        ET, UGT = E.T.contiguous(), (U @ G.T)  # G is symmetric; U G^T kept (m, K+1)
        K = None

        def integral_of(X: Tensor) -> Tensor:  # (X @ K^T) through the exponential sum: O(B m R), not O(B m^2)
            return (((X @ ET) * w) @ E + (X @ U) @ UGT.T) * mu

    else:
        K = mu[:, None] / (mu[:, None] + mu[None, :])  # (m, m)

        def integral_of(X: Tensor) -> Tensor:
            return X @ K.T

    def kernel() -> Tensor:
        return K if K is not None else mu[:, None] / (mu[:, None] + mu[None, :])

    def residual(X: Tensor, P: Tensor) -> Tensor:
        c = P[:, :1]
        integral = integral_of(X)  # sum_j mu_i H_j / (mu_i + mu_j)
        return X - 1.0 / (1.0 - c / (2 * m) * integral)

    def jacobian(X: Tensor, P: Tensor) -> Tensor:
        # dF_i/dH_j = delta_ij - (c/2m) K_ij / (1 - (c/2m) sum_l K_il H_l)^2
        Kd = kernel()
        a = P[:, :1] / (2 * m)
        g = 1.0 / (1.0 - a * integral_of(X))
        return torch.eye(m, dtype=torch.float64) - (a * g * g)[:, :, None] * Kd[None]

    return NonlinearFamily("hequation", m, ("c",), ((0.5, 0.9),), ((0.9, 0.98),), residual,
                           lambda P: torch.ones(P.shape[0], m, dtype=torch.float64), 0.1,
                           f"Chandrasekhar H-equation, midpoint rule, m = {m}, c in [0.5, 0.9]", {"m": m}, jacobian)


# ----------------------------------------------------------------------------- Bratu
def _tridiag(n: int, lower: float, diag: float, upper: float) -> Tensor:
    """The constant tridiagonal n x n matrix (float64)."""
    return (torch.diag(torch.full((n,), diag, dtype=torch.float64)) + torch.diag(torch.full((n - 1,), lower, dtype=torch.float64), -1)
            + torch.diag(torch.full((n - 1,), upper, dtype=torch.float64), 1))


def _lap1d(u: Tensor) -> Tensor:
    pad = torch.nn.functional.pad(u, (1, 1))
    return 2 * u - pad[:, :-2] - pad[:, 2:]


def bratu1d(m: int = 63) -> NonlinearFamily:
    dx = 1.0 / (m + 1)

    def residual(X: Tensor, P: Tensor) -> Tensor:
        return _lap1d(X) - dx**2 * P[:, :1] * torch.exp(X)

    T = _tridiag(m, -1.0, 2.0, -1.0)

    def jacobian(X: Tensor, P: Tensor) -> Tensor:
        return T - torch.diag_embed(dx**2 * P[:, :1] * torch.exp(X))

    return NonlinearFamily("bratu1d", m, ("lambda",), ((0.5, 3.0),), ((3.0, 3.4),), residual,
                           lambda P: torch.zeros(P.shape[0], m, dtype=torch.float64), 0.05,
                           f"Bratu 1D, -u'' = lambda exp(u), {m} interior points, lambda in [0.5, 3] (fold at 3.51)", {"m": m}, jacobian)


def bratu2d(n: int = 16) -> NonlinearFamily:
    dx = 1.0 / (n + 1)

    def residual(X: Tensor, P: Tensor) -> Tensor:
        U = X.reshape(-1, n, n)
        pad = torch.nn.functional.pad(U, (1, 1, 1, 1))
        lap = 4 * U - pad[:, :-2, 1:-1] - pad[:, 2:, 1:-1] - pad[:, 1:-1, :-2] - pad[:, 1:-1, 2:]
        return (lap - dx**2 * P[:, :1, None] * torch.exp(U)).reshape(X.shape)

    cache: dict[str, Tensor] = {}

    def jacobian(X: Tensor, P: Tensor) -> Tensor:
        # the dense 5-point Laplacian is built on first use only (n^4 entries: 800 MB at n = 100)
        if "L" not in cache:
            T = _tridiag(n, -1.0, 2.0, -1.0)
            eye = torch.eye(n, dtype=torch.float64)
            cache["L"] = torch.kron(eye, T) + torch.kron(T, eye)
        return cache["L"] - torch.diag_embed(dx**2 * P[:, :1] * torch.exp(X))

    return NonlinearFamily("bratu2d", n * n, ("lambda",), ((1.0, 5.0),), ((5.0, 6.5),), residual,
                           lambda P: torch.zeros(P.shape[0], n * n, dtype=torch.float64), 0.05,
                           f"Bratu 2D on a {n}x{n} grid, lambda in [1, 5] (fold at 6.81)", {"n": n}, jacobian)


# ----------------------------------------------------------------------------- Brusselator
def brusselator(m: int = 32, a: float = 1.0, d1: float = 0.02, d2: float = 0.02) -> NonlinearFamily:
    dx = 1.0 / (m + 1)

    def residual(X: Tensor, P: Tensor) -> Tensor:
        B = P[:, :1]
        u, v = X[:, :m], X[:, m:]
        ub = torch.full_like(u[:, :1], a)
        vb = B / a
        lu = torch.cat([ub, u, ub], 1)
        lv = torch.cat([vb, v, vb], 1)
        uxx = (lu[:, :-2] - 2 * u + lu[:, 2:]) / dx**2
        vxx = (lv[:, :-2] - 2 * v + lv[:, 2:]) / dx**2
        fu = d1 * uxx + a - (B + 1) * u + u * u * v
        fv = d2 * vxx + B * u - u * u * v
        return torch.cat([fu, fv], 1)

    def guess(P: Tensor) -> Tensor:
        x = torch.linspace(0, 1, m + 2, dtype=torch.float64)[1:-1]
        bump = 0.5 * torch.sin(math.pi * x)
        return torch.cat([a + bump.expand(P.shape[0], m), P[:, :1] / a - bump.expand(P.shape[0], m)], 1)

    D = _tridiag(m, 1.0, -2.0, 1.0) / dx**2

    def jacobian(X: Tensor, P: Tensor) -> Tensor:
        B = P[:, :1]
        u, v = X[:, :m], X[:, m:]
        uu, uv = u * u, u * v
        top = torch.cat([d1 * D - torch.diag_embed((B + 1) - 2 * uv), torch.diag_embed(uu)], 2)
        bottom = torch.cat([torch.diag_embed(B - 2 * uv), d2 * D - torch.diag_embed(uu)], 2)
        return torch.cat([top, bottom], 1)

    return NonlinearFamily("brusselator", 2 * m, ("B",), ((1.0, 2.0),), ((2.0, 2.5),), residual, guess, 0.05,
                           f"steady 1D Brusselator reaction-diffusion, A = {a}, D = ({d1}, {d2}), {m} points, B in [1, 2]",
                           {"m": m, "A": a, "d1": d1, "d2": d2}, jacobian)


def _builtin() -> dict[str, Callable[..., NonlinearFamily]]:
    return {"hequation": hequation, "bratu1d": bratu1d, "bratu2d": bratu2d, "brusselator": brusselator}


NONLINEAR_FAMILIES: dict[str, Callable[..., NonlinearFamily]] = _builtin()
_SIZE_ARG = {"hequation": "m", "bratu1d": "m", "bratu2d": "n", "brusselator": "m"}


def get_nonlinear_family(name: str, size: int | None = None) -> NonlinearFamily:
    """A built-in family; ``size`` is m (nodes / interior points) or n (2D grid side)."""
    try:
        ctor = NONLINEAR_FAMILIES[name.lower()]
    except KeyError:
        raise InputError(f"unknown nonlinear family {name!r}; known: {', '.join(NONLINEAR_FAMILIES)}") from None
    if size is None:
        return ctor()
    if not isinstance(size, int) or isinstance(size, bool) or not 2 <= size <= 100_000:
        raise InputError(f"nonlinear.size must be an integer in 2..100000, got {size!r}")
    return ctor(**{_SIZE_ARG[name.lower()]: size})


# ----------------------------------------------------------------------------- user families
_USER_KEYS = {"name", "unknowns", "F", "params", "guess", "perturbation", "ood_params", "description"}


@input_errors
def nonlinear_family_from_config(cfg: Mapping[str, Any], source: str = "config") -> NonlinearFamily:
    """A user family from a TOML table::

        [family]
        name = "circle"
        unknowns = ["x", "y"]
        F = ["x**2 + y**2 - r**2", "x - y"]
        params = { r = [1.0, 2.0] }
        guess = [1.0, 1.0]
        perturbation = 0.1
    """
    where = f"{source}: [family]"
    unknown = sorted(set(cfg) - _USER_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_USER_KEYS))})")
    for key in ("name", "unknowns", "F", "guess"):
        if key not in cfg:
            raise InputError(f"{where}: missing key {key!r}")
    names = cfg["unknowns"]
    texts = cfg["F"]
    if not (isinstance(names, list) and names and all(isinstance(v, str) and v.isidentifier() for v in names)):
        raise InputError(f"{where}.unknowns must be a non-empty list of names")
    if not (isinstance(texts, list) and len(texts) == len(names) and all(isinstance(v, str) for v in texts)):
        raise InputError(f"{where}.F must be a list of {len(names)} expressions (one per unknown)")
    params_cfg = cfg.get("params", {})
    if not isinstance(params_cfg, Mapping):
        raise InputError(f"{where}.params must be a table of name = [low, high]")
    for i, v in enumerate(names):
        check_variable_name(v, f"{where}.unknowns[{i}]")
    for pname in params_cfg:
        check_variable_name(pname, f"{where}.params")
    if len(set(names) | set(params_cfg)) != len(names) + len(params_cfg):
        raise InputError(f"{where}: unknown and parameter names must be distinct")
    xs = [sp.Symbol(v) for v in names]
    ps = [sp.Symbol(p) for p in params_cfg]
    local = {s.name: s for s in xs + ps}
    # read by the safe parser: numbers, the declared names, arithmetic and whitelisted functions
    exprs = [parse_expression(t, local, where=f"{where}.F[{i}]") for i, t in enumerate(texts)]
    ranges = tuple(parse_range(params_cfg[p.name], f"{where}.params.{p.name}") for p in ps)
    ood_cfg = cfg.get("ood_params")
    ood = ranges if ood_cfg is None else tuple(parse_range(ood_cfg.get(p.name), f"{where}.ood_params.{p.name}") for p in ps)
    guess = cfg["guess"]
    if not (isinstance(guess, list) and len(guess) == len(names) and all(isinstance(g, (int, float)) and math.isfinite(g) for g in guess)):
        raise InputError(f"{where}.guess must be a list of {len(names)} finite numbers")
    pert = cfg.get("perturbation", 0.1)
    if not (isinstance(pert, (int, float)) and pert >= 0):
        raise InputError(f"{where}.perturbation must be a number >= 0")
    fn = sp.lambdify(xs + ps, exprs, modules="torch")
    g0 = torch.tensor(guess, dtype=torch.float64)

    def residual(X: Tensor, P: Tensor) -> Tensor:
        out = fn(*[X[:, i] for i in range(X.shape[1])], *[P[:, j] for j in range(P.shape[1])])
        return torch.stack([o if torch.is_tensor(o) else torch.full_like(X[:, 0], float(o)) for o in out], 1)

    fam = NonlinearFamily(str(cfg["name"]), len(names), tuple(p.name for p in ps), ranges, ood, residual,
                          lambda P: g0.expand(P.shape[0], -1).clone(), float(pert),
                          str(cfg.get("description", "user system: " + "; ".join(texts))), {"F": list(texts), "unknowns": list(names)})
    probe = fam.sample(3, 0)
    val = fam.residual(probe.x0, probe.params)
    if val.shape != probe.x0.shape:
        raise InputError(f"{where}: F returns shape {tuple(val.shape[1:])} for {len(names)} unknowns")
    if not torch.all(torch.isfinite(val)):
        raise InputError(f"{where}: F is not finite at the starting points")
    return fam
