"""Built-in ODE problem families and user families from TOML.

Each family is an :class:`analysis.OdeFamilySpec` (sympy right-hand side, sampling boxes,
closed-form solution where one exists). The torch right-hand side used for training is
generated from the same sympy expressions, so training and analysis cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp
import torch

from .analysis import T_SYMBOL, OdeFamilySpec
from .analysis.expressions import check_variable_name, parse_expression

from .config import parse_range
from .errors import InputError, input_errors

__all__ = ["OdeFamily", "ODE_FAMILIES", "get_ode_family", "ode_family_from_config"]

t = T_SYMBOL


@dataclass(frozen=True)
class OdeFamily:
    """An ODE family with its torch right-hand side."""

    spec: OdeFamilySpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    @cached_property
    def _torch_fn(self) -> Callable[..., Any]:
        return sp.lambdify(list(self.spec.state) + list(self.spec.params), list(self.spec.rhs), modules="torch")

    def torch_rhs(self, params: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """``f(Y)`` for a batch: ``Y`` (B, d) with the batch's parameters (B, P) bound."""
        fn = self._torch_fn
        cols = [params[:, j] for j in range(params.shape[1])]

        def f(Y: torch.Tensor) -> torch.Tensor:
            out = fn(*[Y[:, i] for i in range(Y.shape[1])], *cols)
            return torch.stack([o if torch.is_tensor(o) else torch.full_like(Y[:, 0], float(o)) for o in out], dim=1)

        return f

    @cached_property
    def _torch_fg_fns(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        from .analysis.two_derivative_accuracy import second_derivative

        args = list(self.spec.state) + list(self.spec.params)
        g = list(second_derivative(self.spec))
        return (sp.lambdify(args, list(self.spec.rhs) + g, modules="torch", cse=True),
                sp.lambdify(args, g, modules="torch", cse=True))

    def torch_derivative_rhs(self, params: torch.Tensor):
        """``f`` with its derivative module ``g = f'(y) f(y)`` for a batch (a
        :class:`~algodiscover.model.DerivativeRHS`): f and g from the family's symbolic
        Jacobian (``J(y) f(y)``, common subexpressions of f and g shared), the same
        expressions the analysis side evaluates."""
        from .model import DerivativeRHS

        f = self.torch_rhs(params)
        fg_fn, g_fn = self._torch_fg_fns
        cols = [params[:, j] for j in range(params.shape[1])]
        d = self.dimension

        def stack(out: list[Any], Y: torch.Tensor) -> torch.Tensor:
            return torch.stack([o if torch.is_tensor(o) else torch.full_like(Y[:, 0], float(o)) for o in out], dim=1)

        def fg(Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = stack(fg_fn(*[Y[:, i] for i in range(Y.shape[1])], *cols), Y)
            return out[:, :d], out[:, d:]

        def g(Y: torch.Tensor) -> torch.Tensor:
            return stack(g_fn(*[Y[:, i] for i in range(Y.shape[1])], *cols), Y)

        return DerivativeRHS(f, fg, g)


def _spec(name, state, rhs, params, state_ranges, param_ranges, exact=None, ood=None, description="", h_range=(0.01, 0.1)):
    return OdeFamilySpec(
        name=name,
        state=tuple(state),
        rhs=tuple(rhs),
        params=tuple(params),
        state_ranges=tuple(state_ranges),
        param_ranges=tuple(param_ranges),
        ood_param_ranges=ood,
        exact_solution=exact,
        h_range=h_range,
        description=description,
    )


def _builtin() -> dict[str, OdeFamily]:
    y, a = sp.symbols("y a")
    u, v, mu, bb = sp.symbols("u v mu b")
    x1, x2, al, be, ga, de, om = sp.symbols("x1 x2 alpha beta gamma delta omega")
    specs = [
        _spec("linear", [y], [-a * y], [a], [(-5, 5)], [(1, 5)], exact=(y * sp.exp(-a * t),), ood=((5, 10),),
              description="linear decay y' = -a y, a in [1, 5], y0 in [-5, 5]"),
        _spec("square", [y], [-a * y**2], [a], [(1, 3)], [(0.1, 0.5)], exact=(y / (1 + a * y * t),), ood=((0.5, 1.0),),
              description="y' = -a y^2, a in [0.1, 0.5], y0 in [1, 3] (the Runge-Kutta network paper's example)"),
        _spec("vanderpol", [u, v], [v, mu * (1 - u**2) * v - u], [mu], [(-2, 2), (-2, 2)], [(1, 2)], ood=((2, 4),),
              description="Van der Pol u' = v, v' = mu (1 - u^2) v - u, mu in [1, 2]"),
        _spec("brusselator", [u, v], [1 - (bb + 1) * u + u**2 * v, bb * u - u**2 * v], [bb], [(0.5, 2), (0.5, 3)], [(0.5, 2)], ood=((2, 3),),
              description="Brusselator u' = 1 - (b+1) u + u^2 v, v' = b u - u^2 v, b in [0.5, 2]"),
        _spec("lotkavolterra", [x1, x2], [al * x1 - be * x1 * x2, de * x1 * x2 - ga * x2], [al, be, ga, de],
              [(0.5, 2), (0.5, 2)], [(0.5, 1.5), (0.5, 1.5), (0.5, 1.5), (0.5, 1.5)], ood=((1.5, 2.5),) * 4,
              description="Lotka-Volterra x1' = alpha x1 - beta x1 x2, x2' = delta x1 x2 - gamma x2, parameters in [0.5, 1.5]"),
        _spec("harmonic", [u, v], [v, -om**2 * u], [om], [(-1, 1), (-1, 1)], [(0.5, 2)],
              exact=(u * sp.cos(om * t) + v / om * sp.sin(om * t), -u * om * sp.sin(om * t) + v * sp.cos(om * t)), ood=((2, 4),),
              description="harmonic oscillator u' = v, v' = -omega^2 u, omega in [0.5, 2]"),
    ]
    return {s.name: OdeFamily(s) for s in specs}


ODE_FAMILIES: dict[str, OdeFamily] = _builtin()


def get_ode_family(name: str) -> OdeFamily:
    try:
        return ODE_FAMILIES[name.lower()]
    except KeyError:
        raise InputError(f"unknown ODE family {name!r}; known: {', '.join(ODE_FAMILIES)}") from None


_FAMILY_KEYS = {"name", "state", "rhs", "params", "state_ranges", "h_range", "ood_params", "exact_solution", "description"}


@input_errors
def ode_family_from_config(cfg: Mapping[str, Any], source: str = "config") -> OdeFamily:
    """A user family from a TOML table::

        [family]
        name = "logistic"
        state = ["y"]
        rhs = ["r*y*(1 - y)"]
        params = { r = [0.5, 2.0] }          # training ranges
        state_ranges = { y = [0.1, 0.9] }
        h_range = [0.01, 0.1]                # optional
        ood_params = { r = [2.0, 3.0] }      # optional
        exact_solution = ["..."]             # optional, in the state symbols, params and t
    """
    where = f"{source}: [family]"
    unknown = sorted(set(cfg) - _FAMILY_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_FAMILY_KEYS))})")
    for key in ("name", "state", "rhs"):
        if key not in cfg:
            raise InputError(f"{where}: missing key {key!r}")
    name = cfg["name"]
    if not isinstance(name, str) or not name.isidentifier():
        raise InputError(f"{where}: name must be an identifier, got {name!r}")
    state_names = _str_list(cfg["state"], f"{where}.state")
    rhs_texts = _str_list(cfg["rhs"], f"{where}.rhs")
    if len(rhs_texts) != len(state_names):
        raise InputError(f"{where}: {len(rhs_texts)} rhs expressions for {len(state_names)} state variables")
    params_cfg = cfg.get("params", {})
    if not isinstance(params_cfg, Mapping):
        raise InputError(f"{where}.params must be a table of name = [low, high]")
    for i, s in enumerate(state_names):
        check_variable_name(s, f"{where}.state[{i}]")
    for pname in params_cfg:
        check_variable_name(pname, f"{where}.params")
    if "t" in state_names or "t" in params_cfg:
        raise InputError(f"{where}: 't' is the time variable; choose another name for a state or parameter")
    if len(set(state_names) | set(params_cfg)) != len(state_names) + len(params_cfg):
        raise InputError(f"{where}: state and parameter names must be distinct")
    state = [sp.Symbol(s) for s in state_names]
    params = [sp.Symbol(p) for p in params_cfg]
    local = {s.name: s for s in state + params}
    local["t"] = T_SYMBOL
    rhs = [_family_expr(txt, local, f"{where}.rhs[{i}]", allowed=set(state + params)) for i, txt in enumerate(rhs_texts)]
    param_ranges = [parse_range(params_cfg[p.name], f"{where}.params.{p.name}") for p in params]
    sr_cfg = cfg.get("state_ranges", {})
    if not isinstance(sr_cfg, Mapping):
        raise InputError(f"{where}.state_ranges must be a table of name = [low, high]")
    extra = sorted(set(sr_cfg) - set(state_names))
    if extra:
        raise InputError(f"{where}.state_ranges: unknown state variable {extra[0]!r}")
    state_ranges = [parse_range(sr_cfg.get(s, [-1.0, 1.0]), f"{where}.state_ranges.{s}") for s in state_names]
    ood = None
    if "ood_params" in cfg:
        ood_cfg = cfg["ood_params"]
        if not isinstance(ood_cfg, Mapping) or set(ood_cfg) != set(params_cfg):
            raise InputError(f"{where}.ood_params must give a range for every parameter")
        ood = tuple(parse_range(ood_cfg[p.name], f"{where}.ood_params.{p.name}") for p in params)
    exact = None
    if "exact_solution" in cfg:
        texts = _str_list(cfg["exact_solution"], f"{where}.exact_solution")
        exact = tuple(_family_expr(x, local, f"{where}.exact_solution[{i}]", allowed=set(state + params) | {T_SYMBOL}) for i, x in enumerate(texts))
    h_range = parse_range(cfg.get("h_range", [0.01, 0.1]), f"{where}.h_range")
    if h_range[0] <= 0:
        raise InputError(f"{where}.h_range must be positive")
    spec = _spec(name, state, rhs, params, state_ranges, param_ranges, exact=exact, ood=ood,
                 description=cfg.get("description", "user family: " + "; ".join(f"{s}' = {r}" for s, r in zip(state_names, rhs_texts))), h_range=h_range)
    fam = OdeFamily(spec)
    _smoke_test(fam, where)
    return fam


def _str_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where} must be a non-empty list of strings")
    return value


def _family_expr(text: str, local: dict[str, sp.Symbol], where: str, allowed: set[sp.Symbol]) -> sp.Expr:
    """One expression of a user family, read by the safe parser (never evaluated as Python)."""
    expr = parse_expression(text, {k: v for k, v in local.items() if v in allowed}, where=where)
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise InputError(f"{where}: {text!r} is not finite")
    return expr


def _smoke_test(fam: OdeFamily, where: str) -> None:
    smp = fam.spec.sample(4, seed=0)
    val = fam.spec.numpy_rhs(smp.y0, smp.params)
    if val.shape != smp.y0.shape or not np.all(np.isfinite(val)):
        raise InputError(f"{where}: the right-hand side is not finite at sampled states")
