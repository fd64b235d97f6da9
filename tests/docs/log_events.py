#!/usr/bin/env python3
"""log events: docs/log-events.md must list exactly the events the programs log.

Usage: log_events.py SOURCE_ROOT [CATALOGUE]   (CATALOGUE defaults to
SOURCE_ROOT/docs/log-events.md). Exit 0 when they agree, 1 with the list
of differences, 2 on a usage error.

Operators grep and alert on event names (common/log.h calls them stable), so
an event that is logged but not described, or described but gone, is a bug.
The script reads every C file of the programs (not tests, fuzzers, build
directories or common/log.[ch], which define the API) with a small C lexer
and finds each log_debug/log_info/log_warn/log_error/log_event call. Its
event name must be one of:

  * a string literal:                 log_warn("push_slow_reader", ...)
  * a choice of literals:             log_info(up ? "peer_up" : "peer_down", ...)
  * a parameter of the enclosing function, which every call of that
    function passes as a literal:     reg_log_member("member_joined", m)

Anything else is reported, so no event can hide from the catalogue. The
catalogue is every Markdown table row whose first cell is `name` in
backquotes under a header whose first cell is "Event"; the second cell
lists the levels the event is logged at ("warn", or "info, warn"). Names and
levels must match the code exactly.

Standard library only (meson runs it as the test 'log events', suite docs).
"""

import os
import re
import sys

