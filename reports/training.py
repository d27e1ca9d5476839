"""The training section of a learned method's report: optimiser phases, the loss and its
final value (the loss curve is drawn by :mod:`reports.figures`).

:func:`build_training` reads the run record (``training``, ``structure`` and the run
configuration in ``provenance.config``) through :class:`~analysis.schema.AnalysisView`;
:func:`training_objective` says in one sentence what loss a solver kind was trained on.
Formatting only. May import :mod:`reports.formatting`, :mod:`reports.mathtext`,
:mod:`reports.solver_math` and :mod:`analysis.schema`.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..analysis.schema import AnalysisView, ConfigView, LinearOptionsView, OdeOptionsView, OptionsView, StructureView
from .formatting import Rich, fnum, join_and
from .mathtext import Code, Math, sci
from .solver_math import ABSQ, MAXQ, norm

__all__ = ["build_training", "training_objective"]


def _config(a: AnalysisView) -> ConfigView:
    prov = a.provenance
    return prov.config if prov is not None and prov.config is not None else ConfigView()


def build_training(a: AnalysisView, figures: Sequence[str] = ()) -> dict[str, Any] | None:
    tr = a.training
    if tr is None or not tr.loss_history:
        return None
    labels = {"adam": "Adam steps", "lbfgs": "L-BFGS loss evaluations", "final": "final evaluation"}
    phases = [{"phase": labels.get(phase, phase), "n": n} for phase, n in tr.phases]
    cfg = _config(a)
    train = cfg.train
    ode = cfg.ode or OdeOptionsView()
    text: Rich = ["Full-batch training in float64"]
    if train is not None:
        bits = []
        if train.adam_steps is not None:
            bits.append([f"{train.adam_steps} Adam steps (learning rate ", sci(train.lr, 3), ")"])
        if train.lbfgs_steps is not None:
            bits.append([f"then L-BFGS with at most {train.lbfgs_steps} iterations"])
        if bits:
            text.append(": ")
            text.extend(join_and(bits))
    text.append(".")
    mem = (a.structure or StructureView()).memory
    if mem and ode.reference_method:
        text += [f" The loss is the mean over every state the memory update produced (steps {mem + 1} to {(a.structure or StructureView()).outer} "
                 "of each training trajectory) of the squared error", " normalised by that of " if ode.normalise == "reference" else "; the mean is normalised by that of ",
                 Code(ode.reference_method), " at the same state" if ode.normalise == "reference" else ""]
        if ode.samples:
            text.append(f", over {ode.samples} training trajectories")
        text.append(".")
    elif ode.normalise == "reference" and ode.reference_method:
        text += [" The loss is the one-step error normalised by that of ", Code(ode.reference_method), " on the same sample"]
        if ode.samples:
            text.append(f", over {ode.samples} training samples")
        text.append(".")
    if ode.taylor_order:
        mode = ode.taylor_mode if ode.taylor_mode is not None else "general"
        text += [f" A Taylor regulariser targets order {ode.taylor_order} ({mode}, weight ", sci(ode.taylor_weight, 3), ")."]
    text += training_objective(a)
    if tr.final_loss is not None:
        text += [" Final loss: ", sci(tr.final_loss, 4), "."]
    return {"text": text, "phases": phases, "figure": "training" if "training" in figures else None}



def training_objective(a: AnalysisView) -> Rich:
    """A sentence on the training loss of a solver kind (empty for other kinds)."""
    cfg = _config(a)
    st = a.structure or StructureView()
    K = st.outer
    if a.kind == "krylov":
        lin = cfg.linear or LinearOptionsView()
        obj = lin.objective or st.objective or (a.training.objective if a.training is not None else None)
        samples = lin.samples
        over = f" over {samples} training systems" if samples else ""
        if obj == "residual":
            w = 4 if lin.weight_base is None else lin.weight_base
            out: Rich = [f" The loss is the residual objective: the mean{over} of ",
                         Math(r"\sum_{k=1}^{K} w_k \|r_k\|^2", "<mrow><munderover><mo movablelimits=\"true\">&#x2211;</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>K</mi></munderover>"
                              "<msub><mi>w</mi><mi>k</mi></msub><mo>&#x2062;</mo><msup>" + norm("<msub><mi>r</mi><mi>k</mi></msub>") + "<mn>2</mn></msup></mrow>")]
            if lin.weights:
                out += [" with the weights ", Code(str(list(lin.weights)))]
            else:
                out += [" with ", Math(f"w_k = {fnum(w):g}^k", f"<mrow><msub><mi>w</mi><mi>k</mi></msub><mo>=</mo><msup><mn>{fnum(w):g}</mn><mi>k</mi></msup></mrow>")]
            if K:
                out += [", ", Math(f"K = {K}", f"<mrow><mi>K</mi><mo>=</mo><mn>{K}</mn></mrow>"), " outer iterations"]
            out += [" and ", Math(r"\|r_0\| = 1", "<mrow>" + norm("<msub><mi>r</mi><mn>0</mn></msub>") + "<mo>=</mo><mn>1</mn></mrow>"), "."]
            return out
        if obj == "minimax":
            M = lin.minimax_outer or st.minimax_outer
            tau = lin.temperature
            out = [" The loss is the minimax objective: a soft maximum (log-sum-exp"]
            if tau is not None:
                out += [" at temperature ", Math(rf"\tau = {fnum(tau):g}", f"<mrow><mi>&#x3c4;</mi><mo>=</mo><mn>{fnum(tau):g}</mn></mrow>")]
            out += [f"){over} of the residual reduction factor per outer iteration", f" over {M} outer iterations" if M else "",
                    ", a smooth stand-in for ", MAXQ, " over the spectrum."]
            return out
        if obj == "spectral":
            grid = lin.grid
            return [" The loss is the spectral objective: a soft maximum of ", ABSQ, f" over {grid} points of the spectral interval" if grid else " over the spectral interval",
                    " (or over the known eigenvalues for a complex spectrum)."]
        return [f" The loss is the {obj} objective."] if obj else []
    if a.kind == "newton-krylov":
        opts = st.options or cfg.nonlinear or OptionsView()
        samples = opts.samples
        w = 4 if opts.weight_base is None else opts.weight_base
        out = [" The loss is the mean" + (f" over {samples} training problems" if samples else "") + " of ",
               Math(r"\sum_{k=1}^{K} w^k \|F(x_k)\|^2 / \|F(x_0)\|^2",
                    "<mrow><munderover><mo movablelimits=\"true\">&#x2211;</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>K</mi></munderover><msup><mi>w</mi><mi>k</mi></msup>"
                    "<mo>&#x2062;</mo><msup>" + norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mi>k</mi></msub><mo>)</mo></mrow>") + "<mn>2</mn></msup>"
                    '<mo lspace="0" rspace="0">/</mo><msup>' + norm("<mi>F</mi><mo>&#x2061;</mo><mrow><mo>(</mo><msub><mi>x</mi><mn>0</mn></msub><mo>)</mo></mrow>") + "<mn>2</mn></msup></mrow>"),
               " with ", Math(f"w = {fnum(w):g}", f"<mrow><mi>w</mi><mo>=</mo><mn>{fnum(w):g}</mn></mrow>")]
        if K:
            out += [" and ", Math(f"K = {K}", f"<mrow><mi>K</mi><mo>=</mo><mn>{K}</mn></mrow>"), " outer iterations"]
        out.append(".")
        return out
    return []

