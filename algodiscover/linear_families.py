"""Built-in linear-system families: matrices, right-hand sides, spectra, batched matvecs.

Every family draws batches of systems ``A_i x = rhs_i`` reproducibly from a seed, with the
right-hand sides from a stated :class:`RhsDistribution` (``[linear] rhs``): Gaussian vectors
scaled to unit norm by default (so ``x0 = 0`` starts every system at ``||r_0|| = 1``), a
uniform box ``b-bar + U[-w, w]^m``, or the rows of a file; and one initial guess ``x0`` for
every system (zero by default). Training and held-out systems come from the same
distribution (different random streams; the last rows of a file are the held-out ones).
Families:

``spd``         random SPD matrices ``Q diag(lambda) Q^T`` (Haar-random orthogonal Q), eigenvalues
                uniform in ``interval`` (default [1, 10]; by default every matrix also has
                both endpoints as eigenvalues), size ``size`` (default 20); one matrix per system
``fixed-spd``   one such matrix (drawn from ``matrix_seed``) with random right-hand sides
``poisson1d``   the 1D Laplacian ``tridiag(-1, 2, -1)`` of order ``size`` (default 32), Dirichlet
``poisson2d``   the 2D 5-point Laplacian (stencil 4, -1) on a ``size x size`` grid (default 16)
``convdiff2d``  ``-u_xx - u_yy + Pe (u_x + u_y)`` on the unit square, central differences on a
                ``size x size`` grid (default 16), scaled by the grid spacing squared; Peclet
                number ``peclet`` (default 10); nonsymmetric, real spectrum while the cell
                Peclet number ``Pe hgrid / 2`` is below 1
``matrix``      a user matrix from ``path`` (Matrix Market ``.mtx``/``.mtx.gz`` or ``.npz``: a
                scipy.sparse ``save_npz`` file or ``numpy.savez`` with key ``A``, optional ``rhs``
                of shape (m,) or (k, m) used as the held-out right-hand sides)

Matrices are float64: dense ``(B, m, m)`` tensors for ``spd`` (batched ``bmm``); one shared
matrix for the others, applied to the whole batch at once (dense torch matmul for small
dense matrices, otherwise scipy's CSR kernel wrapped as a differentiable torch function). Spectra are exact where known (given interval,
closed-form eigenvalues of the Poisson and convection-diffusion stencils), dense
eigenvalues for matrices up to ``DENSE_LIMIT`` rows, ARPACK extreme eigenvalues above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sps
import torch

from .analysis.spectrum import Spectrum

from .errors import InputError

__all__ = [
    "LinearFamily",
    "LinearProblems",
    "RhsDistribution",
    "rhs_distribution",
    "FAMILY_DESCRIPTIONS",
    "FAMILY_PARAMETERS",
    "make_family",
    "load_matrix",
    "poisson1d",
    "poisson2d",
    "convdiff2d",
    "random_spd",
    "DENSE_LIMIT",
]

Tensor = torch.Tensor
DENSE_LIMIT = 3000
_DENSE_BATCH_LIMIT = 2**28  # entries of the dense (B, m, m) batch: 2 GiB of float64
_DENSE_MATVEC_LIMIT = 2000  # shared matrices up to this order with >= 10 % nonzeros use dense torch matmul
_TRAIN, _HELDOUT = 0, 1

FAMILY_DESCRIPTIONS = {
    "spd": "random SPD matrices, eigenvalues uniform in an interval (default [1, 10], size 20), random orthogonal eigenvectors",
    "fixed-spd": "one fixed random SPD matrix (eigenvalues in an interval) with random right-hand sides",
    "poisson1d": "1D Poisson tridiag(-1, 2, -1), size N (default 32), random right-hand sides",
    "poisson2d": "2D Poisson 5-point stencil on an N x N grid (default 16), random right-hand sides",
    "convdiff2d": "2D convection-diffusion -Lap u + Pe (u_x + u_y), central differences, N x N grid (default 16), Peclet 10",
    "matrix": "a user matrix (Matrix Market .mtx or .npz, linear.path) with random right-hand sides",
}

# which [linear] keys each family reads (others are rejected with a clear message)
FAMILY_PARAMETERS: dict[str, tuple[str, ...]] = {
    "spd": ("size", "interval", "endpoints"),
    "fixed-spd": ("size", "interval", "endpoints", "matrix_seed"),
    "poisson1d": ("size",),
    "poisson2d": ("size",),
    "convdiff2d": ("size", "peclet"),
    "matrix": ("path",),
}
_DEFAULT_SIZE = {"spd": 20, "fixed-spd": 20, "poisson1d": 32, "poisson2d": 16, "convdiff2d": 16}


# ----------------------------------------------------------------------------- batches
@dataclass(frozen=True, eq=False)
class LinearProblems:
    """A batch of systems ``A_i x = rhs_i``: per-system dense ``matrices`` (B, m, m) or one
    ``shared`` matrix (scipy sparse CSR), ``rhs`` (B, m), and the initial guess ``x0`` (m,)
    of every system (None: zero)."""

    rhs: np.ndarray
    matrices: np.ndarray | None = None
    shared: sps.csr_matrix | None = None
    x0: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.matrices is None) == (self.shared is None):
            raise ValueError("give exactly one of matrices and shared")

    @property
    def count(self) -> int:
        return int(self.rhs.shape[0])

    @property
    def size(self) -> int:
        return int(self.rhs.shape[1])

    def matrix(self, i: int) -> np.ndarray | sps.csr_matrix:
        return self.shared if self.shared is not None else self.matrices[i]

    def systems(self) -> list[tuple[Any, np.ndarray]]:
        """``(A_i, rhs_i)`` pairs for numpy/scipy solvers."""
        return [(self.matrix(i), self.rhs[i]) for i in range(self.count)]

    def residual_systems(self) -> list[tuple[Any, np.ndarray]]:
        """``(A_i, rhs_i - A_i x0)``: solving these from zero is solving the systems from x0
        (every method here is translation invariant), with ``||r_0||`` the first residual."""
        if self.x0 is None:
            return self.systems()
        return [(self.matrix(i), self.rhs[i] - self.matrix(i) @ self.x0) for i in range(self.count)]

    def torch_x0(self) -> Tensor:
        """The initial guesses as a (B, m) float64 tensor."""
        if self.x0 is None:
            return torch.zeros(self.rhs.shape, dtype=torch.float64)
        return torch.from_numpy(np.ascontiguousarray(np.broadcast_to(self.x0, self.rhs.shape)))

    def torch_matvec(self) -> Callable[[Tensor], Tensor]:
        """``X -> (A_i X_i)_i`` for a batch ``X`` (B, m), float64, differentiable in X."""
        if self.matrices is not None:
            M = torch.from_numpy(np.ascontiguousarray(self.matrices))
            return lambda X: torch.bmm(M, X.unsqueeze(-1)).squeeze(-1)
        A = self.shared
        m = A.shape[0]
        if m <= _DENSE_MATVEC_LIMIT and A.nnz >= 0.1 * m * m:
            AT = torch.from_numpy(np.ascontiguousarray(A.toarray().T))
            return lambda X: X @ AT
        return _SparseMatmul.bind(A)

    def torch_rhs(self) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(self.rhs))

    def eigen(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (B, m) and squared components of each rhs in the eigenvector basis
        (B, m), for symmetric matrices: ``||q(A_i)^k rhs_i||^2 = sum_j q(lam_ij)^(2k) w_ij``."""
        lams, ws = [], []
        shared = None
        if self.shared is not None:
            dense = self.shared.toarray()
            if not np.allclose(dense, dense.T, atol=0, rtol=1e-13):
                raise InputError("eigen(): the matrix is not symmetric")
            shared = np.linalg.eigh(dense)
        for i in range(self.count):
            lam, U = shared if shared is not None else np.linalg.eigh(self.matrices[i])
            lams.append(lam)
            ws.append((U.T @ self.rhs[i]) ** 2)
        return np.array(lams), np.array(ws)


