#!/usr/bin/env python3
"""Writes docs/history-week.svg, the README's picture of `ccf history --svg`: a made-up
week on three accounts (a daily limit on compte1, two on compte2, one night with every
account out, a partial and a failed swap) drawn by the built ccf.

Usage: cargo build && python3 scripts/history-example.py [path/to/ccf]
"""
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
U = dt.timezone.utc


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def week():
    out = []

    def ev(t, **k):
        out.append(dict(at=iso(t), **k))

    def swap(t, a, b, kind="swap_done"):
        ev(t, kind="swap_started", reason=f"usage limit on {a}", trigger=None, sessions=[], **{"from": a, "to": b})
        if kind == "swap_partial":
            ev(t + dt.timedelta(seconds=20), kind=kind, reason="usage limit", moved=["a"], failed=["b"],
               **{"from": a, "to": b})
        else:
            ev(t + dt.timedelta(seconds=20), kind=kind, reason="usage limit", moved=["a"], failed=[],
               **{"from": a, "to": b})

    def back(t, a):
        ev(t, kind="swap_started", reason="return", trigger=None, sessions=[], **{"from": a, "to": "compte1"})
        ev(t + dt.timedelta(seconds=10), kind="returned", to="compte1", **{"from": a})

    base = dt.datetime(2026, 11, 25, tzinfo=U)
    for d in range(7):
        t = base + dt.timedelta(days=d, hours=9, minutes=20 + d * 7)
        until = t + dt.timedelta(hours=4, minutes=40)
        ev(t, kind="limit_seen", account="compte1", until=iso(until), scope="five_hour")
        swap(t, "compte1", "compte2", "swap_partial" if d == 3 else "swap_done")
        on = "compte2"
        if d in (2, 5):
            t2 = t + dt.timedelta(hours=2)
            ev(t2, kind="limit_seen", account="compte2", until=iso(t2 + dt.timedelta(hours=5)), scope="five_hour")
            swap(t2, "compte2", "compte3")
            on = "compte3"
        if d == 5:
            t3 = t + dt.timedelta(hours=3)
            ev(t3, kind="limit_seen", account="compte3", until=iso(t3 + dt.timedelta(hours=3)), scope="five_hour")
            ev(t3, kind="all_exhausted", until=iso(until))
            back(until + dt.timedelta(minutes=5), on)
            ev(until + dt.timedelta(minutes=5, seconds=10), kind="work_resumed", account="compte1")
            continue
        back(until + dt.timedelta(minutes=5), on)
        if d == 4:
            ev(until + dt.timedelta(hours=6), kind="swap_failed", error="no session could be relaunched",
               **{"from": "compte1", "to": "compte2"})
    return out


def main():
    ccf = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "target/debug/ccf")
    with tempfile.TemporaryDirectory() as d:
        state = os.path.join(d, "state")
        os.makedirs(state, mode=0o700)
        with open(os.path.join(state, "history.jsonl"), "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in week())
        config = os.path.join(d, "config.yaml")
        with open(config, "w") as f:
            f.write("accounts:\n" + "".join(f"  - {{name: compte{i}, home: {d}/c{i}}}\n" for i in (1, 2, 3))
                    + f"state_dir: {state}\ntimezone: Europe/Paris\n"
                    + f"pool:\n  autonomous: {{prefix: ccl-auto-, start_index: 11, min: 0, max: 2, workdir: {d}}}\n"
                    + f"dispatcher:\n  queue_dir: {d}/queue\n")
        env = dict(os.environ, CCF_NOW="2026-12-02T00:00:00Z", HOSTNAME="box")
        out = os.path.join(REPO, "docs", "history-week.svg")
        subprocess.run([ccf, "--config", config, "history", "--svg", out], env=env, check=True)


if __name__ == "__main__":
    main()
