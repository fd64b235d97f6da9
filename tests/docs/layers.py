#!/usr/bin/env python3
"""
layers — the folders are layers and depend one way (docs/architecture.md):
every #include "folder/file.h" in a C file must name its own folder or one
the folder may use; and nng's headers are included only by the cluster
layer and the two programs that speak the register's protocol themselves. The static libraries enforce this at link time for
calls; this test also catches a header reached for its types or macros.

    python3 tests/docs/layers.py <repo root>

Prints each offending include and exits 1; exits 0 when there is none.
"""
import os
import re
import sys

# folder -> the folders it may include from (besides itself)
MAY_USE = {
    "common": set(),
    "proto": {"common"},
    "cluster": {"common", "proto"},
    "http": {"common"},
    "ws": {"common", "http"},
    "push": {"common", "proto", "http"},
    "register": {"common", "proto", "cluster"},
    "gateway": {"common", "proto", "cluster", "http", "ws", "push"},
    "worker": {"common", "proto", "cluster", "http"},
    "launcher": {"common", "proto", "cluster", "http"},
    "bench": {"common"},
    "tests": {"common"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"', re.M)
# nng is named only in the cluster layer, and where a program speaks the
# register's request/reply protocol itself (the register, gatecast status).
NNG = re.compile(r'^\s*#\s*include\s+<nng/', re.M)
NNG_MAY = ("cluster/", "register/main.c", "launcher/status.c")


def main(root):
    bad = []
    seen = 0
    for folder, allowed in MAY_USE.items():
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            bad.append(f"{folder}/: the folder is missing")
            continue
        for dirpath, _, names in os.walk(d):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                seen += 1
                # Tests and fuzz targets may use the shared test harness.
                extra = {"tests"} if re.search(r"_(test|fuzz)\.c$", name) else set()
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                m = NNG.search(text)
                if m and not rel.startswith(NNG_MAY):
                    line = text.count("\n", 0, m.start()) + 1
                    bad.append(f"{rel}:{line}: only {', '.join(NNG_MAY)} may include nng")
                for m in INCLUDE.finditer(text):
                    target = m.group(1)
                    if target != folder and target not in allowed | extra:
                        line = text.count("\n", 0, m.start()) + 1
                        bad.append(f"{rel}:{line}: {folder}/ may not include {m.group(0).split()[-1]}")
    for b in bad:
        print(b)
    if seen == 0:
        print("no C files found: wrong root?")
        return 1
    print(f"layers: {seen} files, {len(bad)} includes against the layer order")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
