#!/usr/bin/env python3
"""config doc: docs/configuration.md must document exactly the config keys
the programs know, each with its real default and reload behaviour.

Usage: config_doc.py PROGRAM DOC   (PROGRAM: a built gatecast program whose
--help prints every key, e.g. build/gateway/gatecast-gateway; DOC:
docs/configuration.md). Exit 0 when they agree, 1 with the list of
differences, 2 on a usage error.

The source of truth is the program's `--help`, which config_describe()
prints by walking the key table in common/config.c: one line per key,
`section.key = default   # meaning`, with "(reloadable)" at the end for the
keys a running process re-reads on SIGHUP. Reading the built program rather
than the C table means the test follows the table whatever its C form.

The documented keys are the Markdown table rows whose first cell is one
`section.key` in backquotes, under a header whose first cell is "Key". The
second cell is the default (in backquotes, `""` for empty), the third says
"yes" when the key is reloadable and "no" (or "-") when it takes a restart.

Standard library only (meson runs it as the test 'config doc', suite docs).
"""

import re
import subprocess
import sys

HELP_LINE = re.compile(r"^([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*) = (.*?)\s+# (.*)$")
DOC_KEY = re.compile(r"^`([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)`$")
RELOADABLE = " (reloadable)"


def keys_from_help(program):
    """{key: (default, reloadable)} from PROGRAM --help."""
    out = subprocess.run([program, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=30, check=False)
    if out.returncode != 0:
        raise RuntimeError("%s --help exited %d: %s" % (
            program, out.returncode, out.stderr.decode(errors="replace").strip()))
    keys = {}
    for line in out.stdout.decode().splitlines():
        m = HELP_LINE.match(line)
        if m:
            keys[m.group(1)] = (m.group(2), m.group(3).endswith(RELOADABLE))
    return keys


def cells(line):
    """The cells of a Markdown table row, or None for a line that is not one."""
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return [c.strip() for c in line[1:-1].split("|")]


def keys_from_doc(path):
    """({key: (default, reloadable or None, line)}, [problems])."""
    rows, problems = {}, []
    in_key_table = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            c = cells(line)
            if c is None:
                in_key_table = False
                continue
            if c[0] == "Key":
                in_key_table = True
                continue
            if not in_key_table or set(c[0]) <= set("-: "):
                continue
            m = DOC_KEY.match(c[0])
            if m is None:
                problems.append("line %d: a row in a key table whose first cell is not one "
                                "`section.key`: %s" % (n, c[0]))
                continue
            key = m.group(1)
            if key in rows:
                problems.append("line %d: %s is documented twice (first at line %d)"
                                % (n, key, rows[key][2]))
                continue
            if len(c) < 4:
                problems.append("line %d: %s: the row needs Key | Default | Reload | Meaning"
                                % (n, key))
                continue
            default = c[1]
            if len(default) >= 2 and default[0] == "`" and default[-1] == "`":
                default = default[1:-1]
            else:
                problems.append("line %d: %s: the default %r is not in backquotes"
                                % (n, key, default))
            reload = {"yes": True, "no": False, "-": False}.get(c[2].lower())
            if reload is None:
                problems.append("line %d: %s: the reload cell is %r, not yes or no"
                                % (n, key, c[2]))
            if not c[3]:
                problems.append("line %d: %s: the meaning is empty" % (n, key))
            rows[key] = (default, reload, n)
    return rows, problems


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    program, doc = argv[1], argv[2]
    try:
        real = keys_from_help(program)
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        print("config doc: cannot read the keys: %s" % e)
        return 1
    if not real:
        print("config doc: %s --help listed no `section.key = value  # meaning` lines: "
              "has its format changed?" % program)
        return 1
    try:
        rows, problems = keys_from_doc(doc)
    except OSError as e:
        print("config doc: cannot read %s: %s" % (doc, e))
        return 1

    bad = list(problems)
    for key in sorted(set(real) - set(rows)):
        default, reload = real[key]
        bad.append("%s exists but is not documented; add a row: | `%s` | `%s` | %s | <meaning> |"
                   % (key, key, default, "yes" if reload else "no"))
    for key in sorted(set(rows) - set(real)):
        bad.append("line %d: %s is documented but no program has it any more"
                   % (rows[key][2], key))
    for key in sorted(set(rows) & set(real)):
        default, reload, line = rows[key]
        if default != real[key][0]:
            bad.append("line %d: %s: the documented default is `%s`, the program's is `%s`"
                       % (line, key, default, real[key][0]))
        if reload is not None and reload != real[key][1]:
            bad.append("line %d: %s: documented as %s, but the program %s"
                       % (line, key, "reloadable" if reload else "taking a restart",
                          "re-reads it on SIGHUP" if real[key][1] else "does not re-read it"))
    for b in bad:
        print(b)
    if bad:
        print("config doc: %d difference(s) between %s --help and %s" % (len(bad), program, doc))
        return 1
    print("config doc: %d keys, every one documented with its default and reload behaviour"
          % len(real))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
