#!/usr/bin/python3
"""A stand-in for Claude Code, for ccf's fast tests.

It behaves like the real `claude` where ccf depends on it:
- picks its config dir from CLAUDE_CONFIG_DIR, else ~/.claude;
- `--session-id ID` starts that session, `--resume ID` continues one, but only from
  the directory it was started in (else "No conversation found with session ID: ID");
- writes its transcript to <config>/projects/<slug of cwd>/<id>.jsonl;
- refuses to run when CLAUDECODE is set, like the real one inside a Claude session;
- interactive: reads prompts from the terminal and answers per the account's mode;
  on EOF or /exit prints "Resume this session with: claude --resume <id>";
- `-p`: one prompt (argument or stdin), `--output-format stream-json` like 2.1.330;
- runs SessionStart / StopFailure command hooks from <config>/settings.json;
- keeps <config>/sessions/<pid>.json (pid, sessionId, cwd) while it runs, like 2.1.330.

The account's mode lives in <config>/fake-mode (one line): `normal` (default),
`limit [EPOCH]`, `weekly [EPOCH]`, `bare` (a limit without a reset time), `500`, `529`, `auth`,
`sleep SECONDS`, `work SECONDS` (a turn that runs that long with the real client's footer
`esc to interrupt` on screen, as during a long tool call). The mode is read at every
prompt, from the config dir as a path: a claude on `~/.claude` follows a flipped link.
A turn runs the `UserPromptSubmit` hook when it starts and `Stop` when it ends well;
every assistant row names the home that answered (`home`), so tests see which account
served a turn, and a turn cut short leaves a `user` row with no answer after it.
Every invocation is logged as one JSON line (argv, cwd, config dir, environment, stdin
prompt) to $FAKE_CLAUDE_LOG, default $HOME/fake-claude.log.
"""
import json
import os
import re
import subprocess
import sys
import time
import uuid


def slug(path):
    return re.sub(r"[^A-Za-z0-9]", "-", path)


def main():
    args = sys.argv[1:]
    opts = {"print": False, "session_id": None, "resume": None, "format": "text", "model": None}
    positional = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-p", "--print"):
            opts["print"] = True
        elif a == "--session-id":
            i += 1
            opts["session_id"] = args[i]
        elif a in ("--resume", "-r"):
            i += 1
            opts["resume"] = args[i]
        elif a == "--output-format":
            i += 1
            opts["format"] = args[i]
        elif a == "--model":
            i += 1
            opts["model"] = args[i]
        elif a.startswith("-"):
            pass  # --verbose, --dangerously-skip-permissions, ...
        else:
            positional.append(a)
        i += 1

    home = os.environ.get("HOME", "/")
    config = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(home, ".claude")
    cwd = os.getcwd()
    prompt = None
    if opts["print"]:
        prompt = positional[0] if positional else sys.stdin.read()

    log = os.environ.get("FAKE_CLAUDE_LOG") or os.path.join(home, "fake-claude.log")
    with open(log, "a") as f:
        f.write(json.dumps({
            "argv": sys.argv[1:], "cwd": cwd, "config_dir": config, "pid": os.getpid(),
            "env": dict(os.environ), "prompt": prompt, "time": time.time(),
        }) + "\n")

    # A claude that cannot start on this account (`<config>/fake-start` says `fail`), as
    # when its login is gone: it says why and exits, as the real one does.
    try:
        with open(os.path.join(config, "fake-start")) as f:
            if f.read().strip() == "fail":
                print("Error: fake start failure on this account", flush=True)
                return 1
    except OSError:
        pass
    if os.environ.get("CLAUDECODE"):
        print("Error: Claude Code cannot be launched inside another Claude Code session.", file=sys.stderr)
        return 1

    project_dir = os.path.join(config, "projects", slug(cwd))
    if opts["resume"]:
        sid = opts["resume"]
        if not os.path.exists(os.path.join(project_dir, sid + ".jsonl")):
            print(f"No conversation found with session ID: {sid}", file=sys.stderr)
            return 1
        source = "resume"
    else:
        sid = opts["session_id"] or str(uuid.uuid4())
        source = "startup"
    os.makedirs(project_dir, exist_ok=True)
    transcript = os.path.join(project_dir, sid + ".jsonl")
    session = Session(config, sid, cwd, transcript)
    # Like 2.1.330: a record of the running process, removed on exit.
    registry = os.path.join(config, "sessions", f"{os.getpid()}.json")
    os.makedirs(os.path.dirname(registry), exist_ok=True)
    with open(registry, "w") as f:
        json.dump({"pid": os.getpid(), "sessionId": sid, "cwd": cwd, "status": "idle",
                   "startedAt": int(time.time() * 1000)}, f)
    session.hook("SessionStart", {"source": source, "model": opts["model"] or "fake"})
    try:
        if opts["print"]:
            return session.print_mode(prompt, opts["format"])
        return session.interactive(resumed=bool(opts["resume"]))
    finally:
        try:
            os.remove(registry)
        except OSError:
            pass


