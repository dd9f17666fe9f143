"""Writes the stdin inputs that tests/interop/run.sh feeds to `weft connect`.

Usage: make_connect_inputs.py DIR

DIR/text.txt: lines of text, one message each: multi-byte UTF-8 in several
scripts, emoji sequences, an empty line, spaces and a tab kept as they are,
and a line of 100 KB.
DIR/binary.hex: lines of lowercase hex, one binary message each: every byte
value, an empty message, and 1 MiB of random bytes.
"""

import os
import sys

TEXT_LINES = [
    "héllo wörld ✓ 🚀 日本語",
    "",
    "Ελληνικά — Русский — العربية — עברית — हिन्दी — 한국어",
    "emoji sequences: 👩‍👩‍👧‍👦 🇫🇷 🏳️‍🌈 👍🏽",
    "combining marks: e\u0301 a\u0308 n\u0303",
    "  spaces around and a\ttab  ",
    ("0123456789abcdef ✓ " * 6000)[:100_000],
    "the last line",
]

BINARY_MESSAGES = [
    bytes(range(256)),
    b"",
    bytes([0xFF, 0x00, 0x80, 0x7F]),
    os.urandom(1 << 20),
]


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, "text.txt"), "w", encoding="utf-8", newline="\n") as out:
        out.writelines(line + "\n" for line in TEXT_LINES)
    with open(os.path.join(directory, "binary.hex"), "w", encoding="ascii", newline="\n") as out:
        out.writelines(message.hex() + "\n" for message in BINARY_MESSAGES)


if __name__ == "__main__":
    main()
