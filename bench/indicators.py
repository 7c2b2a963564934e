#!/usr/bin/env python3
"""Central-indicator benchmark for abe-hub, with its reference measured in the same run.

For SQLite and for PostgreSQL, in a fresh database each:

1. `abe-bench analytics` writes a national-size dataset (every province, district and
   subdistrict of the real list in ../shared/data, 30,000 schools, about 5,000,000
   observations of 10 indicators over 5 years with 2 breakdown dimensions, 2 ratio
   indicators over them), then times, twice each and back to back:
   - the hand-written SQL that writes (a)'s numbers into tables (reference): a GROUP BY
     per level, the ratios by a join, ranks and parent and previous values by window
     functions and a join,
   - (a) the hub computing every indicator for every area and period;
   and then (b) the hub computing again after one province's dropouts changed.
2. (c) `abe-hub serve` on that database answers, at concurrency 16 from 127.0.0.1 for
   `--seconds`, the GraphQL query for one indicator's latest values over all districts
   of a province with ranks and bands, under wrk; p50/p99 latency, after a 10 s warm-up
   at the same concurrency (its p99 is reported too).

    python3 bench/indicators.py            # about 10 minutes on 2 cores

Only 127.0.0.1 is contacted (the local PostgreSQL and the hub); every step has a timeout.
Needs wrk (`apt-get install wrk`).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBDISTRICTS = os.path.join(REPO, "..", "shared", "data", "kongvut-thai-province-data", "sub_districts.csv")
HUB = os.path.join(REPO, "target", "release", "abe-hub")
BENCH = os.path.join(REPO, "target", "release", "abe-bench")
STEP_TIMEOUT = 3600
WARM_UP_SECONDS = 10

QUERY = ('{ indicatorValues(indicators: ["dropout_rate"], level: DISTRICT, parent: "%s", latest: true) '
         '{ areaCode value rank rankOf parentValue change band colour } }')


def sh(args, env=None, timeout=STEP_TIMEOUT):
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result


def pg_database(admin_url, name):
    sh(["psql", admin_url, "-q", "-c", f"DROP DATABASE IF EXISTS {name}", "-c", f"CREATE DATABASE {name}"])
    return admin_url.rsplit("/", 1)[0] + "/" + name


def analytics(url, schools, province):
    out = sh([BENCH, "analytics", "--url", url, "--subdistricts", SUBDISTRICTS,
              "--schools", str(schools), "--province", province],
             env=dict(os.environ, RUST_LOG="warn")).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def latency(url, province, seconds, work):
    """Serves `url` with abe-hub, waits for its first computation, then runs wrk."""
    env = dict(os.environ, ABE_DATABASE_URL=url, RUST_LOG="info")
    hub = subprocess.Popen([HUB, "serve", "--listen", "127.0.0.1:0"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    address, computed = [], threading.Event()

    def watch():
        for line in hub.stdout:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                address.append(found.group(1))
            if "indicators computed" in line:
                computed.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        if not computed.wait(STEP_TIMEOUT) or not address:
            sys.exit("the hub did not finish its first computation")
        script = os.path.join(work, "post.lua")
        with open(script, "w") as f:
            body = json.dumps({"query": QUERY % province})
            f.write('wrk.method = "POST"\n')
            f.write('wrk.headers["Content-Type"] = "application/json"\n')
            f.write(f"wrk.body = {json.dumps(body)}\n")
        def wrk(duration):
            return sh(["wrk", "-t", "2", "-c", "16", "-d", f"{duration}s", "--latency", "-s", script,
                       address[0] + "/graphql"], timeout=duration + 60).stdout

        # Warm-up at the same concurrency, not counted: the pool opens its connections and
        # each new PostgreSQL backend fills its catalogue caches, which cost the first
        # seconds a 30 ms tail that a hub serving for hours does not have.
        warm = wrk(WARM_UP_SECONDS)
        out = wrk(seconds)
        # One answer, checked: the province's districts with ranks.
        check = sh(["curl", "-s", "-X", "POST", "-H", "Content-Type: application/json",
                    "--data", json.dumps({"query": QUERY % province}), address[0] + "/graphql"]).stdout
        districts = len(json.loads(check)["data"]["indicatorValues"])
    finally:
        hub.terminate()
        hub.wait(timeout=60)

    def ms(label, text=None):
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", text or out, re.M)
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    warm_p99 = ms("99", warm)
    return {"p50_ms": ms("50"), "p99_ms": ms("99"), "warm_up_p99_ms": warm_p99,
            "requests_per_s": float(requests.group(1)),
            "non_2xx": int(errors.group(1)) if errors else 0, "districts": districts}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=30_000)
    parser.add_argument("--province", default="90", help="the province changed in (b) and queried in (c)")
    parser.add_argument("--seconds", type=int, default=20, help="length of the wrk run")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    sh(["cargo", "build", "--release", "-q", "-p", "abe-hub", "-p", "abe-bench"], timeout=3600)

    work = tempfile.mkdtemp(prefix="abe-indicators-")
    results = {}
    try:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = "sqlite://" + os.path.join(work, "hub.db")
            else:
                url = pg_database(args.pg, "abe_bench_indicators")
            steps = analytics(url, args.schools, args.province)
            results[backend] = {"steps": steps, "latency": latency(url, args.province, args.seconds, work)}
        if "postgres" in args.backends:
            sh(["psql", args.pg, "-q", "-c", "DROP DATABASE IF EXISTS abe_bench_indicators"])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(json.dumps(results, indent=2))
    print()
    print("| backend | observations | reference GROUP BY (s) | (a) every value (s) | (a) / reference | (b) one province (s) | (b) / (a) | (c) p50 / p99 at 16 | values |")
    print("|---|---|---|---|---|---|---|---|---|")
    for backend, r in results.items():
        steps = r["steps"]
        load = next(s for s in steps if s["step"] == "load")
        refs = [s["seconds"] for s in steps if s["step"] == "reference"]
        fulls = [s for s in steps if s["step"] == "full"]
        one = next(s for s in steps if s["step"] == "one_province")
        ratios = [f["seconds"] / ref for f, ref in zip(fulls, refs)]
        full = min(f["seconds"] for f in fulls)
        lat = r["latency"]
        refs_text = " / ".join(f"{x:.2f}" for x in refs)
        fulls_text = " / ".join(f"{f['seconds']:.2f}" for f in fulls)
        ratios_text = " / ".join(f"{x:.2f}" for x in ratios)
        print(f"| {backend} | {load['observations']:,} | {refs_text} | {fulls_text} "
              f"| {ratios_text} (target ≤ 1.5) "
              f"| {one['seconds']:.2f} | {one['seconds'] / full:.3f} (target ≤ 0.1) "
              f"| {lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} ms, {lat['requests_per_s']:,.0f} req/s (target p99 < 20 ms; "
              f"warm-up p99 {lat['warm_up_p99_ms']:.1f} ms) "
              f"| {fulls[-1]['values']:,} |")


if __name__ == "__main__":
    main()