class _SparseMatmul(torch.autograd.Function):
    """``X -> (A X^T)^T`` for a constant scipy CSR matrix A: scipy's serial CSR kernel in
    the forward pass, ``A^T`` in the backward pass (several times faster than torch's
    sparse COO/CSR products on CPU for these shapes, and deterministic)."""

    @staticmethod
    def forward(ctx, X: Tensor, A: sps.csr_matrix, AT: sps.csr_matrix) -> Tensor:  # type: ignore[override]
        ctx.AT = AT
        Y = A @ np.ascontiguousarray(X.detach().numpy().T)
        return torch.from_numpy(np.ascontiguousarray(Y.T))

    @staticmethod
    def backward(ctx, G: Tensor):  # type: ignore[override]
        Y = ctx.AT @ np.ascontiguousarray(G.detach().numpy().T)
        return torch.from_numpy(np.ascontiguousarray(Y.T)), None, None

    @classmethod
    def bind(cls, A: sps.csr_matrix) -> Callable[[Tensor], Tensor]:
        A = sps.csr_matrix(A, dtype=np.float64)
        AT = A.T.tocsr()
        return lambda X: cls.apply(X, A, AT)


def _unit_rhs(rng: np.random.Generator, count: int, m: int) -> np.ndarray:
    X = rng.standard_normal((count, m))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


