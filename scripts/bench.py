#!/usr/bin/python3
"""ccf's benchmark: wall time and peak RSS of real runs, each beside a baseline measured
in the same run, on a private tmux server with realistic panes.

    scripts/bench.py [--ccf target/release/ccf] [--runs 30] [--quick]

Prints a Markdown table (the one in README.md). Nothing outside a temp sandbox is touched;
the tmux server is started here (ccf never starts one) and killed at the end.
"""
import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PANE_TEXT = "\n".join(
    ["\u273b Welcome to Claude Code", ""]
    + [f"\u25cf Working on step {i}: reading src/module_{i}.rs and updating tests" for i in range(60)]
    + ["  \u23bf  Read 120 lines (ctrl+r to expand)"] * 40
    + ["\u273b Baked for 2m 4s", "", "\u276f "]
)


def run_measured(argv, env, stdin=None, cwd=None):
    """Runs argv (posix_spawn, so no copy of this Python process is made); returns
    (seconds, the kernel's ru_maxrss, which counts the parent's pages before exec)."""
    if cwd:
        raise ValueError("cwd is not supported")
    path = shutil.which(argv[0], path=env.get("PATH")) or argv[0]
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    rfd = None
    if stdin is not None:
        rfd, wfd = os.pipe()
        actions.append((os.POSIX_SPAWN_DUP2, rfd, 0))
        actions.append((os.POSIX_SPAWN_CLOSE, wfd))
    else:
        actions.append((os.POSIX_SPAWN_DUP2, devnull, 0))
    start = time.perf_counter()
    pid = os.posix_spawn(path, argv, env, file_actions=actions)
    if stdin is not None:
        os.close(rfd)
        os.write(wfd, stdin)
        os.close(wfd)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(devnull)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return elapsed, usage.ru_maxrss


def peak_rss(argv, env, stdin=None):
    """Peak RSS in KiB of argv, by GNU time (`apt-get install time`): its own small
    pre-exec footprint, not Python's, is what the kernel counts before the exec."""
    if not os.path.exists("/usr/bin/time"):
        return float("nan")
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], env=env, input=stdin,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return int(out.read().strip().splitlines()[-1])


def measure(label, argv, env, runs, stdin=None, cwd=None):
    times = []
    run_measured(argv, env, stdin, cwd)  # warm the page cache
    for _ in range(runs):
        t, _ = run_measured(argv, env, stdin, cwd)
        times.append(t)
    rss = [peak_rss(argv, env, stdin)]
    return {"label": label, "median_ms": statistics.median(times) * 1000,
            "p90_ms": sorted(times)[max(0, math.ceil(len(times) * 0.9) - 1)] * 1000, "rss_kib": max(rss)}


