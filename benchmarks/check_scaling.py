"""How the cost of ``algodiscover check`` grows with the stages and with hard entries.

    python benchmarks/check_scaling.py            # one run of each case
    python benchmarks/check_scaling.py --rounds 3 # median of 3

Each case runs the real command line (``algodiscover check FILE --json``, start-up
included) in a subprocess and records wall time and peak memory; the baseline is a bare
``python -c "import numpy, sympy"`` measured in the same run. Targets (issues "Every
verdict of the checker is right" and "Hostile and careless input"):

* a random 20-stage float tableau <= 2 s, 50 stages <= 10 s;
* a 30-stage implicit and a 200-stage exact tableau answered quickly (no traceback);
* Gauss-Legendre 5 exact <= 5 s; an entry in a number field of degree > 10^7
  (``6*2**(191/271)*...``) <= 10 s;
* a float Prince-Dormand 8(7) with ``--max-order 12 --tol 1e-9``: the distillation
  gives up within its budget instead of searching for 36 s.

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

HIGH_DEGREE = "6*2**(191/271)*3**(213/271)*5**(95/542)*7**(151/271)/35"


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("algodiscover")
    if script.is_file():
        return [str(script)]
    found = shutil.which("algodiscover")
    return [found] if found else [sys.executable, "-m", "algodiscover"]


def _random_float(s: int, implicit: bool, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    A = rng.uniform(-1, 1, (s, s)) / s
    if not implicit:
        A = np.tril(A, -1)
    b = rng.uniform(0, 1, s)
    return {"name": f"random {s}-stage {'implicit' if implicit else 'explicit'} (float)", "A": A.tolist(), "b": (b / b.sum()).tolist()}


def _random_exact(s: int, implicit: bool, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    A = [[f"{rng.integers(-9, 10)}/{rng.integers(1, 10)}" if (implicit or j < i) else "0" for j in range(s)] for i in range(s)]
    b = [f"{rng.integers(1, 10)}/{rng.integers(1, 10)}" for _ in range(s)]
    b[-1] = str(Fraction(b[-1]) + 1 - sum(Fraction(x) for x in b))
    return {"name": f"random {s}-stage {'implicit' if implicit else 'explicit'} (exact)", "A": A, "b": b}


def _cases(tmp: Path) -> list[tuple[str, list[str], float | None]]:
    from algodiscover.analysis import get_method

    files = {
        "float 16 stages": _random_float(16, False, 1),
        "float 20 stages": _random_float(20, False, 2),
        "float 50 stages": _random_float(50, False, 3),
        "float 30 stages implicit": _random_float(30, True, 4),
        "float 200 stages": _random_float(200, False, 5),
        "exact 30 stages implicit": _random_exact(30, True, 6),
        "exact 200 stages": _random_exact(200, False, 7),
        "entry of degree > 10^7": {"name": "high degree", "A": [[0, 0], [HIGH_DEGREE, 0]],
                                   "b": [f"1 - 1/(2*({HIGH_DEGREE}))", f"1/(2*({HIGH_DEGREE}))"]},
    }
    pd8 = get_method("PrinceDormand8(7)").as_float()
    files["float PD8 --max-order 12 --tol 1e-9"] = {"A": pd8.A.tolist(), "b": pd8.b.tolist()}
    targets = {"float 20 stages": 2.0, "float 50 stages": 10.0, "entry of degree > 10^7": 10.0}
    out = []
    for label, data in files.items():
        p = tmp / (label.replace(" ", "_").replace(">", "gt").replace("^", "").replace("-", "") + ".json")
        p.write_text(json.dumps(data))
        extra = ["--max-order", "12", "--tol", "1e-9"] if "PD8" in label else []
        out.append((label, [str(p), "--json"] + extra, targets.get(label)))
    out.append(("GaussLegendre5 (exact, degree-8 field)", ["GaussLegendre5", "--json"], 5.0))
    out.append(("PD8 --max-order 12 (exact)", ["PD8", "--max-order", "12", "--json"], None))
    out.append(("PD8 --max-order 16 (376,464 trees)", ["PD8", "--max-order", "16", "--json"], None))
    out.append(("RK4 --tol 1e9", ["RK4", "--tol", "1e9", "--json"], None))
    return out


_WRAPPER = ("import resource, subprocess, sys, time\n"
            "t0 = time.perf_counter(); r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
            "dt = time.perf_counter() - t0\n"
            "sys.stderr.write(r.stderr.decode(errors='replace'))\n"
            "sys.stderr.write(f'\\n@@ {dt} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n'); sys.exit(r.returncode)")


def _run(cmd: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds and peak RSS (MB) of one child process (measured by a small wrapper, so
    that each figure is that command's own), its exit code and its last stderr line."""
    r = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines = r.stderr.decode(errors="replace").strip().splitlines()
    _, dt, rss = lines[-1].split()
    err = [ln for ln in lines[:-1] if ln.strip()]
    return float(dt), int(rss) / 1024.0, r.returncode, (err[-1] if err else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)
    cli = _cli()
    base_cmd = [sys.executable, "-c", "import numpy, sympy"]
    with tempfile.TemporaryDirectory() as d:
        cases = _cases(Path(d))
        base = statistics.median(_run(base_cmd)[0] for _ in range(max(3, args.rounds)))
        print(f"check scaling ({' '.join(cli)}; python {sys.version.split()[0]}); baseline "
              f"python -c 'import numpy, sympy': {base:.3f} s")
        print(f"{'case':<42} {'time':>8} {'x base':>7} {'peak MB':>8} {'exit':>5} {'target':>8}")
        for label, extra, target in cases:
            runs = [_run(cli + ["check"] + extra) for _ in range(args.rounds)]
            dt = statistics.median(r[0] for r in runs)
            mem = max(r[1] for r in runs)
            code = runs[-1][2]
            tgt = f"<= {target:g}s" if target else ""
            flag = "" if target is None or dt <= target else "   (over target)"
            print(f"{label:<42} {dt:>7.2f}s {dt / base:>7.1f} {mem:>8.0f} {code:>5} {tgt:>8}{flag}")
            if code != 0:
                print(f"    stderr: {runs[-1][3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