RHS_KINDS = ("unit", "box", "file")


@dataclass(frozen=True, eq=False)
class RhsDistribution:
    """Where the right-hand sides come from (``[linear] rhs``).

    ``"unit"``: Gaussian vectors scaled to unit norm. ``"box"``: ``mean + U[-halfwidth,
    halfwidth]^m`` componentwise. ``"file"``: the ``rows`` of a file in order, the last
    ``heldout_rows`` of them held out, the others the training set.
    """

    kind: str = "unit"
    mean: np.ndarray | None = None
    halfwidth: float = 1.0
    rows: np.ndarray | None = None
    heldout_rows: int = 0
    source: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in RHS_KINDS:
            raise InputError(f"linear.rhs must be one of {', '.join(RHS_KINDS)}, got {self.kind!r}")
        if self.kind == "file" and self.rows is None:
            raise InputError("linear.rhs = \"file\" needs the rows of linear.rhs_path")

    def draw(self, rng: np.random.Generator, count: int, m: int, stream: int) -> np.ndarray:
        """``count`` right-hand sides of length m (for ``"file"``: the stream's rows, whatever
        ``count``)."""
        if self.kind == "unit":
            return _unit_rhs(rng, count, m)
        if self.kind == "box":
            mean = np.zeros(m) if self.mean is None else self.mean
            return mean + rng.uniform(-self.halfwidth, self.halfwidth, size=(count, m))
        assert self.rows is not None
        k = self.rows.shape[0] - self.heldout_rows
        return np.array(self.rows[:k] if stream == _TRAIN else self.rows[k:])

    def count(self, requested: int, stream: int) -> int:
        """How many systems a draw gives: ``requested``, or the stream's rows of a file."""
        if self.kind != "file" or self.rows is None:
            return requested
        k = self.rows.shape[0] - self.heldout_rows
        return k if stream == _TRAIN else self.heldout_rows

    def description(self) -> str:
        if self.kind == "unit":
            return "random unit vectors (Gaussian, scaled to norm 1)"
        if self.kind == "box":
            mean = np.zeros(1) if self.mean is None else self.mean
            if np.all(mean == mean.flat[0]):
                mtext = f"{float(mean.flat[0]):g}" + (" in every component" if mean.size > 1 or self.mean is None else "")
            else:
                mtext = "[" + ", ".join(f"{v:g}" for v in mean[:6]) + (", ..." if mean.size > 6 else "") + "]"
            return f"b-bar + U[-{self.halfwidth:g}, {self.halfwidth:g}]^m, componentwise uniform, with b-bar = {mtext}"
        assert self.rows is not None
        k = self.rows.shape[0]
        return (f"the {k} rows of {Path(self.source or 'the file').name}: the first {k - self.heldout_rows} train, "
                f"the last {self.heldout_rows} are the held-out systems")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "description": self.description()}
        if self.kind == "box":
            out["mean"] = [0.0] if self.mean is None else [float(v) for v in self.mean]
            out["halfwidth"] = float(self.halfwidth)
        if self.kind == "file":
            out["path"] = self.source
            out["rows"] = int(self.rows.shape[0]) if self.rows is not None else 0
            out["heldout_rows"] = int(self.heldout_rows)
        return out


UNIT_RHS = RhsDistribution()


