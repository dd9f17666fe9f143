#!/usr/bin/env python3
"""Tables of the criterion comparison (benches/benches/compare.rs).

Reads the medians criterion wrote under target/criterion (or
$CARGO_TARGET_DIR/criterion) and prints markdown: frames/s and payload GB/s
per library, Weft's ratio to the fastest peer, and to memcpy of the same
bytes. Run it after `cargo bench -p weft-benches --bench compare`.
"""

import json
import os
import sys
from pathlib import Path

PEERS = ["tungstenite", "fastwebsockets", "tokio-websockets"]
# weft: `poll_event`, owned events; weft-ref: `poll_event_ref`, lent ones.
WEFT = ["weft", "weft-ref"]
LIBS = WEFT + PEERS


def load(root):
    """(group, function_id, value) -> (median seconds, throughput bytes)."""
    out = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        bytes_ = (meta.get("throughput") or {}).get("Bytes")
        key = (meta["group_id"], meta["function_id"], meta.get("value_str"))
        out[key] = (est["median"]["point_estimate"] / 1e9, bytes_)
    return out


def gbs(entry):
    seconds, bytes_ = entry
    return bytes_ / seconds / 1e9


def decode_table(data, group, title):
    sizes = sorted({int(v) for (g, _, v) in data if g == group and v})
    if not sizes:
        return
    print(f"### {title}\n")
    print(
        "| payload | " + " | ".join(LIBS) + " | memcpy | weft / fastest peer"
        " | weft-ref / fastest peer | weft / memcpy | weft-ref / memcpy |"
    )
    print("|---" * (len(LIBS) + 6) + "|")
    for kind in ["binary", "text"]:
        for size in sizes:
            row = {}
            for lib in LIBS:
                entry = data.get((group, f"{kind}/{lib}", str(size)))
                if entry:
                    row[lib] = entry
            if "weft" not in row:
                continue
            memcpy = data.get((group, "memcpy", str(size)))
            cells = []
            for lib in LIBS:
                if lib not in row:
                    cells.append("–")
                    continue
                rate = gbs(row[lib])
                frames = rate * 1e9 / size / 1e6
                cells.append(f"{frames:.1f} M/s, {rate:.2f} GB/s")
            cells.append(f"{gbs(memcpy):.1f} GB/s" if memcpy else "–")
            best = max((gbs(row[p]) for p in PEERS if p in row), default=None)
            ours = [gbs(row[w]) if w in row else None for w in WEFT]
            for rate in ours:
                cells.append(f"{rate / best:.2f}×" if best and rate else "–")
            for rate in ours:
                cells.append(f"{rate / gbs(memcpy):.2f}×" if memcpy and rate else "–")
            print(f"| {kind} {size} B | " + " | ".join(cells) + " |")
    print()


def simple_table(data, group, title, unit="GB/s", ratio=False):
    keys = sorted(
        {(f, v) for (g, f, v) in data if g == group},
        key=lambda k: (k[0].split("/")[0], int(k[1]) if k[1] else 0, k[0]),
    )
    if not keys:
        return
    libs = sorted(
        {f.split("/")[-1] for f, _ in keys},
        key=lambda l: (not l.startswith("weft"), l != "weft", l),
    )
    rows = {}
    for f, v in keys:
        prefix = "/".join(f.split("/")[:-1])
        label = f"{prefix} {v} B".strip() if v else prefix or group
        rows.setdefault(label, {})[f.split("/")[-1]] = data[(group, f, v)]
    print(f"### {title}\n")
    ratios = [lib for lib in libs if lib.startswith("weft")] if ratio else []
    print("| | " + " | ".join(libs + [f"{w} / fastest peer" for w in ratios]) + " |")
    print("|---" * (len(libs) + len(ratios) + 1) + "|")
    for label, cells in rows.items():
        out = []
        for lib in libs:
            entry = cells.get(lib)
            if not entry:
                out.append("–")
            elif entry[1]:
                out.append(f"{gbs(entry):.2f} {unit}")
            else:
                out.append(f"{entry[0] * 1e6:.2f} µs")
        best = max((gbs(cells[p]) for p in PEERS if p in cells), default=None)
        for w in ratios:
            out.append(f"{gbs(cells[w]) / best:.2f}×" if best and w in cells else "–")
        print(f"| {label} | " + " | ".join(out) + " |")
    print()


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    root = target / "criterion"
    if not root.is_dir():
        sys.exit(f"no criterion results under {root}: run cargo bench first")
    data = load(root)
    decode_table(data, "decode_masked", "Decoding masked frames (a server receiving)")
    decode_table(data, "decode_unmasked", "Decoding unmasked frames (a client receiving)")
    simple_table(data, "encode", "Encoding (a server sending binary messages)", ratio=True)
    simple_table(
        data,
        "encode_batch",
        "Encoding in batches (32 messages queued per transmit or flush)",
        ratio=True,
    )
    simple_table(data, "mask", "Masking in place")
    simple_table(data, "utf8", "UTF-8 validation")
    handshake = data.get(("handshake", "weft", None))
    if handshake:
        print(f"### Opening handshake\n\nweft, both ends in memory: {handshake[0] * 1e6:.2f} µs\n")


if __name__ == "__main__":
    main()
