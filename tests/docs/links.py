#!/usr/bin/env python3
"""links: every relative link in the repository's Markdown files must reach a
file that exists, and a link with a #fragment a heading of that file.

    python3 tests/docs/links.py <repo root>

The manual moved from README.md into docs/, and pages link to each other's
sections (docs/operations.md#reload), so a renamed heading or a moved file
breaks links silently. Fragments are GitHub's heading slugs: lower case,
backquotes and punctuation dropped, blanks as '-'. Links inside code blocks
and to other sites are not checked.

Prints each broken link and exits 1; exits 0 when there is none.
Standard library only (meson runs it as the test 'doc links', suite docs).
"""
import os
import re
import sys

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_BLOCK = re.compile(r"^```.*?^```[^\n]*$", re.S | re.M)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
SKIP_DIRS = {".git", "node_modules", "subprojects"}


def slug(heading):
    out = []
    for ch in heading.strip().lower():
        if ch.isalnum() or ch in "-_":
            out.append(ch)
        elif ch == " ":
            out.append("-")
    return "".join(out)


def markdown_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        # Build directories, whatever they are called, hold copies and logs.
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not os.path.exists(
            os.path.join(dirpath, d, "meson-private")))
        for f in sorted(filenames):
            if f.endswith(".md"):
                yield os.path.join(dirpath, f)


def main(root):
    texts = {}

    def text_of(path):
        if path not in texts:
            with open(path, encoding="utf-8") as f:
                texts[path] = CODE_BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), f.read())
        return texts[path]

    bad, checked, seen = [], 0, 0
    for path in markdown_files(root):
        seen += 1
        rel = os.path.relpath(path, root)
        text = text_of(path)
        for m in LINK.finditer(text):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            checked += 1
            line = text.count("\n", 0, m.start()) + 1
            file_part, _, fragment = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not os.path.exists(dest):
                bad.append("%s:%d: %s: no such file" % (rel, line, target))
                continue
            if fragment:
                if not dest.endswith(".md"):
                    bad.append("%s:%d: %s: a #fragment on a file that is not Markdown"
                               % (rel, line, target))
                elif fragment not in {slug(h) for h in HEADING.findall(text_of(dest))}:
                    bad.append("%s:%d: %s: %s has no such heading"
                               % (rel, line, target, os.path.relpath(dest, root)))
    for b in bad:
        print(b)
    if seen == 0:
        print("no Markdown files found: wrong root?")
        return 1
    print("doc links: %d files, %d relative links, %d broken" % (seen, checked, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
