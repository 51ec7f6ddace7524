#!/usr/bin/env python3
"""The messages a Claude Code build can show on its API-error and usage-limit paths.

Claude Code ships its UI as JavaScript inside its binary (a Bun standalone build: every
module starts with `// @bun @bytecode`). This script reads those modules, lexes every
string and template literal, keeps the user-facing ones that speak about limits, usage
credits, spend, auth, billing, overload, server and connection errors and model
fallback, and writes them as a catalogue: one template per line, its `${...}`
placeholders named by kind (`${time}`, `${model}`, ...), beside the verdict ccf must
give it (DESIGN.md §5). `src/detect/catalogue_tests.rs` fills the placeholders, runs the
classifier on every template and names each one whose verdict differs.

Usage:
  scripts/claude-catalogue.py                 # the pinned client (scripts/install-claude-code.sh)
  scripts/claude-catalogue.py --binary PATH   # another build
  scripts/claude-catalogue.py --check         # exit 1 if the fixture is not what the binary says

The output is tests/fixtures/catalogue-<version>.txt. Verdicts are carried over from the
newest existing catalogue for every template it already had; a new or changed template
gets the verdict `?` and is listed on stdout, so the review a new release needs is: run
this, read the list, write the verdicts, run `cargo test --lib catalogue`.
Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODULE_START = b"// @bun @bytecode\n"

# ---- reading the bundle ------------------------------------------------------------------


def modules(binary: Path) -> list[str]:
    """The JavaScript modules embedded in a Bun standalone binary."""
    data = binary.read_bytes()
    out = []
    at = data.find(MODULE_START)
    while at != -1:
        end = data.find(b"\x00", at)
        end = len(data) if end == -1 else end
        out.append(data[at:end].decode("utf-8", "replace"))
        at = data.find(MODULE_START, end)
    if not out:
        sys.exit(f"claude-catalogue: no JavaScript modules in {binary} (not a Bun build?)")
    return out


def version_of(mods: list[str]) -> str:
    for m in mods:
        v = re.search(r"^// Version: (\S+)$", m[:4096], re.M)
        if v:
            return v.group(1)
    sys.exit("claude-catalogue: the bundle names no version (// Version: ...)")


# ---- a small JavaScript lexer: string and template literals --------------------------------

REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^")
REGEX_KEYWORDS = ("return", "typeof", "case", "in", "of", "void", "delete", "throw", "else", "do", "yield", "await")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


@dataclass
class Literal:
    """A string literal (parts == [text]) or a template (text, expr, text, expr, ..., text)."""

    parts: list[str]
    exprs: list[str]
    at: int


def decode(raw: str) -> str:
    out = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = raw[i + 1 : i + 2]
        if n == "x":
            out.append(chr(int(raw[i + 2 : i + 4], 16)))
            i += 4
        elif n == "u" and raw[i + 2 : i + 3] == "{":
            j = raw.index("}", i)
            out.append(chr(int(raw[i + 3 : j], 16)))
            i = j + 1
        elif n == "u":
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
        elif n == "\n":
            i += 2
        else:
            out.append(ESCAPES.get(n, n))
            i += 2
    return "".join(out)


class Lexer:
    def __init__(self, src: str):
        self.s = src
        self.n = len(src)

    def string(self, i: int) -> int:
        """End (exclusive) of the quoted string starting at i."""
        q = self.s[i]
        i += 1
        while i < self.n:
            c = self.s[i]
            if c == "\\":
                i += 2
            elif c == q or c == "\n":
                return i + 1
            else:
                i += 1
        return self.n

    def regex(self, i: int) -> int:
        i += 1
        in_class = False
        while i < self.n:
            c = self.s[i]
            if c == "\\":
                i += 2
                continue
            if c == "\n":
                return i
            if in_class:
                in_class = c != "]"
            elif c == "[":
                in_class = True
            elif c == "/":
                i += 1
                while i < self.n and (self.s[i].isalnum() or self.s[i] == "_"):
                    i += 1
                return i
            i += 1
        return self.n

    def regex_allowed(self, i: int) -> bool:
        j = i - 1
        while j >= 0 and self.s[j] in " \t\n":
            j -= 1
        if j < 0 or self.s[j] in REGEX_BEFORE:
            return True
        k = j
        while k >= 0 and (self.s[k].isalnum() or self.s[k] in "_$"):
            k -= 1
        return self.s[k + 1 : j + 1] in REGEX_KEYWORDS

    def template(self, i: int, found: list[Literal]) -> int:
        """Parses the template at i (a backtick); appends it and every literal inside."""
        start = i
        i += 1
        parts, exprs, buf = [], [], []
        while i < self.n:
            c = self.s[i]
            if c == "\\":
                buf.append(self.s[i : i + 2])
                i += 2
            elif c == "`":
                parts.append("".join(buf))
                found.append(Literal(parts, exprs, start))
                return i + 1
            elif c == "$" and self.s[i + 1 : i + 2] == "{":
                parts.append("".join(buf))
                buf = []
                end = self.code(i + 2, found, until="}")
                exprs.append(self.s[i + 2 : end - 1])
                i = end
            else:
                buf.append(c)
                i += 1
        return self.n

    def code(self, i: int, found: list[Literal], until: str | None = None) -> int:
        """Lexes code from i; with `until`, stops after the unbalanced closing brace."""
        depth = 0
        s = self.s
        pattern = re.compile(r"[\"'`/{}]")
        while i < self.n:
            m = pattern.search(s, i)
            if not m:
                return self.n
            i = m.start()
            c = s[i]
            if c in "\"'":
                end = self.string(i)
                found.append(Literal([s[i + 1 : end - 1]], [], i))
                i = end
            elif c == "`":
                i = self.template(i, found)
            elif c == "/":
                nxt = s[i + 1 : i + 2]
                if nxt == "/":
                    e = s.find("\n", i)
                    i = self.n if e == -1 else e
                elif nxt == "*":
                    e = s.find("*/", i + 2)
                    i = self.n if e == -1 else e + 2
                elif self.regex_allowed(i):
                    i = self.regex(i)
                else:
                    i += 1
            elif c == "{":
                depth += 1
                i += 1
            else:  # "}"
                if until and depth == 0:
                    return i + 1
                depth -= 1
                i += 1
        return self.n


def literals(src: str) -> list[Literal]:
    found: list[Literal] = []
    Lexer(src).code(0, found)
    return found


# ---- which literals are messages of the API-error and usage-limit paths -------------------

# The modules that render them, found by what they hold (module order and minified names
# change with every build): the API-error constants, the limit banners, the stream errors,
# the limit-banner prefixes, and the UI's footer notices and fallback notices.
ANCHORS = (
    '="API Error"',
    "You've hit your ${",
    "mid-response. The response above may be incomplete",
    "You're out of extra usage",
    "Credit balance too low \\xB7 Add funds",
    "Usage limit reached \\xB7 ",
)

# What a message of those paths speaks about.
TOPIC = re.compile(
    r"""(?ix)
      \b(?:hit|reached|reach|exceeded|approaching|near(?:ing)?)\s+(?:your|the)\b[^.]{0,40}\blimit
    | \blimit\s+(?:reached|resets|hit)\b | \bresets\s+(?:\$\{|in\b|at\b|[A-Z0-9])
    | \b(?:weekly|session|5-hour|spend|monthly|opus|sonnet|fable|fast|usage)\s+limit
    | usage\s+credits | extra\s+usage | out\s+of\s+(?:usage|credits|extra) | seat\s+type
    | /login | login\s+(?:expired|reached) | oauth\s+token | invalid\s+(?:api\s+key|auth)
    | authentication\s+(?:error|failed|required) | failed\s+to\s+authenticate
    | disabled\s+organization | organization\s+(?:has|is)\s+(?:disabled|been\s+disabled|out)
    | org\s+is\s+out | apikeyhelper | not\s+logged\s+in | credit\s+balance
    | overloaded | high\s+load | server\s+error | mid-response | api\s+error
    | temporarily\s+limiting | rate[\s_-]limit | connection\s+(?:lost|error|refused|reset)
    | unable\s+to\s+connect | request\s+timed\s+out | response\s+(?:stopped|stalled|never)
    | now\s+using | switched\s+to\s+\$\{ | \bfallback\s+model
    """
)

# Subsystems that share those words but never speak about the account's quota or the
# API's answer to a turn (plugins, git, artifacts, auto mode, logs of internal retries).
OFF_TOPIC = re.compile(
    r"""(?x)
      [Ff]all(?:ing|s)?\s*back | fallback\ (?:refresh|write|to) | GrowthBook | [Mm]arketplace
    | [Pp]lugin | \bMCP\b | \bgit\b | SSH | HTTPS\ authentication | [Aa]rtifact | pull\ request
    | [Pp]osting | [Aa]uto\ mode | classifier | [Cc]ompact | [Hh]ook | memory\ file | worktree
    | FileHistory | Turndown | Snapshot | Shallow | Bedrock | Keychain | keychain | Cloud\ gateway
    | [Cc]loud\ session | Remote\ Control | [Tt]rusted[\ -][Dd]evice | x-client-request-id
    | Connection\ error\ details | Stream\ ended\ cleanly | Mid-stream | [Ss]treaming | WebSocket
    | ultrareview | Ultrareview | inbox | \bIDE\b | /ide | Claude\ Docs | SSL | certificate
    | OAuth\ token\ revoke | Failed\ to\ (?:save|read|clear|fetch|validate|list|load|update)
    | Error\ getting | Security: | (?:API\ error|Hooks?):\ | \(attempt\ \$\{ | status=\$\{
    | \bConsole\b | [Pp]rofile | CLAUDE_CODE_OAUTH_TOKEN | Re-adopt | \bgh\b | domain\ \$\{
    | re-sends\ the\ whole | Resuming\ the\ full | free\ week | feature\ of\ the\ week
    """
)


def is_message(text: str) -> bool:
    if not TOPIC.search(text) or OFF_TOPIC.search(text):
        return False
    # A message starts like a sentence, a placeholder, or a ` · ` suffix; a log line or a
    # field's description does not.
    if not re.match(r"(?:\$\{|[A-Z]|\s*·\s|\s[A-Z])", text):
        return False
    if text.startswith("[") or len(text) > 320:
        return False
    if re.match(r"(?:Whether|When|If|ISO|Percent|Rate limit (?:information|event)|Emitted|Which|Why|"
                r"Model to|Skip|Requests the|Structured|False|Plan rate|Extra-usage|Fast mode state|"
                r"The consent|[A-Z][A-Za-z]+:)", text):
        return False
    return len(re.findall(r"[A-Za-z][A-Za-z'’-]*\s", text)) >= 2


# ---- placeholders ------------------------------------------------------------------------

IDENT = re.compile(r"^[A-Za-z_$][\w$]*$")


def bindings(src: str) -> dict[str, str | None]:
    """`NAME` → its string value where a module binds NAME once, to a string literal.

    Minified names are reused in inner scopes: a name declared twice is not resolved.
    """
    declared: dict[str, int] = {}
    for m in re.finditer(r"(?:\bvar|\blet|\bconst|,)\s*([A-Za-z_$][\w$]*)=", src):
        declared[m.group(1)] = declared.get(m.group(1), 0) + 1
    out: dict[str, str | None] = {}
    for m in re.finditer(r"(?:\bvar|\blet|\bconst|,)\s*([A-Za-z_$][\w$]*)=(\"(?:[^\"\\\n]|\\.)*\")(?=[,;])", src):
        name = m.group(1)
        out[name] = decode(m.group(2)[1:-1]) if declared.get(name) == 1 else None
    return out


def kind(before: str, after: str) -> str:
    """The kind of a placeholder, from the text around it."""
    b = before.lower().rstrip()
    a = after.lower()
    if re.search(r"(?:resets?|reset at|resets at|until|expires)$", b):
        return "time"
    if b.endswith(" in") or b == "in":
        return "duration"
    if re.search(r"(?:attempt|after)$", b) or a.startswith(("%", "/")):
        return "n"
    if re.search(r"(?:status|http)$", b):
        return "status"
    if a.startswith((" requires", " is experiencing", " runs on", " is drawing", " needs", " limit")):
        return "model"
    if re.search(r"(?:using|for|switch to|switched to|keep using)$", b):
        return "model"
    if re.search(r"(?:your|the)$", b) and (a == "" or a.startswith(("${", ".", " ·"))):
        return "limit"
    if re.search(r"(?:run|use|try)$", b):
        return "command"
    if re.search(r"(?:at|visit|funds:|in|from)$", b):
        return "url"
    if not before or before.endswith(("(", ": ")) or after.startswith(")"):
        return "detail"
    if before and not before[-1].isspace():
        return "suffix"
    return "text"


def render(lit: Literal, consts: dict[str, str | None], glob: dict[str, str | None]) -> str:
    parts = [decode(p) for p in lit.parts]
    out = parts[0]
    for i, expr in enumerate(lit.exprs):
        expr = expr.strip()
        value = None
        if IDENT.match(expr):
            value = consts.get(expr) if expr in consts else glob.get(expr)
        if value is not None and "${" not in value:
            out += value
        else:
            rest = "".join(parts[i + 1 :])
            out += "${" + kind(out, rest) + "}"
        out += parts[i + 1]
    return out


def names(src: str, keyword: str) -> dict[str, str]:
    """A module's `import{a as b}` (b → a) or `export{a as b}` (a → b) lists."""
    out = {}
    for group in re.findall(keyword + r"\s*\{([^}]*)\}", src):
        for item in group.split(","):
            words = item.split()
            if words:
                outer, local = words[0], words[-1]
                if keyword == "import":
                    out[local] = outer
                else:
                    out[outer] = local
    return out


def catalogue(mods: list[str]) -> list[str]:
    # Constants a module imports: the exporting module's string binding of that name.
    exported: dict[str, str | None] = {}
    for m in mods:
        values = bindings(m)
        for local, outer in names(m, "export").items():
            if local in values:
                v = values[local]
                exported[outer] = v if exported.get(outer, v) == v else None
    chosen = [m for m in mods if any(a in m for a in ANCHORS)]
    seen: set[str] = set()
    out = []
    for m in chosen:
        consts = bindings(m)
        imported = {
            local: exported[outer] for local, outer in names(m, "import").items() if outer in exported
        }
        for lit in literals(m):
            try:
                text = render(lit, consts, imported)
            except (ValueError, IndexError):
                continue  # an escape the decoder does not know: not UI text
            text = " ".join(text.split())
            if text in seen or not is_message(text):
                continue
            seen.add(text)
            out.append(text)
    return sorted(out)


# ---- the fixture -------------------------------------------------------------------------

HEADER = """\
# The messages Claude Code {version} can show on its API-error and usage-limit paths,
# extracted from its binary by scripts/claude-catalogue.py, each with the verdict ccf
# must give it (DESIGN.md §5) once its placeholders are filled (src/detect/catalogue_tests.rs).
# Columns, separated by tabs: verdict, scope (- for none), template. `?` = not reviewed yet.
# Regenerate: scripts/claude-catalogue.py [--binary PATH]   (verdicts of kept templates stay)
"""


def read_fixture(path: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        verdict, scope, template = line.split("\t", 2)
        out[template] = (verdict, scope)
    return out


def newest_fixture(exclude: Path | None = None) -> Path | None:
    def key(p: Path):
        v = p.stem.removeprefix("catalogue-")
        return tuple(int(x) if x.isdigit() else 0 for x in v.split("."))

    found = sorted((p for p in FIXTURES.glob("catalogue-*.txt") if p != exclude), key=key)
    return found[-1] if found else None


def pinned_binary() -> Path:
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-claude-code.sh")],
        check=True, stdout=subprocess.PIPE, text=True,
    )
    return Path(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", type=Path, help="a Claude Code binary (default: the pinned one)")
    ap.add_argument("--check", action="store_true", help="exit 1 if the fixture differs from the binary")
    args = ap.parse_args()
    binary = args.binary or pinned_binary()
    mods = modules(binary)
    version = version_of(mods)
    templates = catalogue(mods)
    out_path = FIXTURES / f"catalogue-{version}.txt"
    previous = out_path if out_path.exists() else newest_fixture()
    known = read_fixture(previous) if previous else {}
    lines = [HEADER.format(version=version)]
    new = []
    for t in templates:
        verdict, scope = known.get(t, ("?", "-"))
        if verdict == "?":
            new.append(t)
        lines.append(f"{verdict}\t{scope}\t{t}\n")
    gone = sorted(set(known) - set(templates))
    text = "".join(lines)
    if args.check:
        same = out_path.exists() and out_path.read_text(encoding="utf-8") == text
        print(f"{out_path.relative_to(ROOT)}: {'up to date' if same else 'differs from ' + str(binary)}")
        return 0 if same else 1
    FIXTURES.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    base = f" (verdicts from {previous.relative_to(ROOT)})" if previous else ""
    print(f"{out_path.relative_to(ROOT)}: {len(templates)} templates of Claude Code {version}{base}")
    for t in new:
        print(f"  new, needs a verdict: {t}")
    for t in gone:
        print(f"  gone since {previous.name}: {t}")
    if new:
        print(f"{len(new)} to review: write each verdict (and scope) in place of `?`, then "
              "run `cargo test --lib catalogue`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
