"""Checks that the code blocks of a Markdown file that name a file are that file.

Usage: check_doc_snippets.py ROOT DOC REQUIRED_FILE...

A block names its file with a comment on the line before its opening fence:

    <!-- file: tests/interop/chat_client.py -->
    ```python
    ...
    ```

The text between the fences must be the file's text exactly (paths are
relative to ROOT). Every REQUIRED_FILE must be named by some block. Prints
one line per block, `PATH: ok` or `PATH: differs` (with a diff), and exits
1 if any block differs, names no readable file, or a required file has no
block.
"""

import difflib
import os
import re
import sys

MARKER = re.compile(r"^<!-- file: (\S+) -->$")
FENCE = re.compile(r"^(```+|~~~+)")


def blocks(lines):
    """Yields (path, text, line number) for each block named by a marker."""
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i].rstrip("\n"))
        if marker is None:
            i += 1
            continue
        path, start = marker.group(1), i + 1
        fence = FENCE.match(lines[start]) if start < len(lines) else None
        if fence is None:
            raise SystemExit(f"line {start}: no code block right after the marker for {path}")
        end = start + 1
        while end < len(lines) and lines[end].rstrip("\n") != fence.group(1):
            end += 1
        if end == len(lines):
            raise SystemExit(f"line {start + 1}: the code block for {path} is not closed")
        yield path, "".join(lines[start + 1 : end]), start + 1
        i = end + 1


def main():
    root, doc, required = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(os.path.join(root, doc), encoding="utf-8") as f:
        lines = f.readlines()
    failed = False
    seen = set()
    for path, text, line in blocks(lines):
        seen.add(path)
        try:
            with open(os.path.join(root, path), encoding="utf-8", newline="") as f:
                actual = f.read()
        except OSError as error:
            print(f"{path}: cannot be read ({error.strerror}), named at {doc}:{line}")
            failed = True
            continue
        if text == actual:
            print(f"{path}: ok")
            continue
        failed = True
        print(f"{path}: differs from the block at {doc}:{line}")
        diff = difflib.unified_diff(
            actual.splitlines(keepends=True), text.splitlines(keepends=True), path, doc
        )
        sys.stdout.writelines("    " + d if d.endswith("\n") else "    " + d + "\n" for d in diff)
    for path in required:
        if path not in seen:
            print(f"{path}: no block in {doc} names it")
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