LEVELS = ("debug", "info", "warn", "error")
LOG_FUNCS = {"log_" + lv: lv for lv in LEVELS}
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Words that may stand before a call (anything else before "name(" makes it
# a definition or a prototype).
STATEMENT_WORDS = {"return", "else", "do", "case", "sizeof"}

# Where a source file's events show up, for the row skeletons printed for a
# missing event (a guess to check, not something the test enforces).
PROGRAMS_BY_PATH = [
    ("register/", "register"),
    ("cluster/", "register, gateway, worker"),
    ("gateway/", "gateway"),
    ("push/", "gateway"),
    ("ws/", "gateway"),
    ("http/", "gateway"),
    ("worker/", "worker"),
    ("launcher/", "launcher"),
    ("proto/", "register, gateway, worker"),
    ("common/", "register, gateway, worker, launcher"),
]


# ---- a small C lexer ----------------------------------------------------------

TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<punct>->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!~<>=?:;,.()\[\]{}\#])
  | (?P<other>.)
    """,
    re.S | re.X,
)


class Tok:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind, self.text, self.line = kind, text, line

    def __repr__(self):
        return "%s:%r" % (self.kind, self.text)


def c_unquote(lit):
    """The text of a C string literal, enough for event names (no escapes
    are expected in them; one would make the name fail EVENT_NAME)."""
    return lit[1:-1]


def lex(text):
    """Tokens of a C file. Adjacent string literals are merged, as the
    compiler does; preprocessor directives are skipped except their tokens
    on #define lines (a macro may log)."""
    toks = []
    line = 1
    pos = 0
    at_line_start = True
    while pos < len(text):
        m = TOKEN.match(text, pos)
        kind, s = m.lastgroup, m.group()
        pos = m.end()
        if kind == "ws" or kind == "comment":
            if "\n" in s:
                at_line_start = True
            line += s.count("\n")
            continue
        if kind == "punct" and s == "#" and at_line_start:
            # #include "x.h" and friends: skip to the end of the line.
            word = TOKEN.match(text, pos)
            while word and word.lastgroup == "ws" and "\n" not in word.group():
                word = TOKEN.match(text, word.end())
            if not (word and word.group() == "define"):
                end = text.find("\n", pos)
                while end > 0 and text[end - 1] == "\\":
                    line += 1
                    end = text.find("\n", end + 1)
                pos = len(text) if end < 0 else end
                continue
        at_line_start = False
        if kind == "other" and s == "\\":
            continue
        if kind == "string" and toks and toks[-1].kind == "string":
            toks[-1].text = toks[-1].text[:-1] + s[1:]
            continue
        toks.append(Tok(kind, s, line))
    return toks


def match_paren(toks, i):
    """Index of the token closing the bracket at toks[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    want = [pairs[toks[i].text]]
    j = i + 1
    while j < len(toks):
        t = toks[j].text if toks[j].kind == "punct" else None
        if t in pairs:
            want.append(pairs[t])
        elif t is not None and want and t == want[-1]:
            want.pop()
            if not want:
                return j
        j += 1
    return len(toks) - 1


def split_args(toks, open_i):
    """The arguments of the call whose '(' is toks[open_i], as token lists."""
    close = match_paren(toks, open_i)
    args, cur, j = [], [], open_i + 1
    while j < close:
        t = toks[j]
        if t.kind == "punct" and t.text in "([{":
            k = match_paren(toks, j)
            cur.extend(toks[j:k + 1])
            j = k + 1
            continue
        if t.kind == "punct" and t.text == ",":
            args.append(cur)
            cur = []
        else:
            cur.append(t)
        j += 1
    if cur or args:
        args.append(cur)
    return args


def functions(toks):
    """(name, parameter names, body start, body end) of each function
    definition at file scope."""
    out = []
    depth = 0
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "punct" and t.text == "{":
            if depth == 0 and i > 0 and toks[i - 1].text == ")":
                close = i - 1
                # Walk back to the '(' matching the ')' before the body.
                d, j = 0, close
                while j >= 0:
                    if toks[j].text == ")":
                        d += 1
                    elif toks[j].text == "(":
                        d -= 1
                        if d == 0:
                            break
                    j -= 1
                if j > 0 and toks[j - 1].kind == "ident":
                    params = []
                    for p in split_args(toks, j):
                        idents = [x.text for x in p if x.kind == "ident"]
                        params.append(idents[-1] if idents else None)
                    end = match_paren(toks, i)
                    out.append((toks[j - 1].text, params, i, end))
                    i = end + 1
                    continue
            depth += 1
        elif t.kind == "punct" and t.text == "}":
            depth -= 1
        i += 1
    return out


def names_in_arg(arg):
    """Event names an argument evaluates to, or None when it is not a
    literal or a ?: choice of literals."""
    if len(arg) == 1 and arg[0].kind == "string":
        return [c_unquote(arg[0].text)]
    texts = [t.text for t in arg]
    if "?" in texts:
        rest = arg[texts.index("?") + 1:]
        # cond ? "a" : "b", possibly nested: only literals, ':' and '?' and
        # parenthesised conditions after the first '?'.
        lits = [c_unquote(t.text) for t in rest if t.kind == "string"]
        if len(lits) >= 2 and rest[-1].kind == "string":
            return lits
    return None


# ---- scanning the sources --------------------------------------------------------


def source_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        keep = []
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            if d.startswith(".") or (rel_dir == "." and d in ("tests", "subprojects")):
                continue
            # Build directories, whatever they are called.
            if os.path.exists(os.path.join(full, "meson-private")) or os.path.exists(
                    os.path.join(full, "build.ninja")) or os.path.exists(
                    os.path.join(full, "CMakeCache.txt")):
                continue
            keep.append(d)
        dirnames[:] = keep
        for f in sorted(filenames):
            if not f.endswith((".c", ".h")) or f.endswith(("_test.c", "_fuzz.c")):
                continue
            rel = os.path.normpath(os.path.join(rel_dir, f))
            if rel in (os.path.join("common", "log.c"), os.path.join("common", "log.h")):
                continue
            yield rel


class Scan:
    def __init__(self):
        self.events = {}      # name -> {level: [where, ...]}
        self.problems = []    # calls whose event name cannot be told

    def add(self, name, level, where):
        if not EVENT_NAME.match(name):
            self.problems.append("%s: event name %r is not snake_case (a-z, 0-9, _)" % (where, name))
            return
        self.events.setdefault(name, {}).setdefault(level, []).append(where)


def log_call(toks, i):
    """(level, event argument tokens) when toks[i] starts a log call."""
    t = toks[i]
    if t.kind != "ident" or i + 1 >= len(toks) or toks[i + 1].text != "(":
        return None
    if i > 0 and toks[i - 1].text in (".", "->"):
        return None
    if t.text in LOG_FUNCS:
        args = split_args(toks, i + 1)
        return LOG_FUNCS[t.text], args[0] if args else []
    if t.text == "log_event":
        args = split_args(toks, i + 1)
        if len(args) >= 2 and len(args[0]) == 1 and args[0][0].text.startswith("LOG_"):
            lv = args[0][0].text[4:].lower()
            if lv in LEVELS:
                return lv, args[1]
        return "?", []
    return None


def scan(root):
    sc = Scan()
    files = {}
    for rel in source_files(root):
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            files[rel] = lex(f.read())
    # Helpers that log an event named by one of their parameters:
    # name -> [(param index, level, where)].
    helpers = {}
    for rel, toks in files.items():
        funcs = functions(toks)
        for i in range(len(toks)):
            call = log_call(toks, i)
            if call is None:
                continue
            level, arg = call
            where = "%s:%d" % (rel, toks[i].line)
            if level == "?":
                sc.problems.append("%s: log_event without a LOG_* level constant first" % where)
                continue
            names = names_in_arg(arg)
            if names is not None:
                for n in names:
                    sc.add(n, level, where)
                continue
            func = next((f for f in funcs if f[2] < i < f[3]), None)
            if (func is not None and len(arg) == 1 and arg[0].kind == "ident"
                    and arg[0].text in func[1]):
                helpers.setdefault(func[0], []).append((func[1].index(arg[0].text), level, where))
                continue
            sc.problems.append(
                "%s: cannot tell which event this call logs (%s): pass a string literal, "
                "or a parameter that every caller fills with one"
                % (where, " ".join(t.text for t in arg) or "nothing"))
    for name, uses in sorted(helpers.items()):
        called = False
        for rel, toks in files.items():
            for i in range(len(toks) - 1):
                if toks[i].kind != "ident" or toks[i].text != name or toks[i + 1].text != "(":
                    continue
                prev = toks[i - 1] if i > 0 else None
                if prev is not None and (prev.text == "*" or (
                        prev.kind == "ident" and prev.text not in STATEMENT_WORDS)):
                    continue  # the definition or a prototype
                args = split_args(toks, i + 1)
                where = "%s:%d" % (rel, toks[i].line)
                for idx, level, inner in uses:
                    names = names_in_arg(args[idx]) if idx < len(args) else None
                    if names is None:
                        sc.problems.append(
                            "%s: %s() logs its argument %d as an event (%s), but this call does "
                            "not pass a string literal" % (where, name, idx + 1, inner))
                        continue
                    called = True
                    for n in names:
                        sc.add(n, level, "%s via %s" % (where, inner))
        if not called:
            sc.problems.append("%s: %s() logs a parameter as an event, but no call of it "
                               "passes a literal" % (uses[0][2], name))
    return sc


# ---- the catalogue ----------------------------------------------------------------


def cells(line):
    s = line.strip()
    if not s.startswith("|"):
        return None
    s = s[1:-1] if s.endswith("|") else s[1:]
    return [c.strip() for c in re.split(r"(?<!\\)\|", s)]


def read_catalogue(path):
    """name -> (set of levels, line number); and format problems."""
    rows, problems = {}, []
    in_table = False
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            c = cells(line)
            if c is None:
                in_table = False
                continue
            if c[0].lower() == "event":
                in_table = True
                continue
            if not in_table or set(c[0]) <= set("-: "):
                continue
            m = re.fullmatch(r"`([^`]+)`", c[0])
            if not m:
                problems.append("%s:%d: the first cell should be an event name in backquotes, "
                                "got %r" % (path, no, c[0]))
                continue
            name = m.group(1)
            levels = {lv.strip() for lv in (c[1] if len(c) > 1 else "").split(",") if lv.strip()}
            bad = levels - set(LEVELS)
            if bad or not levels:
                problems.append("%s:%d: `%s`: the level cell must list some of %s, got %r"
                                % (path, no, name, ", ".join(LEVELS), c[1] if len(c) > 1 else ""))
            if name in rows:
                problems.append("%s:%d: `%s` has a row already (line %d)"
                                % (path, no, name, rows[name][1]))
                continue
            rows[name] = (levels, no)
    return rows, problems


def programs_for(wheres):
    found = []
    for w in wheres:
        path = w.split(":")[0].replace(os.sep, "/")
        for prefix, progs in PROGRAMS_BY_PATH:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                for p in progs.split(", "):
                    if p not in found:
                        found.append(p)
                break
    return ", ".join(found) or "?"


def fmt_levels(levels):
    return ", ".join(lv for lv in LEVELS if lv in levels)


def main(argv):
    if len(argv) not in (2, 3) or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    root = argv[1]
    catalogue = argv[2] if len(argv) == 3 else os.path.join(root, "docs", "log-events.md")
    rel = os.path.relpath(catalogue, root)
    cat_name = catalogue if rel.startswith("..") else rel
    sc = scan(root)
    try:
        rows, problems = read_catalogue(catalogue)
    except OSError as e:
        print("log events: cannot read the catalogue: %s" % e)
        return 1
    problems = sc.problems + problems

    missing = sorted(set(sc.events) - set(rows))
    gone = sorted(set(rows) - set(sc.events))
    mismatched = sorted(n for n in set(rows) & set(sc.events)
                        if rows[n][0] != set(sc.events[n]) and not (rows[n][0] - set(LEVELS)))

    if missing:
        print("Logged but missing from %s (add a row for each; the programs "
              "column is a guess from the file names, check it):" % cat_name)
        for n in missing:
            lv = sc.events[n]
            wheres = [w for ws in lv.values() for w in ws]
            print("  %s (%s), logged at %s" % (n, fmt_levels(lv), ", ".join(wheres)))
            print("    | `%s` | %s | %s | <what it means> | %s |" % (
                n, fmt_levels(lv), programs_for(wheres),
                "<what to do>" if set(lv) & {"warn", "error"} else "-"))
    if gone:
        print("In %s but no program logs it any more (remove the row, or fix "
              "a renamed event):" % cat_name)
        for n in gone:
            print("  %s (line %d)" % (n, rows[n][1]))
    if mismatched:
        print("Logged at other levels than %s says:" % cat_name)
        for n in mismatched:
            lv = sc.events[n]
            print("  %s: the catalogue (line %d) says %s, the code logs %s (%s)" % (
                n, rows[n][1], fmt_levels(rows[n][0]), fmt_levels(lv),
                "; ".join("%s at %s" % (level, ", ".join(ws)) for level, ws in sorted(lv.items()))))
    if problems:
        print("Problems:")
        for p in problems:
            print("  " + p)

    bad = len(missing) + len(gone) + len(mismatched) + len(problems)
    if bad:
        print("log events: %d difference(s) between the sources and %s" % (bad, cat_name))
        return 1
    print("log events: %d events, every one catalogued in %s with its level"
          % (len(sc.events), cat_name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