def rhs_distribution(kind: str, m: int, *, mean: Any = None, halfwidth: float | None = None, path: str | None = None,
                     heldout: int = 0) -> RhsDistribution:
    """The :class:`RhsDistribution` of the ``[linear]`` options for systems of order ``m``
    (the mean's length and the file's shape are checked here, where m is known)."""
    if kind == "unit":
        return UNIT_RHS
    if kind == "box":
        mu = None
        if mean is not None:
            arr = np.atleast_1d(np.asarray(mean, dtype=np.float64))
            if arr.size == 1:
                arr = np.full(m, float(arr[0]))
            if arr.shape != (m,):
                raise InputError(f"linear.rhs_mean has {arr.size} entries but the systems have m = {m} unknowns")
            mu = arr
        return RhsDistribution("box", mu, 1.0 if halfwidth is None else float(halfwidth))
    if kind == "file":
        if path is None:
            raise InputError("linear.rhs = \"file\" needs linear.rhs_path")
        rows = _read_rhs_file(Path(path), m)
        if rows.shape[0] <= heldout:
            raise InputError(f"linear.rhs_path {path}: {rows.shape[0]} right-hand sides, but linear.heldout = {heldout} are held out "
                             "and at least one must remain for training; reduce linear.heldout or add rows")
        return RhsDistribution("file", rows=rows, heldout_rows=int(heldout), source=str(path))
    raise InputError(f"linear.rhs must be one of {', '.join(RHS_KINDS)}, got {kind!r}")


def _read_rhs_file(p: Path, m: int) -> np.ndarray:
    where = f"linear.rhs_path {p}"
    if not p.exists():
        raise InputError(f"{where}: no such file")
    try:
        if p.name.lower().endswith(".npy"):
            arr = np.load(p, allow_pickle=False)
        elif p.name.lower().endswith(".npz"):
            with np.load(p, allow_pickle=False) as z:
                if "rhs" not in z.files:
                    raise InputError(f"{where}: an .npz needs key 'rhs'; found {', '.join(sorted(z.files)) or 'no arrays'}")
                arr = np.array(z["rhs"])
        else:
            raise InputError(f"{where}: unsupported file type (expected .npy or .npz)")
    except InputError:
        raise
    except Exception as exc:  # numpy raises many types for malformed files
        raise InputError(f"{where}: cannot read the array ({exc.__class__.__name__})") from None
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"{where}: expected a real numeric array, got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != m:
        raise InputError(f"{where}: expected an array of shape (k, {m}) (one right-hand side per row), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{where}: the array has a non-finite entry (NaN or inf)")
    return arr


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream)]))


def random_spd(rng: np.random.Generator, count: int, m: int, lo: float, hi: float, endpoints: bool = True) -> np.ndarray:
    """``count`` SPD matrices ``Q diag(lam) Q^T``: Q Haar-random orthogonal, eigenvalues
    uniform in ``[lo, hi]`` (the first two set to ``lo`` and ``hi`` when ``endpoints``)."""
    G = rng.standard_normal((count, m, m))
    Q, R = np.linalg.qr(G)
    Q = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]
    lam = rng.uniform(lo, hi, size=(count, m))
    if endpoints and m >= 2:
        lam[:, 0], lam[:, 1] = lo, hi
    A = np.einsum("bij,bj,bkj->bik", Q, lam, Q)
    return 0.5 * (A + np.transpose(A, (0, 2, 1)))


# ----------------------------------------------------------------------------- stencils
def poisson1d(n: int) -> sps.csr_matrix:
    """``tridiag(-1, 2, -1)`` of order n (eigenvalues ``2 - 2 cos(k pi / (n + 1))``)."""
    e = np.ones(n)
    return sps.diags([-e[:-1], 2 * e, -e[:-1]], [-1, 0, 1], format="csr")


def poisson2d(n: int) -> sps.csr_matrix:
    """5-point Laplacian (4 on the diagonal, -1 to the neighbours) on an n x n grid."""
    T = poisson1d(n)
    eye = sps.identity(n, format="csr")
    return (sps.kron(eye, T) + sps.kron(T, eye)).tocsr()


def convdiff2d(n: int, peclet: float) -> sps.csr_matrix:
    """``-u_xx - u_yy + Pe (u_x + u_y)`` on the unit square with homogeneous Dirichlet
    conditions, central differences on an n x n interior grid, times ``hgrid^2``."""
    hg = 1.0 / (n + 1)
    g = peclet * hg / 2.0
    e = np.ones(n)
    T = sps.diags([(-1.0 - g) * e[:-1], 2 * e, (-1.0 + g) * e[:-1]], [-1, 0, 1], format="csr")
    eye = sps.identity(n, format="csr")
    return (sps.kron(eye, T) + sps.kron(T, eye)).tocsr()


