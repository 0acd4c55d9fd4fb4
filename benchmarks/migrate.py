"""Backup and restore of a generated database of ``--rows`` rows (default one million), as the
migrate step takes and restores them: PostgreSQL (``pg_dump -Fc`` verified by
``pg_restore --list``, restored by ``pg_restore --single-transaction``) on a cluster started
on 127.0.0.1 for the run, and SQLite (the online backup API). Prints seconds and MB/s.

    scripts/bench migrate [--rows N] [--scratch]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import psycopg

from golive.migrate.postgres import PostgresDatabase
from golive.migrate.sqlite import SQLiteDatabase


def mb(n: int) -> float:
    return n / 1e6


def line(engine: str, what: str, seconds: float, size: int) -> None:
    rate = mb(size) / seconds if seconds > 0 else float("inf")
    print(f"  {engine:<10} {what:<26} {seconds:7.2f} s  {mb(size):8.1f} MB  {rate:8.1f} MB/s")


def sqlite_bench(root: Path, rows: int) -> None:
    path = root / "app.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL)")
        con.executemany(
            "INSERT INTO orders (customer, total) VALUES (?, ?)",
            ((f"customer-{i % 5000}", i * 0.01) for i in range(rows)),
        )
    size = path.stat().st_size
    db = SQLiteDatabase(f"sqlite:///{path}", 600, 5)
    try:
        t0 = time.perf_counter()
        info = db.backup(root / "backup.sqlite3", scratch=False)
        line("sqlite", "backup (online API)", time.perf_counter() - t0, info.size)
        t0 = time.perf_counter()
        db.restore(info.path)
        line("sqlite", "restore (online API)", time.perf_counter() - t0, size)
    finally:
        db.close()


def postgres_bench(root: Path, rows: int, scratch: bool) -> None:
    from tests import services  # the same PostgreSQL the tests start (scripts/services)

    pg_root = Path(tempfile.mkdtemp(prefix="golive-bench-pg-"))  # chowned to postgres
    try:
        _postgres(pg_root, root, rows, scratch, services)
    finally:
        shutil.rmtree(pg_root, ignore_errors=True)


def _postgres(pg_root: Path, root: Path, rows: int, scratch: bool, services: object) -> None:
    with services.postgres(pg_root) as dsn:  # type: ignore[attr-defined]
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute(
                "CREATE TABLE orders (id bigserial PRIMARY KEY, customer text, total numeric)"
            )
            t0 = time.perf_counter()
            con.execute(
                "INSERT INTO orders (customer, total) SELECT 'customer-' || (i %% 5000), i * 0.01 "
                "FROM generate_series(1, %s) AS i",
                (rows,),
            )
            row = con.execute("SELECT pg_database_size(current_database())").fetchone()
            size = int(row[0]) if row else 0
            print(f"  postgres   generated {rows} rows in {time.perf_counter() - t0:.1f} s")
        db = PostgresDatabase(dsn, 3600, 5)
        try:
            t0 = time.perf_counter()
            info = db.backup(root / "backup.dump", scratch=False)
            line("postgres", "backup (pg_dump -Fc, list)", time.perf_counter() - t0, size)
            print(f"  {'':<10} dump file {mb(info.size):.1f} MB; {info.detail}")
            if scratch:
                t0 = time.perf_counter()
                db.backup(root / "backup2.dump", scratch=True)
                took = time.perf_counter() - t0
                line("postgres", "backup + scratch restore", took, size)
            t0 = time.perf_counter()
            db.restore(info.path)
            line("postgres", "restore (pg_restore)", time.perf_counter() - t0, size)
        finally:
            db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scratch", action="store_true", help="also restore into a scratch db")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="golive-bench-migrate-"))
    try:
        print(f"migrate: backup and restore of {args.rows} rows (MB: database size on disk)")
        sqlite_bench(root, args.rows)
        postgres_bench(root, args.rows, args.scratch)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
