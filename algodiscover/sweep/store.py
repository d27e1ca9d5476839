"""The sweep's SQLite store, its atomic claims, and the one-sweep-per-directory lock.

Holds :class:`SweepStore` (``DIR/sweep.db``: one row per configuration keyed by its config
hash, status ``pending|running|done|diverged|failed``, metrics and timings; rows move
``pending -> running`` by an atomic claim and back on release or reset), the
``BEGIN IMMEDIATE`` transaction helper, the strict-JSON helpers for metrics, and
:class:`_DirLock` (an advisory ``flock`` on ``DIR/.lock``). Imports only the standard library,
``algodiscover.errors`` and, for type names only, ``.spec``.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import InputError

if TYPE_CHECKING:
    from .spec import SweepRun

__all__ = ["SweepStore", "STATUSES", "DB_NAME"]

STATUSES = ("pending", "running", "done", "diverged", "failed")
DB_NAME = "sweep.db"
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    config_hash   TEXT PRIMARY KEY,
    run_id        TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    config        TEXT NOT NULL,
    assignment    TEXT NOT NULL,
    group_key     TEXT,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','done','diverged','failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    owner         TEXT,
    run_dir       TEXT,
    message       TEXT,
    metrics       TEXT,
    final_loss    REAL,
    error         REAL,
    error_metric  TEXT,
    cost          REAL,
    cost_unit     TEXT,
    exact_order   INTEGER,
    personalised_order INTEGER,
    measured_order REAL,
    best_classical_ratio REAL,
    backend       TEXT,
    host          TEXT,
    ensemble_size INTEGER,
    created_at    REAL NOT NULL,
    claimed_at    REAL,
    finished_at   REAL,
    train_s       REAL,
    analyze_s     REAL,
    report_s      REAL,
    wall_s        REAL
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, idx);
"""

_METRIC_COLUMNS = ("final_loss", "error", "error_metric", "cost", "cost_unit", "exact_order", "personalised_order",
                   "measured_order", "best_classical_ratio")


class SweepStore:
    """The sweep's SQLite database (WAL mode; every change is one short transaction)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: not a usable sweep database ({exc})") from None
        ver = self.get_meta("schema_version")
        if ver is None:
            self.set_meta("schema_version", str(_SCHEMA_VERSION))
        elif ver != str(_SCHEMA_VERSION):
            raise InputError(f"{self.path}: sweep database schema {ver}, this version reads {_SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM runs WHERE status = ?", (status,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for row in self.db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"):
            out[row[0]] = row[1]
        return out

    def add(self, runs: Sequence[SweepRun]) -> int:
        """Insert the runs not yet in the database (as ``pending``); returns how many."""
        now = time.time()
        with _transaction(self.db):
            before = self.count()
            self.db.executemany(
                "INSERT OR IGNORE INTO runs (config_hash, run_id, idx, config, assignment, group_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.hash, r.run_id, r.index, json.dumps(r.config.to_json(), sort_keys=True), json.dumps(r.assignment), r.group, now) for r in runs])
            return self.count() - before

    def reset(self, from_status: str) -> int:
        """Turn every ``from_status`` row back to ``pending``; returns how many."""
        with _transaction(self.db):
            cur = self.db.execute("UPDATE runs SET status = 'pending', owner = NULL WHERE status = ?", (from_status,))
            return cur.rowcount

    def claim(self, hashes: Sequence[str], owner: str) -> list[str]:
        """Atomically move the given rows from ``pending`` to ``running`` for ``owner``;
        returns the hashes actually claimed (others were taken or finished meanwhile)."""
        now = time.time()
        got = []
        with _transaction(self.db):
            for h in hashes:
                cur = self.db.execute(
                    "UPDATE runs SET status = 'running', owner = ?, claimed_at = ?, attempts = attempts + 1 WHERE config_hash = ? AND status = 'pending'",
                    (owner, now, h))
                if cur.rowcount == 1:
                    got.append(h)
        return got

    def release(self, hashes: Sequence[str], owner: str) -> None:
        """Give claimed rows back (``running`` -> ``pending``), e.g. on interruption."""
        with _transaction(self.db):
            self.db.executemany("UPDATE runs SET status = 'pending', owner = NULL WHERE config_hash = ? AND status = 'running' AND owner = ?",
                                [(h, owner) for h in hashes])

    def finish(self, h: str, owner: str, result: Mapping[str, Any], run_dir: str | None, backend: str) -> None:
        m = result.get("metrics") or {}
        with _transaction(self.db):
            self.db.execute(
                "UPDATE runs SET status = ?, owner = NULL, run_dir = ?, message = ?, metrics = ?, "
                + ", ".join(f"{c} = ?" for c in _METRIC_COLUMNS)
                + ", backend = ?, host = ?, ensemble_size = ?, finished_at = ?, train_s = ?, analyze_s = ?, report_s = ?, wall_s = ? "
                "WHERE config_hash = ? AND status = 'running' AND owner = ?",
                (result["status"], run_dir, result.get("message"), json.dumps(_finite(m), allow_nan=False, default=_json_safe) if m else None,
                 *[_sql_value(m.get(c)) for c in _METRIC_COLUMNS],
                 backend, result.get("host"), result.get("ensemble_size"), time.time(), result.get("train_s"), result.get("analyze_s"),
                 result.get("report_s"), result.get("wall_s"), h, owner))

    def pending(self, hashes: set[str] | None = None) -> list[sqlite3.Row]:
        rows = self.db.execute("SELECT config_hash, run_id, config, group_key FROM runs WHERE status = 'pending' ORDER BY idx").fetchall()
        return [r for r in rows if hashes is None or r["config_hash"] in hashes]

    def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM runs ORDER BY idx")]


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _sql_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _json_safe(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (at any depth) replaced by None (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class _DirLock:
    """An advisory ``flock`` on DIR/.lock: one sweep process per directory."""

    def __init__(self, out_dir: Path) -> None:
        import fcntl

        self.path = out_dir / ".lock"
        self.fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.seek(0)
            holder = self.fh.read().strip() or "another process"
            self.fh.close()
            raise InputError(f"{out_dir}: another sweep ({holder}) is using this directory") from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        self.fh.flush()

    def release(self) -> None:
        import fcntl

        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
        finally:
            self.fh.close()