def _convdiff_eigenvalues(n: int, peclet: float) -> np.ndarray:
    g = peclet / (n + 1) / 2.0
    s = np.sqrt(complex(1.0 - g * g))
    c = np.cos(np.arange(1, n + 1) * np.pi / (n + 1))
    lam1 = 2.0 - 2.0 * s * c
    ev = (lam1[:, None] + lam1[None, :]).ravel()
    return ev.real.copy() if abs(s.imag) == 0.0 else ev


# ----------------------------------------------------------------------------- families
@dataclass(frozen=True, eq=False)
class LinearFamily:
    """A family of linear systems of order ``size``.

    ``symmetric`` / ``positive_definite`` (symmetric positive definite: CG applies);
    ``spectrum`` where the eigenvalues lie; ``parameters`` the ``[linear]`` values used;
    either ``sampler(rng, count)`` giving per-system dense matrices, or one shared
    ``matrix``; ``heldout_rhs`` the user's own right-hand sides (compared first).
    """

    name: str
    description: str
    size: int
    symmetric: bool
    positive_definite: bool
    spectrum: Spectrum
    parameters: dict[str, Any]
    matrix: sps.csr_matrix | None = None
    sampler: Callable[[np.random.Generator, int], np.ndarray] | None = None
    heldout_rhs: np.ndarray | None = field(default=None)
    rhs: RhsDistribution = UNIT_RHS
    x0: np.ndarray | None = None

    def with_distribution(self, rhs: RhsDistribution, x0: Any = None) -> "LinearFamily":
        """The same family with right-hand sides from ``rhs`` and initial guess ``x0``
        (None or ``"zero"``: zero; else m numbers)."""
        guess = None
        if x0 is not None and not (isinstance(x0, str) and x0 == "zero"):
            guess = np.asarray(x0, dtype=np.float64).reshape(-1)
            if guess.shape != (self.size,):
                raise InputError(f"linear.x0 has {guess.size} entries but the systems have m = {self.size} unknowns")
            if not np.any(guess):
                guess = None
        return replace(self, rhs=rhs, x0=guess)

    def sample(self, count: int, seed: int, stream: int = _TRAIN) -> LinearProblems:
        """``count`` systems drawn reproducibly from ``(seed, stream)`` (for right-hand sides
        from a file: the stream's rows)."""
        if not isinstance(count, int) or count < 1:
            raise InputError(f"linear.samples must be an integer >= 1, got {count!r}")
        rng = _rng(seed, stream)
        count = self.rhs.count(count, stream)
        if self.sampler is not None:
            if count * self.size * self.size > _DENSE_BATCH_LIMIT:
                raise InputError(f"linear.samples = {count} dense {self.size} x {self.size} matrices need "
                                 f"{count * self.size**2 * 8 / 2**30:.1f} GiB; reduce linear.samples or linear.size")
            mats = self.sampler(rng, count)
            return LinearProblems(rhs=self.rhs.draw(rng, count, self.size, stream), matrices=mats, x0=self.x0)
        return LinearProblems(rhs=self.rhs.draw(rng, count, self.size, stream), shared=self.matrix, x0=self.x0)

    def heldout(self, count: int, seed: int) -> LinearProblems:
        """Held-out systems (a different random stream, or the last rows of a right-hand-side
        file; the matrix file's own right-hand sides first when it has them, scaled to unit
        norm for unit right-hand sides)."""
        probs = self.sample(count, seed, stream=_HELDOUT)
        if self.heldout_rhs is None or self.rhs.kind == "file":
            return probs
        user = self.heldout_rhs
        if self.rhs.kind == "unit":
            user = user / np.linalg.norm(user, axis=1, keepdims=True)
        rhs = np.vstack([user, probs.rhs])[:count]
        return LinearProblems(rhs=rhs, shared=self.matrix, x0=self.x0)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "size": self.size, "symmetric": self.symmetric,
                "positive_definite": self.positive_definite, "parameters": dict(self.parameters),
                "spectrum": self.spectrum.to_json(), "rhs": self.rhs.to_json(),
                "x0": "zero" if self.x0 is None else [float(v) for v in self.x0]}


