"""k3s's default datastore: SQLite through kine, measured on the same PATH.

A single-server k3s does not run etcd: it stores the cluster in SQLite
through kine (k3s-io/kine), and it too fails on slow storage (k3s issue
#1850: the server crash-loops on a slow SD card). ``measure_kine(path)``
writes the way kine writes, with kine's own SQLite settings, through
Python's :mod:`sqlite3` (the same SQLite library), and times every commit.

kine's settings (read from its source)
======================================
* k3s-io/kine ``pkg/drivers/sqlite/sqlite.go`` (``NewVariant``, line 58),
  the DSN used when none is given::

      ./db/state.db?_journal=WAL&cache=shared&_busy_timeout=30000&_txlock=immediate

  i.e. ``PRAGMA journal_mode=WAL``, ``PRAGMA busy_timeout=30000`` and
  ``BEGIN IMMEDIATE`` for explicit transactions (``_txlock=immediate``).
* ``synchronous``: the DSN leaves it to the driver. mattn/go-sqlite3
  (``sqlite3.go``: ``synchronousMode := "NORMAL"``) applies ``NORMAL``; kine's
  cgo-free variant spells the same out (``pkg/drivers/sqlite/
  sqlite_nocgo_test.go``: ``_pragma=synchronous(NORMAL)``). In WAL mode with
  ``NORMAL`` a commit appends to the WAL without syncing it; the WAL is
  synced at each checkpoint, which SQLite runs automatically once the WAL
  holds ``wal_autocheckpoint`` = 1000 pages (the default; neither kine nor
  the driver changes it), inside the commit that crosses it
  (https://www.sqlite.org/pragma.html#pragma_synchronous,
  https://www.sqlite.org/wal.html#automatic_checkpoint). So most commits
  cost no fdatasync and every few hundredth costs a checkpoint: the tail.
* Schema (``getSchema`` in sqlite.go): table ``kine`` (id INTEGER PRIMARY KEY
  AUTOINCREMENT, name, created, deleted, create_revision, prev_revision,
  lease, value BLOB, old_value BLOB) with five indexes, created here the same.
* A write (``pkg/drivers/generic/generic.go`` ``InsertLastInsertIDSQL``,
  used because the SQLite driver sets ``dialect.LastInsertID = true``) is one
  ``INSERT INTO kine(name, created, deleted, create_revision, prev_revision,
  lease, value, old_value) values(?, ?, ?, ?, ?, ?, ?, ?)`` outside an
  explicit transaction (SQLite autocommit): an update stores the new value
  and the old one.

What we do
==========
In a fresh ``rcarkit-etcd-bench-*`` directory under PATH (the same checks,
clean-up and signal handling as :mod:`rcarkit.etcd.bench`) we create
``state.db`` with those pragmas and that schema, then insert rows for a
rotating set of ``KEYS`` keys (an update of each: ``value`` and
``old_value`` of ``value_bytes`` each, default 2300 like etcd's fio block)
and time each autocommit INSERT with :func:`time.perf_counter_ns`, driven by
:func:`rcarkit.etcd.bench.sample_until` (same minimum time, batch-means
interval and stop reasons).

Limit
=====
kine publishes no latency target. A kine write is one database commit, the
counterpart of etcd's backend (bbolt) commit, so we apply etcd's FAQ limit
for that: ``backend_commit_duration_seconds`` "p99 duration should be less
than 25ms" (``KINE_COMMIT_P99_MAX_S``), and a commit of 1 s or more fails it
(the API server's requests queue behind it).
"""

import os
import sqlite3
import time
from dataclasses import dataclass, field
from typing import List, Optional

from rcarkit.errors import RcarkitError
from rcarkit.etcd.bench import (DEFAULT_MAX_TIME, DEFAULT_MIN_TIME, bench_tempdir, check_target,
                                sample_until, STOP_REASONS)
from rcarkit.etcd.stats import AdaptiveStop, FsyncStats

__all__ = ["KineMeasurement", "measure_kine", "KINE_DSN", "KINE_PRAGMAS",
           "KINE_COMMIT_P99_MAX_S", "kine_fits"]

