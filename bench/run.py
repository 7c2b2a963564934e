#!/usr/bin/env python3
"""Ingest benchmark for abe-hub, with its references measured in the same run.

Generates N observation rows (CSV and xlsx) over the real national subdistrict list,
loads them with `abe-hub run` into SQLite and PostgreSQL, and measures PostgreSQL's own
COPY of the same CSV (into a keyed and an unindexed table) and python-calamine reading
the same xlsx. Prints rows/s, ratios to the references, and peak memory.

The two ratios with targets are measured in pairs, reference then hub, `--pairs` times:
on a shared VM the machine's speed drifts within a minute, and a reference timed long
before the hub's run moves the ratio by as much as the code does. The median pair is
reported, with the range.

    python3 bench/run.py --rows 1000000 --xlsx-rows 200000

Only 127.0.0.1 is contacted (the local PostgreSQL); every step is bounded by a timeout.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBDISTRICTS = os.path.join(REPO, "..", "shared", "data", "kongvut-thai-province-data", "sub_districts.csv")
HUB = os.path.join(REPO, "target", "release", "abe-hub")
BENCH = os.path.join(REPO, "target", "release", "abe-bench")
STEP_TIMEOUT = 1800


def sh(args, env=None, timeout=STEP_TIMEOUT):
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result


def timed_run(db_url, config, connector):
    """Runs `abe-hub run` under /usr/bin/time; returns (seconds, peak MiB, summary line)."""
    env = dict(os.environ, ABE_DATABASE_URL=db_url, RUST_LOG="warn")
    started = time.perf_counter()
    result = sh(["/usr/bin/time", "-f", "%M", HUB, "--config", config, "run", connector], env=env)
    seconds = time.perf_counter() - started
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    return seconds, peak_kib / 1024, result.stdout.strip()


def pg_database(admin_url, name):
    sh(["psql", admin_url, "-q", "-c", f"DROP DATABASE IF EXISTS {name}", "-c", f"CREATE DATABASE {name}"])
    return admin_url.rsplit("/", 1)[0] + "/" + name


HUB_COLUMNS = ("indicator, area_code, school_code, period, breakdown, value, source, source_row, run_id, connector")


def copy_into_hub_table(pg_url, work):
    """The floor for the hub's own table: psql's COPY of the rows the hub loaded (same
    values, provenance included) into a copy of `observations` with its indexes."""
    rows_file = os.path.join(work, "hub_rows.tsv")
    sh(["psql", pg_url, "-q", "-c",
        f"\\copy (SELECT {HUB_COLUMNS} FROM observations WHERE connector = 'obs_csv') TO '{rows_file}'"])
    sh(["psql", pg_url, "-q", "-c", "CREATE TABLE floor_observations (LIKE observations INCLUDING ALL)"])
    out = sh(["psql", pg_url, "-q", "-c", "\\timing on", "-c",
              f"\\copy floor_observations ({HUB_COLUMNS}) FROM '{rows_file}'"]).stdout
    millis = [float(line.split()[1]) for line in out.splitlines() if line.startswith("Time:")]
    return millis[-1] / 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--memory-rows", type=int, default=250_000, help="a smaller run to check memory stays flat")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--pairs", type=int, default=3, help="reference/hub pairs for the ratios with targets")
    args = parser.parse_args()

    sh(["cargo", "build", "--release", "-q", "-p", "abe-hub", "-p", "abe-bench"], timeout=3600)
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        sh([sys.executable, "-m", "pip", "install", "-q", "python-calamine"])

    work = tempfile.mkdtemp(prefix="abe-bench-")
    results = {"rows": args.rows, "xlsx_rows": args.xlsx_rows, "machine": os.uname().machine, "cpus": os.cpu_count()}
    try:
        big = os.path.join(work, "big")
        small = os.path.join(work, "small")
        sh([BENCH, "generate", "--rows", str(args.rows), "--xlsx-rows", str(args.xlsx_rows), "--subdistricts", SUBDISTRICTS, "--out", big])
        sh([BENCH, "generate", "--rows", str(args.memory_rows), "--xlsx-rows", "1", "--subdistricts", SUBDISTRICTS, "--out", small])
        config = os.path.join(big, "hub.toml")

        # The ratios with targets: reference, then the hub, in pairs.
        pg_pairs, xlsx_pairs = [], []
        for _ in range(max(1, args.pairs)):
            ref_url = pg_database(args.pg, "abe_bench_ref")
            copy = {}
            for line in sh([BENCH, "copy-reference", "--url", ref_url, "--csv", os.path.join(big, "obs.csv")]).stdout.splitlines():
                table, rows, seconds = line.split()
                copy[table] = float(seconds)
            pg_url = pg_database(args.pg, "abe_bench_hub")
            timed_run(pg_url, config, "areas")
            sh(["psql", pg_url, "-q", "-c", "CHECKPOINT"])  # as before each reference COPY
            hub_s, peak, summary = timed_run(pg_url, config, "obs_csv")
            pg_pairs.append({"copy": copy, "hub_s": hub_s, "peak_mib": peak, "summary": summary, "url": pg_url})

            out = sh([sys.executable, os.path.join(REPO, "bench", "read_xlsx.py"), os.path.join(big, "obs.xlsx")]).stdout.split()
            # The xlsx goes into a database of its own, as calamine's read starts from
            # nothing: a target already holding the CSV's rows would measure that index.
            xlsx_db = os.path.join(work, "xlsx.db")
            for leftover in [xlsx_db, xlsx_db + "-wal", xlsx_db + "-shm"]:
                if os.path.exists(leftover):
                    os.remove(leftover)
            xlsx_url = "sqlite://" + xlsx_db
            timed_run(xlsx_url, config, "areas")
            hub_s, peak, summary = timed_run(xlsx_url, config, "obs_xlsx")
            xlsx_pairs.append({"calamine_s": float(out[1]), "hub_s": hub_s, "peak_mib": peak, "summary": summary})

        median = lambda pairs, key: sorted(pairs, key=key)[len(pairs) // 2]  # noqa: E731
        pg_ratio = lambda p: p["copy"]["ref_keyed"] / p["hub_s"]  # noqa: E731
        xlsx_ratio = lambda p: p["hub_s"] / p["calamine_s"]  # noqa: E731
        pg = median(pg_pairs, pg_ratio)
        xl = median(xlsx_pairs, xlsx_ratio)
        results["pg_ratios"] = [round(pg_ratio(p), 3) for p in pg_pairs]
        results["xlsx_ratios"] = [round(xlsx_ratio(p), 3) for p in xlsx_pairs]
        results["copy_plain_s"] = pg["copy"]["ref_plain"]
        results["copy_keyed_s"] = pg["copy"]["ref_keyed"]
        results["copy_keyed_c_s"] = pg["copy"]["ref_keyed_c"]
        results["pg_s"], results["pg_peak_mib"], results["pg_summary"] = pg["hub_s"], pg["peak_mib"], pg["summary"]
        results["calamine_py_xlsx_s"] = xl["calamine_s"]
        results["sqlite_xlsx_s"], results["sqlite_xlsx_peak_mib"], results["sqlite_xlsx_summary"] = xl["hub_s"], xl["peak_mib"], xl["summary"]

        # abe-hub into SQLite.
        sqlite_url = "sqlite://" + os.path.join(work, "hub.db")
        timed_run(sqlite_url, config, "areas")
        results["sqlite_s"], results["sqlite_peak_mib"], results["sqlite_summary"] = timed_run(sqlite_url, config, "obs_csv")
        results["sqlite_rerun_s"], _, results["sqlite_rerun_summary"] = timed_run(sqlite_url, config, "obs_csv")
        small_url = "sqlite://" + os.path.join(work, "small.db")
        small_config = os.path.join(small, "hub.toml")
        timed_run(small_url, small_config, "areas")
        _, results["sqlite_small_peak_mib"], _ = timed_run(small_url, small_config, "obs_csv")

        # abe-hub into PostgreSQL again, every row unchanged (the last pair's database).
        pg_url = pg_pairs[-1]["url"]
        results["pg_rerun_s"], _, results["pg_rerun_summary"] = timed_run(pg_url, config, "obs_csv")
        results["copy_hub_table_s"] = copy_into_hub_table(pg_url, work)
        for name in ["abe_bench_ref", "abe_bench_hub"]:
            sh(["psql", args.pg, "-q", "-c", f"DROP DATABASE IF EXISTS {name}"])
    finally:
        if args.keep:
            print(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    n, x = args.rows, args.xlsx_rows
    rate = lambda rows, s: f"{rows / s:,.0f} rows/s"  # noqa: E731
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print()
    print(f"| measure ({n:,} rows; xlsx {x:,}) | seconds | rate | ratio |")
    print("|---|---|---|---|")
    print(f"| PostgreSQL COPY, no index (reference) | {results['copy_plain_s']:.2f} | {rate(n, results['copy_plain_s'])} | |")
    print(f"| PostgreSQL COPY, unique key (reference) | {results['copy_keyed_s']:.2f} | {rate(n, results['copy_keyed_s'])} | 1.00 |")
    print(f"| PostgreSQL COPY, unique key in byte order (COLLATE \"C\", as the hub's codes) | {results['copy_keyed_c_s']:.2f} | {rate(n, results['copy_keyed_c_s'])} | |")
    span = lambda ratios: f"{min(ratios):.2f}–{max(ratios):.2f}"  # noqa: E731
    print(f"| abe-hub run into PostgreSQL | {results['pg_s']:.2f} | {rate(n, results['pg_s'])} | {results['copy_keyed_s'] / results['pg_s']:.2f} of COPY keyed, median of {len(pg_pairs)} pairs ({span(results['pg_ratios'])}; target ≥ 0.90); {results['copy_keyed_c_s'] / results['pg_s']:.2f} of the byte-order one |")
    print(f"| PostgreSQL COPY of the hub's rows into `observations` (floor of the hub's table) | {results['copy_hub_table_s']:.2f} | {rate(n, results['copy_hub_table_s'])} | abe-hub run = {results['copy_hub_table_s'] / results['pg_s']:.2f} of it |")
    print(f"| abe-hub re-run into PostgreSQL (unchanged) | {results['pg_rerun_s']:.2f} | {rate(n, results['pg_rerun_s'])} | |")
    print(f"| abe-hub run into SQLite | {results['sqlite_s']:.2f} | {rate(n, results['sqlite_s'])} | target ≥ 200,000 rows/s |")
    print(f"| abe-hub re-run into SQLite (unchanged) | {results['sqlite_rerun_s']:.2f} | {rate(n, results['sqlite_rerun_s'])} | |")
    print(f"| python-calamine reads the xlsx (reference) | {results['calamine_py_xlsx_s']:.2f} | {rate(x, results['calamine_py_xlsx_s'])} | 1.00 |")
    print(f"| abe-hub run of the xlsx into SQLite | {results['sqlite_xlsx_s']:.2f} | {rate(x, results['sqlite_xlsx_s'])} | {results['sqlite_xlsx_s'] / results['calamine_py_xlsx_s']:.2f}x calamine, median of {len(xlsx_pairs)} pairs ({span(results['xlsx_ratios'])}; target ≤ 1.2) |")
    print(f"| peak memory, SQLite {args.memory_rows:,} / {n:,} rows; PostgreSQL {n:,}; xlsx {x:,} | {results['sqlite_small_peak_mib']:.0f} / {results['sqlite_peak_mib']:.0f} / {results['pg_peak_mib']:.0f} / {results['sqlite_xlsx_peak_mib']:.0f} MiB | | target < 200 MiB, flat |")


if __name__ == "__main__":
    main()