def _check_size(size: Any, name: str, minimum: int = 2, maximum: int = 100_000) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or not minimum <= size <= maximum:
        raise InputError(f"linear.size must be an integer in {minimum}..{maximum} for family {name!r}, got {size!r}")
    return size


def _check_interval(interval: Any) -> tuple[float, float]:
    if (not isinstance(interval, (list, tuple)) or len(interval) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in interval)):
        raise InputError(f"linear.interval must be [low, high], got {interval!r}")
    lo, hi = float(interval[0]), float(interval[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or not 0 < lo < hi:
        raise InputError(f"linear.interval must satisfy 0 < low < high (an SPD spectrum), got {interval!r}")
    return lo, hi


def make_family(name: str, *, size: int | None = None, interval: Sequence[float] | None = None, endpoints: bool = True,
                peclet: float | None = None, path: str | None = None, matrix_seed: int = 0) -> LinearFamily:
    """Build a family from its name and the ``[linear]`` parameters that apply to it."""
    if name not in FAMILY_DESCRIPTIONS:
        raise InputError(f"unknown linear family {name!r}; known: {', '.join(FAMILY_DESCRIPTIONS)}")
    if name in ("spd", "fixed-spd"):
        m = _check_size(_DEFAULT_SIZE[name] if size is None else size, name, maximum=2000)
        lo, hi = _check_interval([1.0, 10.0] if interval is None else interval)
        if not isinstance(endpoints, bool):
            raise InputError(f"linear.endpoints must be true or false, got {endpoints!r}")
        params = {"size": m, "interval": [lo, hi], "endpoints": endpoints}
        ends = " (both endpoints in every matrix)" if endpoints else ""
        if name == "spd":
            spec = Spectrum((lo, hi), f"given by the family: eigenvalues uniform in [{lo:g}, {hi:g}]{ends}", None, exact_interval=True)
            return LinearFamily(name, f"random {m}x{m} SPD matrices, eigenvalues uniform in [{lo:g}, {hi:g}]{ends}", m, True, True,
                                spec, params, sampler=lambda rng, count: random_spd(rng, count, m, lo, hi, endpoints))
        if not isinstance(matrix_seed, int) or isinstance(matrix_seed, bool) or matrix_seed < 0:
            raise InputError(f"linear.matrix_seed must be an integer >= 0, got {matrix_seed!r}")
        A = random_spd(_rng(matrix_seed, 7), 1, m, lo, hi, endpoints)[0]
        ev = np.linalg.eigvalsh(A)
        spec = Spectrum((float(ev[0]), float(ev[-1])), f"dense eigenvalues of the fixed matrix (drawn in [{lo:g}, {hi:g}])", ev)
        params["matrix_seed"] = matrix_seed
        return LinearFamily(name, f"one fixed {m}x{m} SPD matrix (seed {matrix_seed}), eigenvalues in [{lo:g}, {hi:g}], random right-hand sides",
                            m, True, True, spec, params, matrix=sps.csr_matrix(A))
    if name == "poisson1d":
        n = _check_size(_DEFAULT_SIZE[name] if size is None else size, name)
        ev = np.sort(2.0 - 2.0 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1)))
        spec = Spectrum((float(ev[0]), float(ev[-1])), "closed form 2 - 2 cos(k pi/(N+1))", ev)
        return LinearFamily(name, f"1D Poisson tridiag(-1, 2, -1), N = {n}", n, True, True, spec, {"size": n}, matrix=poisson1d(n))
    if name == "poisson2d":
        n = _check_size(_DEFAULT_SIZE[name] if size is None else size, name, maximum=2048)
        e1 = 2.0 - 2.0 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1))
        ev = np.sort((e1[:, None] + e1[None, :]).ravel())
        spec = Spectrum((float(ev[0]), float(ev[-1])), "closed form (2 - 2 cos(j pi/(N+1))) + (2 - 2 cos(k pi/(N+1)))", ev)
        return LinearFamily(name, f"2D Poisson 5-point stencil, {n} x {n} grid (m = {n * n})", n * n, True, True, spec, {"size": n},
                            matrix=poisson2d(n))
    if name == "convdiff2d":
        n = _check_size(_DEFAULT_SIZE[name] if size is None else size, name, maximum=2048)
        pe = 10.0 if peclet is None else peclet
        if not isinstance(pe, (int, float)) or isinstance(pe, bool) or not math.isfinite(pe) or pe < 0:
            raise InputError(f"linear.peclet must be a finite number >= 0, got {peclet!r}")
        pe = float(pe)
        ev = _convdiff_eigenvalues(n, pe)
        re = np.real(ev)
        cell = pe / (n + 1) / 2.0
        spec = Spectrum((float(re.min()), float(re.max())),
                        f"closed form of the Kronecker-sum tridiagonal Toeplitz stencil (cell Peclet {cell:.3g}"
                        + ("; complex eigenvalues)" if cell > 1 else "; real eigenvalues)"), ev)
        return LinearFamily(name, f"2D convection-diffusion -Lap u + {pe:g} (u_x + u_y), {n} x {n} grid (m = {n * n}), cell Peclet {cell:.3g}",
                            n * n, pe == 0.0, pe == 0.0, spec, {"size": n, "peclet": pe}, matrix=convdiff2d(n, pe))
    # user matrix
    if path is None:
        raise InputError("family 'matrix' needs linear.path (a Matrix Market .mtx or .npz file)")
    A, rhs = load_matrix(path)
    spec, sym, spd = _matrix_spectrum(A, str(path))
    return LinearFamily("matrix", f"user matrix {Path(path).name} ({A.shape[0]} x {A.shape[0]}, {A.nnz} nonzeros)", A.shape[0], sym, spd,
                        spec, {"path": str(path)}, matrix=A, heldout_rhs=rhs)


