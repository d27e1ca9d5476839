"""Start-up time of the command line against a bare interpreter, measured side by side.

    python benchmarks/startup.py              # 7 rounds, median of each
    python benchmarks/startup.py --rounds 15

Each round runs every command once, in turn, so that machine load affects all alike; the
table shows the median wall time, the baseline and the ratio with its target
(issue "A package that installs, starts and passes its tests on any machine"):

* ``algodiscover --help`` and ``--version``  <= 2 x  ``python -c "import numpy"``
* ``algodiscover check RK4 --json``           <= 1.5 x ``python -c "import numpy, sympy"``
* ``algodiscover check PD8 --max-order 12``   <= 2 x  ``python -c "import numpy, sympy"``

The ``algodiscover`` console script next to the running interpreter is used when present
(that is what a user runs), else ``python -m algodiscover``. Timings are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("algodiscover")
    if script.is_file():
        return [str(script)]
    found = shutil.which("algodiscover")
    if found and Path(found).read_bytes()[:2] == b"#!" and b"python" in Path(found).read_bytes()[:200]:
        return [found]
    return [sys.executable, "-m", "algodiscover"]


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    return dt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    py = sys.executable
    cli = _cli()
    baselines = {"python -c 'import numpy'": [py, "-c", "import numpy"],
                 "python -c 'import numpy, sympy'": [py, "-c", "import numpy, sympy"]}
    commands = [("algodiscover --help", ["--help"], "python -c 'import numpy'", 2.0),
                ("algodiscover --version", ["--version"], "python -c 'import numpy'", 2.0),
                ("algodiscover check RK4 --json", ["check", "RK4", "--json"], "python -c 'import numpy, sympy'", 1.5),
                ("algodiscover check PD8 --max-order 12", ["check", "PD8", "--max-order", "12"], "python -c 'import numpy, sympy'", 2.0)]
    for _, cmd in baselines.items():  # warm the file cache
        _time(cmd)
    for _, extra, _, _ in commands:
        _time(cli + extra)
    times: dict[str, list[float]] = {k: [] for k in list(baselines) + [c[0] for c in commands]}
    for _ in range(args.rounds):
        for k, cmd in baselines.items():
            times[k].append(_time(cmd))
        for name, extra, _, _ in commands:
            times[name].append(_time(cli + extra))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"start-up, median of {args.rounds} rounds ({' '.join(cli)}; {sys.version.split()[0]})")
    print(f"{'command':<40} {'time':>8} {'baseline':>9} {'ratio':>6} {'target':>7}")
    for k in baselines:
        print(f"{k:<40} {med[k]:>7.3f}s")
    for name, _, base, target in commands:
        ratio = med[name] / med[base]
        print(f"{name:<40} {med[name]:>7.3f}s {med[base]:>8.3f}s {ratio:>6.2f} {'<= ' + format(target, 'g'):>7}"
              + ("" if ratio <= target else "   (over target)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
