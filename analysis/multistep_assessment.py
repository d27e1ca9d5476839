"""Everything the tool says about a multistep method (an R2N2 with memory on an ODE), as
``analysis.json`` of kind ``"multistep"``.

A kind of its own, not ``"runge-kutta"`` with a flag: ``(W, b)`` alone is not the method, and
a reader of ordinary tableaux must not mistake it for one. The top-level keys every kind has
describe the *multistep method*: ``order``/``residuals``/``conditions`` are its B-series
order conditions with exact past values (:mod:`analysis.multistep`), ``tableau``/``rational``
hold ``W``, ``b`` with the memory weights ``betas`` and ``gammas``, ``stability.R`` is its
characteristic polynomial in ``zeta`` and ``z = h lambda``, ``identified_as`` names a
classical linear multistep method, ``measured_order`` is the measured *global* order. The
section ``"multistep"`` adds the linear multistep form (one stage, or every weight on stage
1), its classical conditions ``sum alpha_j j^q = q sum beta_j j^(q-1)``, the error constant,
zero-stability, the stability region (real and imaginary intervals, boundary locus), the
start-up rule and what it does to the global order, the measured global orders and the
comparison at equal f evaluations with bootstrap intervals, and two lists that say what was
verified exactly and what was only measured.

:func:`analyze_multistep` runs the distilling side on one method; :func:`multistep_summary`
gives the lines ``algodiscover discover`` prints. Imports numpy, sympy and analysis modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import sympy as sp

from .assessment import ANALYSIS_FORMAT
from .errors import AnalysisInputError
from .memory import CLASSICAL_LMM, LinearMultistep, ZeroStability, spectral_radius_interval
from .methods import catalogue
from .multistep import (MultistepMethod, MultistepOrder, multistep_from_lmm, multistep_order, multistep_residuals,
                        multistep_weight_formulas, startup_evaluations)
from .multistep_accuracy import (EqualEvaluationsComparison, GlobalOrder, MultistepRunner, RungeKuttaRunner,
                                 compare_at_equal_evaluations, measure_global_order)
from .multistep_distillation import MultistepDistillation, distill_multistep
from .numbers import format_exact
from .odefamily import OdeFamilySpec
from .order import check_order, stage_order
from .personalised import PersonalisedOrder, personalised_conditions
from .rooted_trees import tree_table
from .tableau import ButcherTableau

__all__ = ["MULTISTEP_KIND", "MultistepAnalysis", "analyze_multistep", "multistep_summary", "multistep_personalised_order",
           "EQUAL_COST_RK", "format_lmm"]

MULTISTEP_KIND = "multistep"
#: Classical one-step methods in the equal-cost comparison (1, 2 and 4 f evaluations per step).
EQUAL_COST_RK = ("Euler", "Heun", "RK4")
_CONDITION_TABLE_CAP = 5
_MAX_ORDER = 6


def multistep_personalised_order(method: MultistepMethod, spec: OdeFamilySpec, *, max_order: int = _MAX_ORDER,
                                 tol: float | None = None) -> PersonalisedOrder:
    """Largest p such that the family's conditions (:func:`analysis.personalised_conditions`)
    hold for the method's tree residuals up to order p (the local error with exact past
    values is ``sum_t h^|t| (Phi(t) - 1/gamma(t)) / sigma(t) F(t)``): exactly for exact
    methods, within ``tol`` (default 1e-10) otherwise."""
    exact = method.is_exact
    tab = tree_table(max_order)
    res = multistep_residuals(method, max_order, exact=exact)
    conds_n: dict[int, int] = {}
    trees_n: dict[int, int] = {}
    res_n: dict[int, float] = {}
    order = 0
    limit = 1e-10 if tol is None else tol
    for n in range(1, max_order + 1):
        blk = personalised_conditions(spec, n).blocks[-1]
        r = res[tab.offsets[n]:tab.offsets[n + 1]]
        trees_n[n], conds_n[n] = len(r), blk.count
        if exact:
            rows = blk.rows if blk.rows is not None else [tuple(int(i == k) for i in range(len(r))) for k in range(len(r))]
            vals = [sp.simplify(sum((sp.Rational(w.numerator, w.denominator) * v for w, v in zip(row, r) if w), sp.Integer(0))) for row in rows]
            ok = all(v == 0 for v in vals)
            res_n[n] = max((abs(float(v)) for v in vals), default=0.0)
        else:
            vals_f = blk.matrix() @ np.asarray(r, dtype=np.float64) if blk.count else np.zeros(0)
            res_n[n] = float(np.max(np.abs(vals_f))) if vals_f.size else 0.0
            ok = res_n[n] <= limit
        if not ok:
            break
        order = n
    return PersonalisedOrder(order, spec.name, conds_n, trees_n, res_n, exact)


def _imag_limit(method: MultistepMethod, search: float = 20.0) -> float:
    """Largest y with spectral radius <= 1 on ``[0, i y]`` (0 when unstable just above 0)."""
    return max(0.0, -spectral_radius_interval(lambda z: method.spectral_radius(-1j * z.real), search=search))


def _characteristic_text(method: MultistepMethod) -> str:
    zeta = sp.Symbol("zeta")
    M = method.memory
    expr = zeta ** (M + 1) - sum((c * zeta ** (M - m) for m, c in enumerate(method.characteristic_coefficients())), sp.Integer(0))
    return sp.sstr(sp.collect(sp.expand(expr), zeta))


def _cells(method: MultistepMethod) -> dict[str, Any]:
    """``{"A", "b", "c", "betas", "gammas"}`` (the tableau view; exact entries as strings)."""
    d = method.to_dict()
    out = {"A": d["W"], "b": d["b"], "betas": d["betas"], "gammas": d["gammas"]}
    if method.exact is not None:
        out["c"] = [format_exact(sum(r, sp.Integer(0))) for r in method.exact["W"]]
    else:
        out["c"] = method.W.sum(axis=1).tolist()
    if method.name:
        out = {"name": method.name, **out}
    return out


def _float_cells(method: MultistepMethod) -> dict[str, Any]:
    return {"A": method.W.tolist(), "b": method.b.tolist(), "c": method.W.sum(axis=1).tolist(), "betas": method.betas.tolist(),
            "gammas": method.gammas.tolist()}


def _condition_rows(method: MultistepMethod, max_order: int, form: str, tol: float) -> list[dict[str, Any]]:
    tab = tree_table(max_order)
    N = tab.offsets[max_order + 1]
    formulas = multistep_weight_formulas(method.stages, method.memory, max_order, form)
    exact = method.is_exact
    res = multistep_residuals(method, max_order, exact=exact)
    rows = []
    for i in range(N):
        tree, g, sg = tab.trees[i], tab.gamma[i], tab.sigma[i]
        if exact:
            r = res[i] if isinstance(res[i], sp.Rational) else sp.simplify(res[i])
            rf = float(sp.N(r, 30))
            ok = r == 0
            phi_exact: str | None = format_exact(r + sp.Rational(1, g))
        else:
            rf = float(res[i])
            ok = abs(rf) <= tol
            phi_exact = None
        rows.append({"order": tree.order, "tree": tree.bracket(), "levels": list(tree.levels), "formula": formulas[i],
                     "phi": rf + 1.0 / g, "phi_exact": phi_exact, "inv_gamma": f"1/{g}" if g != 1 else "1", "residual": rf,
                     "tau": rf / sg, "satisfied": bool(ok)})
    return rows


def _principal_error(method: MultistepMethod, order: int) -> float | None:
    p = order + 1
    if p > 8:
        return None
    tab = tree_table(p)
    res = multistep_residuals(method, p, exact=False)
    taus = [res[i] / tab.sigma[i] for i in range(tab.offsets[p], tab.offsets[p + 1])]
    return float(np.sqrt(np.sum(np.square(taus))))


def _lmm_rows(lmm: LinearMultistep, upto: int, tol: float) -> list[dict[str, Any]]:
    """One row per classical condition ``q = 0..upto``: both sides and the residual."""
    rows = []
    for q in range(upto + 1):
        lhs = sum((a * sp.Integer(j) ** q for j, a in enumerate(lmm.alpha)), sp.Integer(0))
        rhs = sum((q * bj * (sp.Integer(j) ** (q - 1) if q else 0) for j, bj in enumerate(lmm.beta)), sp.Integer(0))
        r = sp.expand(lhs - rhs)
        exact = lmm.is_exact
        rows.append({"q": q, "alpha_sum": format_exact(lhs) if exact else float(lhs), "beta_sum": format_exact(rhs) if exact else float(rhs),
                     "residual": float(r), "satisfied": bool(r == 0) if exact else abs(float(r)) <= tol})
    return rows


def _startup_order(method: MultistepMethod, startup: str) -> int | None:
    """Order of the start-up steps as a one-step method (None for exact values)."""
    if startup == "rk4":
        return 4
    if startup == "rk":
        return check_order(ButcherTableau(method.entries("W"), method.entries("b")), max_order=8).order
    return None


# ----------------------------------------------------------------------------- the analysis
@dataclass(frozen=True)
class MultistepAnalysis:
    """Result of :func:`analyze_multistep`; :meth:`to_json` gives ``analysis.json``."""

    name: str
    method: MultistepMethod
    form: str
    startup: str
    order: MultistepOrder
    rational: MultistepMethod | None
    exact_order: MultistepOrder | None
    distillation: MultistepDistillation | None
    lmm: LinearMultistep | None
    identified_as: str | None
    closest: tuple[str, float] | None
    zero_stability: ZeroStability
    real_interval: float
    real_interval_exact: sp.Expr | None
    imag_limit: float
    boundary: np.ndarray
    characteristic: str
    conditions: tuple[dict[str, Any], ...]
    conditions_order: int
    principal_error: float | None
    stage_order: int
    personalised: PersonalisedOrder | None = None
    measured: GlobalOrder | None = None
    measured_learned: GlobalOrder | None = None
    measured_classical: dict[str, GlobalOrder] = field(default_factory=dict)
    equal_cost: EqualEvaluationsComparison | None = None
    family: OdeFamilySpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> MultistepMethod:
        return self.rational if self.rational is not None else self.method

    @property
    def final_order(self) -> int:
        return self.exact_order.order if self.exact_order is not None else self.order.order

    def _identification(self) -> dict[str, Any]:
        fam = params = None
        kind = "method" if self.identified_as else None
        if self.identified_as is None and self.lmm is not None and self.rational is not None:
            k = self.lmm.trimmed().steps
            fam = f"explicit {k}-step linear multistep methods of order {self.final_order}"
            e = self.rational.exact
            params = {f"beta_{m + 1}": format_exact(x) for m, x in enumerate(e["betas"])} if self.form != "adams" and e is not None else {}
            kind = "family"
        elif self.lmm is None and self.rational is not None:
            fin = self.rational
            fam = f"explicit {fin.memory + 1}-step Runge-Kutta methods with {fin.stages} stages of order {self.final_order}"
            params = {}
            kind = "family"
        d: dict[str, Any] = {"identified_as": self.identified_as, "kind": kind, "closest": self.closest[0] if self.closest else None,
                             "distance": self.closest[1] if self.closest else None}
        if fam is not None:
            d["family"] = fam
            d["parameters"] = params or {}
        return d

    def verified(self) -> tuple[list[str], list[str]]:
        """What is verified (exact arithmetic or a stated float tolerance) and what is only measured."""
        ver: list[str] = []
        meas: list[str] = []
        p = self.final_order
        if self.exact_order is not None:
            ver.append(f"order {p}: every B-series condition up to order {p} holds in exact arithmetic (exact past values); order {p + 1} fails")
        else:
            ver.append(f"order {self.order.order} in float64 within {self.order.tol:.3g} (no exact method was found)")
        if self.lmm is not None and self.lmm.is_exact:
            ver.append(f"linear multistep form: the classical conditions sum alpha_j j^q = q sum beta_j j^(q-1) hold exactly for q = 0..{self.lmm.order()}")
        zs = self.zero_stability
        ver.append(("zero-stable" if zs.stable else "not zero-stable") + f" ({'exact' if zs.exact else 'float64'} root condition on rho)")
        if self.real_interval_exact is not None:
            ver.append(f"real stability interval [{format_exact(self.real_interval_exact)}, 0] (rho(-1)/sigma(-1), confirmed by the spectral radius)")
        imag = "{0}" if self.imag_limit == 0 else f"[-{self.imag_limit:.4g} i, {self.imag_limit:.4g} i]"
        meas.append(f"real stability interval [{self.real_interval:.6g}, 0] and imaginary interval {imag} "
                    "from the spectral radius of the companion matrix (bisection to 1e-12)")
        if self.measured is not None and math.isfinite(self.measured.order):
            meas.append(f"global order {self.measured.order:.3f} (slope of the global error at T = {self.measured.interval:g} against h, "
                        f"start-up {self.startup}, {self.measured.n_samples} held-out problems)")
        if self.equal_cost is not None:
            meas.append("accuracy at equal f evaluations against classical methods (geometric mean of per-problem error ratios, 95% bootstrap interval)")
        return ver, meas

    def to_json(self) -> dict[str, Any]:
        fin = self.final
        d: dict[str, Any] = {
            "format": ANALYSIS_FORMAT,
            "kind": MULTISTEP_KIND,
            "name": self.name,
            "stages": self.method.stages,
            "explicit": True,
            "order": self.order.order,
            "tol": self.order.tol,
            "arithmetic": "exact" if self.order.exact else "float64",
            "residuals": self.order.residuals_json(),
            "order_reached_cap": self.order.reached_cap,
            "embedded_order": None,
            "tableau": _cells(self.method),
            "rational": None if self.rational is None else _cells(self.rational),
            "exact_order": None if self.exact_order is None else self.exact_order.order,
            "exact_residuals": None if self.exact_order is None else self.exact_order.residuals_json(),
            "identified_as": self.identified_as,
            "identification": self._identification(),
            "distillation": None if self.distillation is None else self.distillation.to_json(
                None if self.distillation.exact is None else _cells(self.distillation.exact)),
            "stage_order": self.stage_order,
            "principal_error_norm": self.principal_error,
            "stability": {"R": self.characteristic, "polynomial": True, "real_interval": [self.real_interval, 0.0],
                          "imag_interval": [-self.imag_limit, self.imag_limit]},
            "conditions_order": self.conditions_order,
            "conditions": [dict(r) for r in self.conditions],
            "final_tableau_float": _float_cells(fin),
        }
        base = self._baseline()
        if base is not None:
            d["baseline"] = base
        if self.family is not None:
            d["family"] = self.family.to_json()
        if self.personalised is not None:
            d["personalised_order"] = self.personalised.order
            d["personalised"] = self.personalised.to_json()
        if self.measured is not None:
            d["measured_order"] = _finite_or_none(self.measured.order)
        if self.measured_learned is not None:
            d["measured_order_learned"] = _finite_or_none(self.measured_learned.order)
        d["multistep"] = self._section()
        d.update(self.extra)
        return d

    def _baseline(self) -> dict[str, Any] | None:
        """The Adams-Bashforth method of the same memory (one stage), else none."""
        if self.method.stages != 1:
            return None
        k = min(self.method.memory + 1, 4)
        name = next(n for n in CLASSICAL_LMM if n.split()[0] == f"AB{k}")
        lmm = CLASSICAL_LMM[name]
        ms = multistep_from_lmm(lmm, name)
        return {"name": name, "order": lmm.order(), "stability": {"R": _characteristic_text(ms), "polynomial": True,
                                                                  "real_interval": [ms.real_interval(), 0.0],
                                                                  "imag_interval": [-_imag_limit(ms), _imag_limit(ms)]}}

    def _section(self) -> dict[str, Any]:
        fin = self.final
        lmm = self.lmm
        p = self.final_order
        sec: dict[str, Any] = {"stages": fin.stages, "memory": fin.memory, "form": self.form, "startup": self.startup,
                               "evaluations_per_step": fin.stages,
                               "startup_evaluations": startup_evaluations(fin, self.startup),
                               "lmm": None, "lmm_conditions": [], "error_constant": None}
        if lmm is not None:
            k = lmm.steps
            sec["lmm"] = {**lmm.to_json(), "order": lmm.order(tol=0.0 if lmm.is_exact else 1e-10)}
            sec["lmm_conditions"] = _lmm_rows(lmm, min(sec["lmm"]["order"] + 1, 2 * k + 1), 1e-10)
            c, cn = lmm.error_constant(order=sec["lmm"]["order"])
            sec["error_constant"] = {"order": sec["lmm"]["order"], "C": format_exact(c) if lmm.is_exact else float(c), "C_float": float(c),
                                     "normalised": None if cn is None else (format_exact(cn) if lmm.is_exact else float(cn)),
                                     "normalised_float": None if cn is None else float(cn)}
        sec["zero_stability"] = self.zero_stability.to_json()
        b = self.boundary
        sec["stability"] = {"characteristic": self.characteristic, "real_interval": [self.real_interval, 0.0],
                            "real_interval_exact": None if self.real_interval_exact is None else format_exact(self.real_interval_exact),
                            "imag_limit": self.imag_limit,
                            "boundary": [[float(z.real), float(z.imag)] for z in b if np.isfinite(z)]}
        so = _startup_order(fin, self.startup)
        sec["startup_order"] = so
        sec["expected_global_order"] = p if so is None else min(p, so + 1)
        sec["measured"] = None if self.measured is None else self.measured.to_json()
        sec["measured_learned"] = None if self.measured_learned is None else self.measured_learned.to_json()
        sec["measured_classical"] = {k: v.to_json() for k, v in self.measured_classical.items()}
        sec["equal_cost"] = None if self.equal_cost is None else self.equal_cost.to_json()
        ver, meas = self.verified()
        sec["verified"] = ver
        sec["measured_only"] = meas
        return sec

    def text(self) -> str:
        """A plain-text account (the lines of :func:`multistep_summary` from this analysis)."""
        return "\n".join(multistep_summary(self.to_json()))


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def analyze_multistep(
    method: MultistepMethod,
    *,
    family: OdeFamilySpec | None = None,
    learned: bool = False,
    startup: str = "rk4",
    form: str = "full",
    max_order: int = _MAX_ORDER,
    measure: bool | None = None,
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> MultistepAnalysis:
    """Analyse a multistep method (hand-made or learned).

    Parameters
    ----------
    family : adds personalised order, measured global order and the equal-cost comparison.
    learned : the weights are noisy learned floats (the measurements also cover them).
    startup : the start-up rule of the first M steps (``"rk4"``, ``"rk"``, ``"exact"``); the
        equal-cost comparison replaces ``"exact"`` by ``"rk4"`` (exact values are not
        available to an integrator in use, and their cost would be hidden).
    form : which memory weights were free (``"full"``, ``"adams"``, ``"momentum"``);
        distillation keeps the fixed ones at zero.
    """
    from .multistep import STARTUP_RULES

    if startup not in STARTUP_RULES:
        raise AnalysisInputError(f"start-up rule must be one of {', '.join(STARTUP_RULES)}, got {startup!r}")
    name = name or method.name or method.label
    rep = multistep_order(method, max_order=max_order)
    distillation = None
    rational = method if method.is_exact else None
    if rational is None:
        distillation = distill_multistep(method, form=form)
        rational = distillation.exact
    if rational is not None and rational.name != name:
        rational = rational.with_name(name)
    exact_rep = multistep_order(rational, max_order=max_order) if rational is not None else None
    final = rational if rational is not None else method
    fin_order = exact_rep.order if exact_rep is not None else rep.order
    lmm = final.lmm(tol=0.0 if final.is_exact else 1e-12)
    ident = lmm.identify(tol=1e-12 if not final.is_exact else 0.0) if lmm is not None else None
    closest = lmm.closest() if lmm is not None else None
    zs = final.zero_stability()
    cond_order = max(1, min(fin_order + 1, _CONDITION_TABLE_CAP))
    tol = rep.tol
    conds = tuple(_condition_rows(final, cond_order, form, tol))
    pers = meas = meas_l = comp = None
    meas_c: dict[str, GlobalOrder] = {}
    if family is not None:
        pers = multistep_personalised_order(final, family)
        if (measure if measure is not None else True):
            meas = measure_global_order(MultistepRunner(name, final, startup, fin_order), family)
            learned_copy = None
            if learned and rational is not None:
                learned_copy = method.with_name(f"{name} (learned weights)")
                meas_l = measure_global_order(MultistepRunner(learned_copy.name or "", learned_copy, startup), family)
            cstart = "rk4" if startup == "exact" else startup
            ref = MultistepRunner(name, final, cstart, fin_order)
            others: list[Any] = []
            if learned_copy is not None:
                others.append(MultistepRunner(learned_copy.name or "", learned_copy, cstart, rep.order))
            for cname, clmm in CLASSICAL_LMM.items():
                if cname.startswith("AB") and cname != ident and clmm.steps >= 2:
                    ms = multistep_from_lmm(clmm, cname)
                    others.append(MultistepRunner(cname, ms, "rk4", clmm.order()))
                    if cname.split()[0] in ("AB2", "AB3"):
                        meas_c[cname] = measure_global_order(MultistepRunner(cname, ms, "rk4", clmm.order()), family)
            for rk in EQUAL_COST_RK:
                e = catalogue()[rk]
                others.append(RungeKuttaRunner(rk, e.tableau, e.order))
            meas_c["RK4"] = measure_global_order(RungeKuttaRunner("RK4", catalogue()["RK4"].tableau, 4), family)
            comp = compare_at_equal_evaluations(ref, others, family)
    try:
        st_order = stage_order(ButcherTableau(final.entries("W"), final.entries("b")))
    except Exception:  # pragma: no cover - degenerate stage tableaux only
        st_order = 0
    return MultistepAnalysis(
        name=name, method=method, form=form, startup=startup, order=rep, rational=rational, exact_order=exact_rep,
        distillation=distillation, lmm=lmm, identified_as=ident, closest=closest, zero_stability=zs,
        real_interval=final.real_interval(), real_interval_exact=lmm.real_interval_exact() if lmm is not None else None,
        imag_limit=_imag_limit(final), boundary=final.boundary(), characteristic=_characteristic_text(final),
        conditions=conds, conditions_order=cond_order, principal_error=_principal_error(final, fin_order), stage_order=st_order,
        personalised=pers, measured=meas, measured_learned=meas_l, measured_classical=meas_c, equal_cost=comp, family=family,
        extra=dict(extra or {}),
    )


# ----------------------------------------------------------------------------- the discover summary
def _signed(terms: list[tuple[str, str]]) -> str:
    """``[(coefficient, symbol)]`` as ``c1 s1 + c2 s2 - ...`` (coefficient 1 left out)."""
    out = ""
    for k, (c, sym) in enumerate(terms):
        neg = c.startswith("-")
        mag = c[1:] if neg else c
        body = sym if mag == "1" else f"{mag} {sym}"
        out += (("-" if neg else "") + body) if k == 0 else ((" - " if neg else " + ") + body)
    return out or "0"


def format_lmm(lmm: dict[str, Any]) -> str:
    """``y_{n+1} = y_n + h (3/2 f_n - 1/2 f_{n-1})`` from the ``lmm`` section of analysis.json."""
    k = lmm["steps"]
    alpha, beta = lmm["alpha"], lmm["beta"]

    def idx(j: int) -> str:
        off = j - k + 1
        return "{n+1}" if off == 1 else "n" if off == 0 else f"{{n{off}}}"

    def text(v: Any, negate: bool = False) -> str | None:
        if isinstance(v, str):
            if v == "0":
                return None
            return (v[1:] if v.startswith("-") else "-" + v) if negate else v
        x = -float(v) if negate else float(v)
        return None if x == 0.0 else f"{x:.6g}"

    ys = [(c, f"y_{idx(j)}") for j in reversed(range(k)) if (c := text(alpha[j], negate=True)) is not None]
    fs = [(c, f"f_{idx(j)}") for j in reversed(range(k + 1)) if (c := text(beta[j])) is not None]
    rhs = _signed(ys) if ys else ""
    if fs:
        rhs = (rhs + " + " if rhs else "") + f"h ({_signed(fs)})"
    return f"y_{idx(k)} = {rhs or '0'}"


def multistep_summary(analysis: dict[str, Any]) -> list[str]:
    """The lines ``algodiscover discover`` prints for a learned multistep method (from its
    ``analysis.json``)."""
    ms = analysis.get("multistep") or {}
    lines = [f"learned {analysis['stages']}-stage multistep integrator '{analysis['name']}' (memory {ms.get('memory')}, "
             f"form {ms.get('form')}, start-up {ms.get('startup')})"]
    rat = analysis.get("rational")
    if rat and ms.get("lmm"):
        lines.append("distilled exact linear multistep method: " + format_lmm(ms["lmm"]))
    elif rat:
        W = rat["A"]
        inner = ", ".join(f"a{j + 1}{l + 1} = {W[j][l]}" for j in range(len(W)) for l in range(j))
        lines.append("distilled exact weights: " + (inner + ", " if inner else "")
                     + f"b = [{', '.join(map(str, rat['b']))}], betas = [{', '.join(map(str, rat['betas']))}], "
                     + "gammas = [" + ", ".join("[" + ", ".join(map(str, g)) + "]" for g in rat["gammas"]) + "]")
    line = f"order {analysis.get('exact_order') if analysis.get('exact_order') is not None else analysis['order']}"
    fam = (analysis.get("family") or {}).get("name")
    if analysis.get("personalised_order") is not None and fam:
        line += f", personalised order {analysis['personalised_order']} on {fam}"
    if analysis.get("measured_order") is not None:
        line += f", measured global order {analysis['measured_order']:.2f}"
    ec = ms.get("error_constant")
    if ec and ec.get("normalised") is not None:
        line += f", error constant {ec['normalised']}"
    lines.append(line)
    zs = ms.get("zero_stability") or {}
    st = ms.get("stability") or {}
    lines.append(f"zero-stable: {'yes' if zs.get('stable') else 'no'}{' (strongly)' if zs.get('strongly') else ''}; "
                 f"real stability interval [{st.get('real_interval_exact') or format(st.get('real_interval', [0])[0], '.4g')}, 0]")
    ident = analysis.get("identification") or {}
    if analysis.get("identified_as"):
        lines.append(f"identified as: {analysis['identified_as']}")
    elif ident.get("family"):
        params = ", ".join(f"{k} = {v}" for k, v in (ident.get("parameters") or {}).items())
        lines.append(f"identified as: a member of the {ident['family']}" + (f" ({params})" if params else "")
                     + (f"; closest classical method {ident['closest']} (distance {ident['distance']:.3g})" if ident.get("closest") else ""))
    comp = ms.get("equal_cost")
    if comp:
        lines.append(f"global error of each method / error of {comp['reference']} at {comp['budgets'][-1]:g} f evaluations over "
                     f"[0, {comp['interval']:g}] (> 1: {comp['reference']} is more accurate), 95% bootstrap interval:")
        for setting in ("in_distribution", "out_of_distribution"):
            rat_s = comp["ratios"].get(setting, {})
            if rat_s:
                lines.append(f"  {setting.replace('_', ' ')}: " + ", ".join(
                    f"{k} {v[-1]['ratio']:.3g} [{v[-1]['low']:.3g}, {v[-1]['high']:.3g}]" for k, v in rat_s.items()))
    return lines