# ----------------------------------------------------------------------------- user matrices
def load_matrix(path: str | Path) -> tuple[sps.csr_matrix, np.ndarray | None]:
    """Read and validate a user matrix: square, finite, not singular-looking; optional
    right-hand sides (``rhs`` in an ``.npz``) must match its order. Errors are one-line
    :class:`InputError` messages naming the file."""
    p = Path(path)
    where = f"linear.path {p}"
    if not p.exists():
        raise InputError(f"{where}: no such file")
    name = p.name.lower()
    rhs = None
    try:
        if name.endswith(".mtx") or name.endswith(".mtx.gz"):
            import scipy.io

            M = scipy.io.mmread(str(p))
        elif name.endswith(".npz"):
            M, rhs = _read_npz(p, where)
        else:
            raise InputError(f"{where}: unsupported file type (expected .mtx, .mtx.gz or .npz)")
    except InputError:
        raise
    except Exception as exc:  # scipy/numpy raise many types for malformed files
        raise InputError(f"{where}: cannot read the matrix ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else 'malformed'})") from None
    if np.iscomplexobj(M.data if sps.issparse(M) else M):
        raise InputError(f"{where}: complex matrices are not supported (real float64 only)")
    if sps.issparse(M):
        A = sps.csr_matrix(M, dtype=np.float64)
    else:
        D = np.asarray(M, dtype=np.float64)
        if D.ndim != 2:
            raise InputError(f"{where}: expected a 2-D matrix, got an array of shape {D.shape}")
        A = sps.csr_matrix(D)
        if not np.all(np.isfinite(D)):
            bad = np.argwhere(~np.isfinite(D))[0]
            raise InputError(f"{where}: the matrix has a non-finite entry (NaN or inf) at row {bad[0]}, column {bad[1]} (0-based)")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise InputError(f"{where}: the matrix is {A.shape[0]} x {A.shape[1]}, not square")
    if A.shape[0] < 2:
        raise InputError(f"{where}: the matrix must be at least 2 x 2")
    if not np.all(np.isfinite(A.data)):
        coo = A.tocoo()
        k = int(np.argmax(~np.isfinite(coo.data)))
        raise InputError(f"{where}: the matrix has a non-finite entry (NaN or inf) at row {coo.row[k]}, column {coo.col[k]} (0-based)")
    A.eliminate_zeros()
    _check_nonsingular(A, where)
    if rhs is not None:
        shape = tuple(np.shape(rhs))
        rhs = np.asarray(rhs, dtype=np.float64)
        if rhs.ndim == 1:
            rhs = rhs[None, :]
        if rhs.ndim != 2 or rhs.shape[1] != A.shape[0]:
            raise InputError(f"{where}: rhs has shape {shape} but the matrix is {A.shape[0]} x {A.shape[0]} "
                             f"(expected ({A.shape[0]},) or (k, {A.shape[0]}))")
        if not np.all(np.isfinite(rhs)):
            raise InputError(f"{where}: rhs has a non-finite entry (NaN or inf)")
        if np.any(np.linalg.norm(rhs, axis=1) == 0):
            raise InputError(f"{where}: rhs has a zero right-hand side")
    return A, rhs