class World:
    """A sandbox HOME, two logged-in accounts, a private tmux server and N pool panes."""

    def __init__(self, ccf, sessions, tasks=0, claude=False, dedicated=True):
        self.ccf = ccf
        self.root = tempfile.mkdtemp(prefix="ccf-bench-", dir="/tmp")
        self.home = os.path.join(self.root, "home")
        self.socket = os.path.join(self.root, "s")
        for d in ("work", "proj", "bin", "queue/done"):
            os.makedirs(os.path.join(self.home, d))
        fake = os.path.join(REPO, "tests/support/fake_claude.py")
        wrapper = os.path.join(self.home, "bin/claude")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/bash\nexec -a claude /usr/bin/python3 {fake} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        self.env = {"HOME": self.home, "PATH": f"{self.home}/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                    "TERM": "xterm-256color", "SHELL": "/bin/bash", "CCF_CONFIG": os.path.join(self.home, "ccf.yaml")}
        for a in ("compte1", "compte2"):
            h = os.path.join(self.home, f".claude-{a}")
            os.makedirs(h)
            with open(os.path.join(h, ".credentials.json"), "w") as f:
                f.write('{"claudeAiOauth":{"accessToken":"x"}}')
            with open(os.path.join(h, ".claude.json"), "w") as f:
                json.dump({"hasCompletedOnboarding": True, "projects": {
                    os.path.join(self.home, "work"): {"hasTrustDialogAccepted": True},
                    os.path.join(self.home, "proj"): {"hasTrustDialogAccepted": True}}}, f)
        with open(self.env["CCF_CONFIG"], "w") as f:
            f.write(f"""accounts:
  - {{name: compte1, home: ~/.claude-compte1}}
  - {{name: compte2, home: ~/.claude-compte2}}
state_dir: ~/state
timezone: UTC
tmux: {{socket_path: {self.socket}}}
claude: {{command: claude, args: []}}
pool:
  autonomous: {{prefix: ccl-auto-, start_index: 11, min: 0, max: {max(sessions, 1)}, workdir: ~/work}}
  dedicated: [{{name: ccl-1-proj, project: ~/proj}}]
quota: {{cooldown: 0s}}
dispatcher: {{queue_dir: ~/queue}}
""")
        text = os.path.join(self.root, "pane.txt")
        with open(text, "w") as f:
            f.write(PANE_TEXT + "\n")
        self.tmux("new-session", "-d", "-s", "keepalive")
        subprocess.run([ccf, "ensure-symlinks"], env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.names = [f"ccl-auto-{11 + i}" for i in range(sessions)] + (["ccl-1-proj"] if dedicated else [])
        self.sids = {}
        for n in self.names:
            if claude:
                sid = str(uuid.uuid4())
                self.sids[n] = sid
                self.tmux("new-session", "-d", "-s", n, "-c", os.path.join(self.home, "work"), "--",
                          "env", f"CLAUDE_CONFIG_DIR={self.home}/.claude-compte1", "claude", "--session-id", sid)
            else:
                self.tmux("new-session", "-d", "-s", n, "-x", "200", "-y", "60", "--",
                          "sh", "-c", f"cat {text}; exec sleep 3600")
        for i in range(tasks):
            with open(os.path.join(self.home, f"queue/done/task-{i:05}.md"), "w") as f:
                f.write("a finished task\n")
        self.wait_panes(claude)
        if claude:
            # A session is resumable once its transcript exists: one exchange each.
            for n in self.names:
                self.tmux("send-keys", "-t", f"={n}:", "-l", "hi")
                self.tmux("send-keys", "-t", f"={n}:", "Enter")
            self.wait_panes(claude, "reply to: hi")

    def tmux(self, *args):
        subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", *args], env=self.env, check=True)

    def wait_panes(self, claude, needle=None):
        needle = needle or ("Welcome to fake Claude" if claude else "Baked for")
        deadline = time.time() + 30
        for n in self.names:
            while True:
                out = subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p", "-t", f"={n}:"],
                                     env=self.env, capture_output=True, text=True).stdout
                if needle in out:
                    break
                if time.time() > deadline:
                    raise SystemExit(f"pane {n} never showed {needle!r}")
                time.sleep(0.05)

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], env=self.env, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def per_pane_loop(world):
    """The Go daemon's way: one tmux process per pane, from a shell loop."""
    names = " ".join(world.names)
    return ["sh", "-c", f'for s in {names}; do tmux -S {world.socket} capture-pane -p -J -t "=$s:" -S -200 >/dev/null; done']


def batched_capture(world):
    """ccf's way, without ccf: every pane in ONE tmux process (capture-pane and a marker
    per pane, `;`-separated), from the shell like the loop above."""
    parts = []
    for i, s in enumerate(world.names):
        parts.append(f"capture-pane -p -J -t '={s}:' -S -200 \\; display-message -p ccf-capture-{i}")
    return ["sh", "-c", f"tmux -S {world.socket} " + " \\; ".join(parts) + " >/dev/null"]