# k3s-io/kine pkg/drivers/sqlite/sqlite.go (NewVariant): the default DSN
KINE_DSN = "./db/state.db?_journal=WAL&cache=shared&_busy_timeout=30000&_txlock=immediate"
# what that DSN and the go-sqlite3 driver's default (synchronous NORMAL) apply
KINE_PRAGMAS = (
    ("journal_mode", "WAL"),     # _journal=WAL
    ("synchronous", "NORMAL"),   # mattn/go-sqlite3 default; kine nocgo: synchronous(NORMAL)
    ("busy_timeout", "30000"),   # _busy_timeout=30000
)
# kine sqlite.go getSchema (table name "kine")
KINE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS "kine" (
        id INTEGER PRIMARY KEY AUTOINCREMENT, name INTEGER, created INTEGER,
        deleted INTEGER, create_revision INTEGER, prev_revision INTEGER,
        lease INTEGER, value BLOB, old_value BLOB)""",
    'CREATE INDEX IF NOT EXISTS "kine_name_index" ON "kine" (name)',
    'CREATE INDEX IF NOT EXISTS "kine_name_id_index" ON "kine" (name,id)',
    'CREATE INDEX IF NOT EXISTS "kine_id_deleted_index" ON "kine" (id,deleted)',
    'CREATE INDEX IF NOT EXISTS "kine_prev_revision_index" ON "kine" (prev_revision)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "kine_name_prev_revision_uindex" ON "kine" '
    '(name, prev_revision)',
)
# kine generic.go InsertLastInsertIDSQL (the SQLite dialect sets LastInsertID)
KINE_INSERT = ('INSERT INTO "kine"(name, created, deleted, create_revision, prev_revision, '
               'lease, value, old_value) values(?, ?, ?, ?, ?, ?, ?, ?)')
# etcd FAQ: backend_commit_duration_seconds "p99 duration should be less than 25ms"
KINE_COMMIT_P99_MAX_S = 0.025
KEYS = 200  # objects updated in turn (leases, node status, events of a small cluster)
DEFAULT_VALUE_BYTES = 2300


@dataclass
class KineMeasurement:
    """SQLite commits the way kine makes them, under one PATH."""

    path: str
    stats: FsyncStats
    elapsed: float
    stopped_because: str
    value_bytes: int
    commits: int
    pragmas: dict = field(default_factory=dict)   # as SQLite reports them back
    sqlite_version: str = sqlite3.sqlite_version
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"path": self.path, "datastore": "sqlite (kine)", "dsn": KINE_DSN,
                "pragmas": dict(self.pragmas), "sqlite_version": self.sqlite_version,
                "value_bytes": self.value_bytes, "commits": self.commits,
                "elapsed_s": round(self.elapsed, 6), "stopped_because": self.stopped_because,
                "stop_detail": STOP_REASONS.get(self.stopped_because, ""),
                "stats": self.stats.to_dict(), "fits": kine_fits(self.stats),
                "limit_p99_ms": KINE_COMMIT_P99_MAX_S * 1000.0, "notes": list(self.notes)}


def kine_fits(stats: FsyncStats) -> Optional[bool]:
    """True: p99 upper bound < 25 ms and no commit >= 1 s; False: the p99 lower
    bound >= 25 ms or a commit >= 1 s; None: undecided."""
    low, high = stats.p99_ci
    if stats.count == 0:
        return None
    if (stats.slow_count or 0) > 0 or (low == low and low >= KINE_COMMIT_P99_MAX_S):
        return False
    if high == high and high < KINE_COMMIT_P99_MAX_S:
        return True
    return None


def _open(db_path: str):
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30.0,
                           check_same_thread=False)
    applied = {}
    for name, value in KINE_PRAGMAS:
        row = conn.execute("PRAGMA %s=%s" % (name, value)).fetchone()
        applied[name] = row[0] if row else None
    for name, _ in KINE_PRAGMAS:
        applied[name] = conn.execute("PRAGMA %s" % name).fetchone()[0]
    for stmt in KINE_SCHEMA:
        conn.execute(stmt)
    return conn, applied


def measure_kine(path, value_bytes: int = DEFAULT_VALUE_BYTES,
                 min_time: float = DEFAULT_MIN_TIME, max_time: float = DEFAULT_MAX_TIME,
                 progress=None) -> KineMeasurement:
    """Time kine-style SQLite commits under ``path`` (see the module doc)."""
    if value_bytes < 1:
        raise RcarkitError("value size must be at least 1 byte, got %d" % value_bytes)
    needed = 64 * 1024 * 1024  # WAL of 1000 pages plus a growing database
    check_target(path, needed)
    with bench_tempdir(path, needed) as tmpdir:
        conn, applied = _open(os.path.join(tmpdir, "state.db"))
        value = os.urandom(value_bytes)
        state = {"rev": 0, "prev": {}}

        def step():
            rev = state["rev"] + 1
            name = "/registry/leases/kube-node-lease/node-%03d" % (rev % KEYS)
            prev = state["prev"].get(name, 0)
            t0 = time.perf_counter_ns()
            conn.execute(KINE_INSERT, (name, 0 if prev else 1, 0, prev or rev, prev, 0,
                                       value, value if prev else None))
            t1 = time.perf_counter_ns()
            state["prev"][name] = rev
            state["rev"] = rev
            return (t1 - t0) / 1e9

        rule = AdaptiveStop(thresholds=(KINE_COMMIT_P99_MAX_S,), min_time=min_time)
        try:
            run = sample_until(step, rule, max_time, progress=progress, engine="sqlite-kine",
                               thresholds=(KINE_COMMIT_P99_MAX_S,))
        except sqlite3.Error as e:
            raise RcarkitError("SQLite error while benchmarking: %s" % e, path=str(path))
        finally:
            conn.close()
    notes = []
    if str(applied.get("journal_mode", "")).lower() != "wal":
        notes.append("this filesystem refused WAL mode (journal_mode=%s)"
                     % applied.get("journal_mode"))
    return KineMeasurement(path=str(path), stats=run.stats, elapsed=run.elapsed,
                           stopped_because=run.stopped_because, value_bytes=value_bytes,
                           commits=run.stats.count, pragmas=applied, notes=notes)