def _read_npz(p: Path, where: str) -> tuple[Any, np.ndarray | None]:
    with np.load(p, allow_pickle=False) as z:
        keys = set(z.files)
        if {"data", "indices", "indptr", "shape", "format"} <= keys or {"row", "col", "data", "shape", "format"} <= keys:
            return sps.load_npz(p), None
        if "A" not in keys:
            raise InputError(f"{where}: an .npz needs key 'A' (dense matrix) or a scipy.sparse.save_npz layout; found {', '.join(sorted(keys)) or 'no arrays'}")
        extra = sorted(keys - {"A", "rhs"})
        if extra:
            raise InputError(f"{where}: unknown array {extra[0]!r} in the .npz (allowed: A, rhs)")
        return np.array(z["A"]), (np.array(z["rhs"]) if "rhs" in keys else None)


def _check_nonsingular(A: sps.csr_matrix, where: str) -> None:
    m = A.shape[0]
    rows = np.diff(A.indptr)
    if np.any(rows == 0):
        raise InputError(f"{where}: the matrix looks singular (row {int(np.argmax(rows == 0))} is zero)")
    cols = np.bincount(A.indices, minlength=m)
    if np.any(cols == 0):
        raise InputError(f"{where}: the matrix looks singular (column {int(np.argmax(cols == 0))} is zero)")
    if m <= DENSE_LIMIT:
        s = np.linalg.svd(A.toarray(), compute_uv=False)
        if s[-1] <= 1e-13 * s[0]:
            raise InputError(f"{where}: the matrix looks singular (condition number {s[0] / max(s[-1], 1e-300):.3g} > 1e13)")
        return
    from scipy.sparse.linalg import splu

    try:
        lu = splu(A.tocsc())
    except RuntimeError as exc:
        raise InputError(f"{where}: the matrix looks singular (sparse LU: {exc})") from None
    d = np.abs(lu.U.diagonal())
    if d.min() <= 1e-13 * d.max():
        raise InputError(f"{where}: the matrix looks singular (sparse LU pivot ratio {d.min() / d.max():.3g})")


def _matrix_spectrum(A: sps.csr_matrix, where: str) -> tuple[Spectrum, bool, bool]:
    m = A.shape[0]
    diff = abs(A - A.T)
    sym = diff.nnz == 0 or float(diff.max()) <= 1e-14 * float(abs(A).max())
    if m <= DENSE_LIMIT:
        D = A.toarray()
        ev = np.linalg.eigvalsh(0.5 * (D + D.T)) if sym else np.linalg.eigvals(D)
        re = np.real(ev)
        spec = Spectrum((float(re.min()), float(re.max())), "dense eigenvalues of the matrix", ev)
    else:
        from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigs, eigsh

        try:
            if sym:
                hi = float(eigsh(A, k=1, which="LA", return_eigenvectors=False, tol=1e-8)[0])
                lo = float(eigsh(A.tocsc(), k=1, sigma=0.0, which="LM", return_eigenvectors=False, tol=1e-8)[0])
            else:
                big = eigs(A, k=3, which="LR", return_eigenvectors=False, tol=1e-8)
                small = eigs(A.tocsc(), k=3, sigma=0.0, which="LM", return_eigenvectors=False, tol=1e-8)
                hi, lo = float(np.max(big.real)), float(np.min(small.real))
        except (ArpackError, ArpackNoConvergence, RuntimeError) as exc:
            raise InputError(f"{where}: could not estimate the extreme eigenvalues ({exc.__class__.__name__})") from None
        density = None
        note = ""
        if sym:
            from .analysis.spectrum import lanczos_density

            density = lanczos_density(lambda v: A @ v, m, steps=40, probes=4)[0]
            note = "; spectral density: stochastic Lanczos quadrature, 4 probes x 40 steps (an estimate)"
        spec = Spectrum((min(lo, hi), max(lo, hi)), "ARPACK extreme eigenvalues (estimate of the real-part hull)" + note, None,
                        exact_interval=False, density=density)
    spd = sym and spec.interval[0] > 0
    return spec, sym, spd