class Session:
    def __init__(self, config, sid, cwd, transcript):
        self.config, self.sid, self.cwd, self.transcript = config, sid, cwd, transcript

    def mode(self):
        try:
            with open(os.path.join(self.config, "fake-mode")) as f:
                parts = f.read().split()
        except OSError:
            parts = []
        return parts or ["normal"]

    def row(self, kind, **fields):
        with open(self.transcript, "a") as f:
            f.write(json.dumps({"type": kind, "sessionId": self.sid, "cwd": self.cwd,
                                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                **fields}) + "\n")

    def hook(self, event, fields):
        try:
            with open(os.path.join(self.config, "settings.json")) as f:
                hooks = json.load(f).get("hooks", {}).get(event, [])
        except (OSError, ValueError):
            return
        payload = json.dumps({"session_id": self.sid, "transcript_path": self.transcript,
                              "cwd": self.cwd, "hook_event_name": event, **fields})
        for group in hooks:
            for h in group.get("hooks", []):
                if h.get("type") == "command":
                    subprocess.run(["sh", "-c", h["command"]], input=payload.encode(), check=False)

    def answer(self, prompt):
        """Returns (ok, text, quota) for one turn, per the account's mode."""
        self.row("user", message={"role": "user", "content": prompt})
        self.hook("UserPromptSubmit", {"prompt": prompt})
        mode = self.mode()
        kind = mode[0]
        reset = int(mode[1]) if len(mode) > 1 and kind in ("limit", "weekly") else int(time.time()) + 3600
        if kind in ("limit", "weekly"):
            clock = time.strftime("%-I:%M%p", time.gmtime(reset)).lower().replace(":00", "")
            if kind == "limit":
                text = f"You've hit your 5-hour limit \u00b7 resets {clock} (UTC)"
                rtype = "five_hour"
            else:
                text = f"You've hit your weekly limit \u00b7 resets {clock} (UTC)"
                rtype = "seven_day"
            quota = {"status": "rejected", "resetsAt": reset, "rateLimitType": rtype}
            self.row("assistant", isApiErrorMessage=True, error="rate_limit", apiErrorStatus=429,
                     quotaLimits=quota, message={"role": "assistant", "content": [{"type": "text", "text": text}]})
            self.hook("StopFailure", {"error": "rate_limit", "last_assistant_message": text})
            return False, text, quota
        if kind == "bare":
            # A limit banner without a reset time (older wordings had none).
            text = "You've hit your session limit"
            self.row("assistant", isApiErrorMessage=True, error="rate_limit",
                     message={"role": "assistant", "content": [{"type": "text", "text": text}]})
            self.hook("StopFailure", {"error": "rate_limit", "last_assistant_message": text})
            return False, text, None
        if kind in ("500", "529"):
            text = ('API Error: 500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}'
                    if kind == "500" else
                    'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
            self.row("assistant", isApiErrorMessage=True, error="server_error",
                     message={"role": "assistant", "content": [{"type": "text", "text": text}]})
            self.hook("StopFailure", {"error": "server_error" if kind == "500" else "overloaded",
                                      "last_assistant_message": text})
            return False, text, None
        if kind == "auth":
            text = ('API Error: 401 {"type":"error","error":{"type":"authentication_error",'
                    '"message":"Invalid authentication credentials"}} \u00b7 Please run /login')
            self.hook("StopFailure", {"error": "authentication_failed", "last_assistant_message": text})
            return False, text, None
        if kind == "sleep":
            time.sleep(float(mode[1]) if len(mode) > 1 else 3600)
        if kind == "work":
            # The real client's spinner line, above the input box, while a turn runs.
            print("\u273b Working\u2026 (esc to interrupt)", flush=True)
            time.sleep(float(mode[1]) if len(mode) > 1 else 5)
            print("\x1b[1A\r\x1b[K", end="", flush=True)
        text = f"reply to: {prompt}"
        # Which account answered: the mode is read again, so a flip during the turn shows.
        self.row("assistant", home=os.path.realpath(self.config),
                 message={"role": "assistant", "content": [{"type": "text", "text": text}]})
        self.hook("Stop", {"stop_hook_active": False})
        return True, text, None

    def interactive(self, resumed):
        print(f"\u273b Welcome to fake Claude Code ({'resumed' if resumed else 'new'} session)", flush=True)
        if resumed:
            # Like the real client, a resumed session re-renders its history.
            with open(self.transcript) as f:
                for line in f:
                    r = json.loads(line)
                    content = r.get("message", {}).get("content")
                    if r["type"] == "user":
                        print(f"\u276f {content}")
                    elif isinstance(content, list):
                        bullet = "  \u23bf  " if r.get("isApiErrorMessage") else "\u25cf "
                        print(bullet + content[0]["text"])
            print("", flush=True)
        while True:
            print("\u276f ", end="", flush=True)
            line = sys.stdin.readline()
            if not line or line.strip() == "/exit":
                print(f"\nResume this session with:\nclaude --resume {self.sid}", flush=True)
                return 0
            prompt = line.rstrip("\n")
            if not prompt:
                continue
            ok, text, _ = self.answer(prompt)
            print(("\u25cf " if ok else "  \u23bf  ") + text, flush=True)

    def print_mode(self, prompt, fmt):
        start = time.time()
        ok, text, quota = self.answer(prompt)
        if fmt == "stream-json":
            def emit(obj):
                print(json.dumps(obj), flush=True)
            emit({"type": "system", "subtype": "init", "session_id": self.sid, "cwd": self.cwd})
            if quota:
                emit({"type": "rate_limit_event", "rate_limit_info": {**quota, "overageStatus": "rejected"},
                      "session_id": self.sid})
            emit({"type": "assistant", "message": {"content": [{"type": "text", "text": text}]},
                  "session_id": self.sid})
            emit({"type": "result", "subtype": "success" if ok else "error_during_execution",
                  "is_error": not ok, "result": text, "session_id": self.sid,
                  "duration_ms": int((time.time() - start) * 1000)})
        else:
            print(text)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