def drop_caches():
    """Empties the page cache (root only); False when this machine does not allow it."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def cold(label, argv, env, runs, stdin=None):
    """The first run after the page cache was emptied: the binary and its files come
    from disk. None when caches cannot be dropped here."""
    times = []
    for _ in range(runs):
        if not drop_caches():
            return None
        t, _ = run_measured(argv, env, stdin)
        times.append(t)
    return {"label": label, "median_ms": statistics.median(times) * 1000,
            "p90_ms": max(times) * 1000, "rss_kib": peak_rss(argv, env, stdin)}


def respawn_loop(world):
    """The baseline of a swap: each pane respawned with claude from a shell loop, one tmux
    process each, nothing verified, no state, no ids looked up."""
    cmds = []
    for n in world.names:
        cmds.append(f'tmux -S {world.socket} respawn-pane -k -t "={n}:" -c {world.home}/work -- '
                    f'env CLAUDE_CONFIG_DIR={world.home}/.claude-compte1 claude --session-id {uuid.uuid4()}')
    return ["sh", "-c", "; ".join(cmds)]


def repin(world, account):
    """Restarts every session pinned to `account` (resuming its conversation), untimed: ccf
    relaunches onto ~/.claude, so without this only the first swap would relaunch."""
    for n in world.names:
        world.tmux("respawn-pane", "-k", "-t", f"={n}:", "-c", os.path.join(world.home, "work"), "--",
                   "env", f"CLAUDE_CONFIG_DIR={world.home}/.claude-{account}", "claude", "--resume", world.sids[n])
    world.wait_panes(True)
    time.sleep(0.5)


def swap_round_trip(world, runs):
    """Median ms of a swap that relaunches every session (each pinned to the account left),
    and of the swap back, which carries them all (they run on ~/.claude after a relaunch)."""
    relaunch, carry = [], []
    for i in range(runs):
        here, there = ("compte1", "compte2") if i % 2 == 0 else ("compte2", "compte1")
        repin(world, here)
        t, _ = run_measured([world.ccf, "swap", "--to", there], world.env)
        relaunch.append(t)
        t, _ = run_measured([world.ccf, "swap", "--to", here], world.env)
        carry.append(t)
        # Back where the next run expects: pinned there again by repin.
        t, _ = run_measured([world.ccf, "swap", "--to", there], world.env)
    return statistics.median(relaunch) * 1000, statistics.median(carry) * 1000


def pane_pid(world, name):
    return subprocess.run(["tmux", "-S", world.socket, "display-message", "-p", "-t", f"={name}:", "#{pane_pid}"],
                          env=world.env, capture_output=True, text=True).stdout.strip()


def type_into(world, name, text):
    world.tmux("send-keys", "-t", f"={name}:", "-l", text)
    world.tmux("send-keys", "-t", f"={name}:", "Enter")


def set_mode(world, account, mode):
    with open(os.path.join(world.home, f".claude-{account}", "fake-mode"), "w") as f:
        f.write(mode)


def killed_turns(world):
    """Transcripts whose last prompt has no answer: a turn cut short by a restart."""
    killed = 0
    projects = os.path.join(world.home, ".claude-shared", "projects")
    for root, _, files in os.walk(projects):
        for f in files:
            if not f.endswith(".jsonl"):
                continue
            rows = [json.loads(l) for l in open(os.path.join(root, f)) if l.strip()]
            kinds = [r["type"] for r in rows]
            killed += sum(1 for i, k in enumerate(kinds) if k == "user" and (i + 1 == len(kinds) or kinds[i + 1] != "assistant"))
    return killed


TURN = 8  # seconds a busy session's turn runs in the mixed fleet


def mixed_fleet(ccf):
    """12 sessions on compte1 with one exchange each: half pinned by CLAUDE_CONFIG_DIR, half
    on ~/.claude; in each half 2 idle, 2 busy (a turn of TURN s running) and 2 blocked at the
    limit screen. Returns the world and each session's (pinned, state)."""
    w = World(ccf, 12, claude=True, dedicated=False)
    kinds = {}
    for i, n in enumerate(w.names):
        pinned = i < 6
        kinds[n] = (pinned, ("idle", "busy", "blocked")[(i % 6) // 2])
    # Re-start the unpinned half on ~/.claude, resuming the conversation each has.
    log = [json.loads(l) for l in open(os.path.join(w.home, "fake-claude.log"))]
    ids = {}
    for e in log:
        a = e["argv"]
        if "--session-id" in a:
            ids.setdefault(e["pid"], a[a.index("--session-id") + 1])
    for n in w.names:
        if kinds[n][0]:
            continue
        pid = int(pane_pid(w, n))
        sid = ids[pid]
        w.tmux("respawn-pane", "-k", "-t", f"={n}:", "-c", os.path.join(w.home, "work"), "--",
               "claude", "--resume", sid)
    w.wait_panes(True)
    return w, kinds


def arm(world, kinds, account):
    """Puts the busy sessions in a turn and the blocked ones at the limit screen."""
    set_mode(world, account, f"work {TURN}")
    for n, (_, state) in kinds.items():
        if state == "busy":
            type_into(world, n, "long job")
    time.sleep(1)
    set_mode(world, account, "limit 1893456000")
    for n, (_, state) in kinds.items():
        if state == "blocked":
            type_into(world, n, "blocked job")
    time.sleep(1.5)
    set_mode(world, account, "normal")


def swap_turns(ccf):
    """Restarts and killed turns per swap for the mixed fleet: ccf's failover and, beside
    it, the old rule (every pinned or blocked session relaunched at once: respawn-pane -k),
    each on a fresh fleet in the same run."""
    out = {}
    w, kinds = mixed_fleet(ccf)
    try:
        restarts = []
        for step, (frm, to) in enumerate((("compte1", "compte2"), ("compte2", "compte1"))):
            arm(w, kinds, frm)
            before = {n: pane_pid(w, n) for n in w.names}
            subprocess.run([ccf, "swap", "--to", to], env=w.env, capture_output=True)
            # The deferred ones are moved by check-quota once their turn is over.
            time.sleep(TURN + 1)
            subprocess.run([ccf, "check-quota"], env=w.env, capture_output=True)
            restarts.append(sum(1 for n in w.names if pane_pid(w, n) != before[n]))
        out["ccf"] = (restarts, killed_turns(w))
    finally:
        w.close()
    w, kinds = mixed_fleet(ccf)
    try:
        arm(w, kinds, "compte1")
        for n, (pinned, state) in kinds.items():
            if pinned or state == "blocked":
                w.tmux("respawn-pane", "-k", "-t", f"={n}:", "--", "claude")
        time.sleep(TURN + 1)
        out["old"] = (sum(1 for (p, s) in kinds.values() if p or s == "blocked"), killed_turns(w))
    finally:
        w.close()
    return out


class ManagedUser:
    """An unprivileged user with a real systemd user manager (scripts/user-manager.sh),
    ccf installed for it by `ccf systemd install`, two logged-in accounts, no sessions:
    where the hook-to-swap latency is measured with nothing but systemd running ccf."""

    NAME = "ccf-bench"

    def __init__(self, ccf):
        self.script = os.path.join(REPO, "scripts/user-manager.sh")
        subprocess.run([self.script, "stop", self.NAME], capture_output=True)
        subprocess.run([self.script, "start", self.NAME], check=True, capture_output=True)
        import pwd
        pw = pwd.getpwnam(self.NAME)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, pw.pw_dir
        self.env = {"HOME": self.home, "USER": self.NAME, "LOGNAME": self.NAME,
                    "PATH": f"{self.home}/.cargo/bin:/usr/bin:/bin",
                    "XDG_RUNTIME_DIR": f"/run/user/{self.uid}"}
        self.ccf = f"{self.home}/.cargo/bin/ccf"
        self.put(".cargo/bin/ccf", open(ccf, "rb").read(), 0o755)
        for a in ("compte1", "compte2"):
            self.put(f".claude-{a}/.credentials.json",
                     json.dumps({"claudeAiOauth": {"accessToken": f"tok-{a}"}}).encode(), 0o600)
            self.put(f".claude-{a}/settings.json", b'{"skipDangerousModePermissionPrompt": true}', 0o600)
        self.put(".config/ccf/config.yaml", (
            "accounts:\n  - {name: compte1, home: ~/.claude-compte1}\n"
            "  - {name: compte2, home: ~/.claude-compte2}\n"
            "claude_link: ~/.claude\nshared:\n  root: ~/.claude-shared\ntimezone: UTC\n"
            "claude:\n  command: /usr/bin/true\nquota:\n  cooldown: 0s\n").encode(), 0o600)
        self.run([self.ccf, "systemd", "install"], check=False)

    def put(self, rel, data, mode):
        path = os.path.join(self.home, rel)
        d = os.path.dirname(path)
        parts = []
        while not os.path.isdir(d):
            parts.append(d)
            d = os.path.dirname(d)
        for d in reversed(parts):
            os.mkdir(d)
            os.chown(d, self.uid, self.gid)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        os.chown(path, self.uid, self.gid)

    def run(self, argv, stdin=None, check=True):
        return subprocess.run(argv, input=stdin, env=self.env, cwd=self.home, user=self.uid,
                              group=self.gid, extra_groups=[], capture_output=True, check=check)

    def link(self):
        try:
            return os.path.basename(os.readlink(os.path.join(self.home, ".claude")))
        except OSError:
            return ""

    def hook_to_flip(self, timeout):
        """Seconds from the start of a `ccf hook stop-failure` call (a usage limit on the
        active account) to ~/.claude pointing at the other one; then a manual swap back."""
        before = self.link()
        other = "compte2" if before.endswith("compte1") else "compte1"
        event = json.dumps({"session_id": str(uuid.uuid4()), "cwd": self.home,
                            "hook_event_name": "StopFailure", "error": "rate_limit",
                            "last_assistant_message": "You've hit your limit \u00b7 resets 11pm (UTC)"}).encode()
        start = time.perf_counter()
        self.run([self.ccf, "hook", "stop-failure"], stdin=event)
        while not self.link().endswith(other):
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"no swap within {timeout} s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        # Back, and the mark on the first account cleared (the operator's word), once the
        # run that swapped has let the lock go (75 until then).
        back = [self.ccf, "swap", "--to", before.removeprefix(".claude-"), "--force", "--wait=30s"]
        done = self.run(back, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(back)} exited {done.returncode}: {done.stderr.decode()}")
        return elapsed

    def close(self):
        subprocess.run([self.script, "stop", self.NAME], capture_output=True)


def systemd_latency(ccf, runs, timer_runs):
    """The hook-to-swap latency with the path unit doing the work, beside the timer-only
    path (the path unit stopped). None when no user manager can be started here."""
    if os.geteuid() != 0 or not os.path.exists("/lib/systemd/systemd"):
        return None
    u = ManagedUser(ccf)
    try:
        path = [u.hook_to_flip(10) * 1000 for _ in range(runs)]
        u.run(["systemctl", "--user", "stop", "ccf-check-quota.path"])
        timer = [u.hook_to_flip(40) * 1000 for _ in range(timer_runs)]
    finally:
        u.close()
    return path, timer


class Etcd:
    """A real 3-member etcd cluster on loopback (Debian's etcd-server), like the tests'."""

    def __init__(self):
        import socket
        self.root = tempfile.mkdtemp(prefix="ccf-bench-etcd-", dir="/tmp")
        ports = []
        for _ in range(6):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        names = [f"m{i}" for i in range(3)]
        cluster = ",".join(f"{n}=http://127.0.0.1:{ports[2 * i + 1]}" for i, n in enumerate(names))
        self.endpoints = [f"http://127.0.0.1:{ports[2 * i]}" for i in range(3)]
        self.procs = []
        for i, n in enumerate(names):
            client, peer = self.endpoints[i], f"http://127.0.0.1:{ports[2 * i + 1]}"
            self.procs.append(subprocess.Popen(
                ["etcd", "--name", n, "--data-dir", os.path.join(self.root, n), "--listen-client-urls", client,
                 "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token",
                 os.path.basename(self.root), "--logger", "zap", "--log-level", "error"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        import urllib.request
        deadline = time.time() + 30
        for e in self.endpoints:
            while True:
                try:
                    if b'"health":"true"' in urllib.request.urlopen(e + "/health", timeout=1).read():
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise SystemExit(f"etcd member {e} never became healthy")
                time.sleep(0.05)

    def config(self, prefix, host):
        return f"fleet:\n  endpoints: [{', '.join(self.endpoints)}]\n  prefix: {prefix}\n  host: {host}\n"

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def with_fleet(world, etcd, prefix, host):
    """Writes a second config for `world` with `fleet:`; returns the env that uses it."""
    path = world.env["CCF_CONFIG"] + ".fleet.yaml"
    with open(world.env["CCF_CONFIG"]) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text + etcd.config(prefix, host))
    return {**world.env, "CCF_CONFIG": path}


def link_account(world):
    return os.path.basename(os.readlink(os.path.join(world.home, ".claude"))).removeprefix(".claude-")


def fleet_figures(ccf, runs):
    """The fleet's cost on a check-quota of 21 panes (beside the same run without `fleet:`),
    and the time from a limit on host 1 to host 2's sessions moved (the runs' own part;
    the wait for host 2's timer is added in periods)."""
    if shutil.which("etcd") is None:
        return None
    etcd = Etcd()
    try:
        w = World(ccf, 20)
        try:
            env = with_fleet(w, etcd, "/bench-cost", "h1")
            alone = measure("check-quota, 21 panes, no fleet:", [ccf, "check-quota"], w.env, runs)
            shared = measure("check-quota, 21 panes, fleet: (3-member etcd on loopback)", [ccf, "check-quota"],
                             env, runs)
            dead = {**w.env, "CCF_CONFIG": env["CCF_CONFIG"] + ".dead.yaml"}
            with open(env["CCF_CONFIG"]) as f:
                text = f.read()
            for e in etcd.endpoints:
                text = text.replace(e, "http://127.0.0.1:9")
            with open(dead["CCF_CONFIG"], "w") as f:
                f.write(text)
            down = measure("check-quota, 21 panes, fleet: with every member down", [ccf, "check-quota"], dead, runs)
        finally:
            w.close()
        moves = []
        for i in range(3 if runs <= 5 else 8):
            h1, h2 = World(ccf, 0, claude=True), World(ccf, 0, claude=True)
            try:
                e1 = {**with_fleet(h1, etcd, f"/bench-move-{i}", "h1"), "CCF_NOW": "2029-12-31T22:00:00Z"}
                e2 = {**with_fleet(h2, etcd, f"/bench-move-{i}", "h2"), "CCF_NOW": "2029-12-31T22:00:00Z"}
                set_mode(h1, "compte1", "limit 1893456000")
                type_into(h1, "ccl-1-proj", "hi")
                h1.wait_panes(True, "limit")
                set_mode(h1, "compte1", "normal")
                start = time.perf_counter()
                run_measured([ccf, "check-quota"], e1)  # host 1: the path unit's run on the hook event
                mid = time.perf_counter()
                run_measured([ccf, "check-quota"], e2)  # host 2: its next timer tick
                end = time.perf_counter()
                if link_account(h1) != "compte2" or link_account(h2) != "compte2":
                    raise SystemExit("a host did not move off compte1")
                moves.append(((mid - start) * 1000, (end - mid) * 1000))
            finally:
                h1.close()
                h2.close()
        return alone, shared, down, moves
    finally:
        etcd.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ccf", default=os.path.join(REPO, "target/release/ccf"))
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="fewer runs, no scaling rows")
    ap.add_argument("--no-systemd", action="store_true", help="skip the user-manager latency rows")
    ap.add_argument("--turns-only", action="store_true", help="only the restarts and killed turns per swap")
    ap.add_argument("--fleet-only", action="store_true", help="only the fleet's figures (needs etcd)")
    args = ap.parse_args()
    if args.fleet_only:
        print_fleet(fleet_figures(os.path.abspath(args.ccf), 5 if args.quick else args.runs))
        return
    if args.turns_only:
        t = swap_turns(os.path.abspath(args.ccf))
        print(json.dumps(t))
        return
    runs = 5 if args.quick else args.runs
    ccf = os.path.abspath(args.ccf)
    rows = []
    notes = []

    w = World(ccf, 20)
    try:
        panes = len(w.names)
        cq = measure(f"check-quota, {panes} panes (20 pool + 1 dedicated)", [ccf, "check-quota"], w.env, runs)
        base = measure(f"baseline: one tmux capture-pane per pane, {panes} tmux processes (shell loop)",
                       per_pane_loop(w), w.env, runs)
        batch = measure(f"baseline: the batched capture alone, {panes} panes in one tmux process (shell)",
                        batched_capture(w), w.env, runs)
        rows += [cq, base, batch]
        rows.append(measure("status --json", [ccf, "status", "--json"], w.env, runs))
        usage_in = json.dumps({"session_id": str(uuid.uuid4()), "cwd": w.home,
                               "rate_limits": {"five_hour": {"used_percentage": 42.0, "resets_at": 4102444800},
                                               "seven_day": {"used_percentage": 61.0, "resets_at": 4102444800}}})
        subprocess.run([ccf, "hook", "statusline"], env=w.env, input=usage_in.encode(), check=True,
                       stdout=subprocess.DEVNULL)
        rows.append(measure("status --tmux (the tmux segment: files only, no lock)", [ccf, "status", "--tmux"],
                            w.env, runs * 3))
        rows.append(measure("status --prometheus", [ccf, "status", "--prometheus"], w.env, runs))
        hook_in = json.dumps({"session_id": str(uuid.uuid4()), "cwd": w.home, "hook_event_name": "SessionStart",
                              "source": "startup"}).encode()
        hook = measure("hook session-start (Claude Code waits for it)", [ccf, "hook", "session-start"], w.env,
                       runs * 3, stdin=hook_in)
        rows.append(hook)
        rows.append(measure("baseline: /bin/true (process start)", ["/bin/true"], w.env, runs * 3))
        rows.append(measure("baseline: tmux -V", ["tmux", "-V"], w.env, runs))
        cold_runs = 3 if args.quick else 10
        for label, argv, stdin in (("cold: status --json (page cache dropped)", [ccf, "status", "--json"], None),
                                   ("cold: check-quota (page cache dropped)", [ccf, "check-quota"], None),
                                   ("cold: hook session-start (page cache dropped)", [ccf, "hook", "session-start"],
                                    hook_in),
                                   ("baseline cold: tmux -V (page cache dropped)", ["tmux", "-V"], None)):
            r = cold(label, argv, w.env, cold_runs, stdin)
            if r is None:
                notes.append("cold start not measured: this machine does not let us drop the page cache "
                             "(/proc/sys/vm/drop_caches needs root outside a container)")
                break
            rows.append(r)
    finally:
        w.close()
    ratio = cq["median_ms"] / base["median_ms"]
    batch_ratio = batch["median_ms"] / base["median_ms"]

    scaling = []
    if not args.quick:
        for n, tasks in ((10, 0), (100, 0), (10, 10000)):
            w = World(ccf, n, tasks=tasks)
            try:
                label = f"{len(w.names)} panes" + (f", {tasks} finished tasks" if tasks else "")
                scaling.append((label, measure("check-quota", [ccf, "check-quota"], w.env, runs)["median_ms"],
                                measure("status", [ccf, "status", "--json"], w.env, runs)["median_ms"],
                                measure("loop", per_pane_loop(w), w.env, runs)["median_ms"]))
            finally:
                w.close()

    swap = None
    w = World(ccf, 12, claude=True, dedicated=False)
    try:
        swap_runs = 4 if args.quick else 8
        swap = (*swap_round_trip(w, swap_runs),
                measure("respawn loop", respawn_loop(w), w.env, swap_runs)["median_ms"])
    except SystemExit as e:
        notes.append(f"swap not measured: {e}")
    finally:
        w.close()

    turns = None
    try:
        turns = swap_turns(ccf)
    except (SystemExit, StopIteration, KeyError, OSError) as e:
        notes.append(f"turns per swap not measured: {e!r}")

    fleet = None
    try:
        fleet = fleet_figures(ccf, runs)
    except SystemExit as e:
        notes.append(f"fleet not measured: {e}")

    latency = None
    if not args.no_systemd:
        latency = systemd_latency(ccf, 5 if args.quick else 20, 2 if args.quick else 4)
        if latency is None:
            notes.append("hook-to-swap latency under systemd not measured: it needs root and systemd's "
                         "binaries to start a user manager for a test user")

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    print(f"Machine: {os.cpu_count()} cores, {cpu}, {int(mem) // 1024 // 1024} GiB, Linux {platform.release()}; "
          f"{time.strftime('%Y-%m-%d')}; tmux {subprocess.run(['tmux', '-V'], capture_output=True, text=True).stdout.strip()}; "
          f"{runs} runs each (hook and /bin/true: {runs * 3}; cold rows: {cold_runs}).\n")
    # The binary's size: what the release profile (LTO, codegen units, strip) leaves. The
    # clean build time is not measured here (minutes; README.md gives it, by hand).
    print(f"Binary: {args.ccf}, {os.path.getsize(ccf) / 1024 / 1024:.1f} MiB.\n")
    print("| what | median | p90 | peak RSS |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['label']} | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | {r['rss_kib'] / 1024:.1f} MiB |")
    print(f"\ncheck-quota / per-pane loop: **{ratio:.2f}x**; the batched capture alone / per-pane loop: "
          f"**{batch_ratio:.2f}x** (the tmux work; check-quota also loads config and state, classifies and "
          f"saves state). Hook median {hook['median_ms']:.1f} ms (target <= 5 ms).")
    if swap is not None:
        print(f"\nFull swap of 12 idle sessions pinned to the account left (flip, relaunch each with --resume "
              f"onto ~/.claude, verify each runs claude on the target): median {swap[0]:.0f} ms; the swap back, "
              f"which carries all 12 (no relaunch): {swap[1]:.0f} ms; baseline, 12 respawn-pane calls from a "
              f"shell loop (no verification): {swap[2]:.0f} ms.")
    if turns is not None:
        (r1, r2), killed = turns["ccf"]
        old_restarts, old_killed = turns["old"]
        print(f"\nA mixed fleet of 12 (6 pinned by CLAUDE_CONFIG_DIR, 6 on ~/.claude; in each half 2 idle, 2 in "
              f"a {TURN} s turn, 2 at the limit screen), swapped away and back: sessions restarted {r1} on the "
              f"swap and {r2} on the return, turns killed {killed} in all; baseline, the old rule (every pinned "
              f"or blocked session relaunched at once), one swap: {old_restarts} restarted, {old_killed} "
              f"turns killed.")
    if latency is not None:
        path, timer = latency
        print("\nHook to swap under a real systemd user manager (an unprivileged user, `ccf systemd install`, "
              "nothing but systemd running ccf): from the start of a `ccf hook stop-failure` call to `~/.claude` "
              "pointing at the other account.\n")
        print("| path | median | p90 | max | runs |")
        print("|---|---:|---:|---:|---:|")
        for label, xs in (("`ccf-check-quota.path` (the spool watched)", path),
                          ("baseline: the 30 s timer alone (path unit stopped; each event sent just after a tick, the worst case)", timer)):
            xs = sorted(xs)
            p90 = xs[min(len(xs) - 1, math.ceil(len(xs) * 0.9) - 1)]
            print(f"| {label} | {statistics.median(xs):.0f} ms | {p90:.0f} ms | {xs[-1]:.0f} ms | {len(xs)} |")
    print_fleet(fleet)
    if scaling:
        print("\n| sessions / queue | check-quota median | status median | per-pane loop median |")
        print("|---|---:|---:|---:|")
        for label, c, s, l in scaling:
            print(f"| {label} | {c:.1f} ms | {s:.1f} ms | {l:.1f} ms |")
    for n in notes:
        print(f"\nNote: {n}")


def print_fleet(fleet):
    if fleet is None:
        print("\nFleet not measured: etcd is not installed (scripts/install-test-deps.sh installs etcd-server).")
        return
    alone, shared, down, moves = fleet
    print("\nThe fleet (issue 19): a check-quota of 21 panes with and without `fleet:`.\n")
    print("| what | median | p90 | peak RSS |")
    print("|---|---:|---:|---:|")
    for r in (alone, shared, down):
        print(f"| {r['label']} | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | {r['rss_kib'] / 1024:.1f} MiB |")
    h1 = statistics.median(m[0] for m in moves)
    h2 = statistics.median(m[1] for m in moves)
    print(f"\nThe fleet's read, publication and heartbeat add {shared['median_ms'] - alone['median_ms']:.1f} ms "
          f"to a run ({down['median_ms'] - alone['median_ms']:.1f} ms with every member down: refused connections). "
          f"Limit on host 1 to host 2's session moved, {len(moves)} runs: host 1's check-quota (swap and "
          f"publication) median {h1:.0f} ms, then host 2's next check-quota (reads it, swaps) median {h2:.0f} ms. "
          f"With the path unit host 1 runs at once on the hook event, so host 2 moves within one timer period "
          f"(<= 30 s + {h1 + h2:.0f} ms, 15 s on average); with the timer alone host 1 waits for its own tick "
          f"too (<= 2 periods, 60 s; 30 s on average). Without the fleet host 2 moves only when its own "
          f"sessions hit the wall.")


if __name__ == "__main__":
    main()
