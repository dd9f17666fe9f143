"""A python-websockets client of an echo server, for tests/interop/run.sh.

Usage: echo_client.py URL --deflate on|off --expect-deflate yes|no

Offers permessage-deflate or not, checks that the Sec-WebSocket-Extensions
the server agreed to is what was expected, sends text (multi-byte UTF-8,
empty, 100 KB) and binary (every byte value, empty, 1 MiB random) messages,
checks that each echo comes back byte-exact and of the same type, then
closes with 1000 and checks that the server answered with 1000.
Prints nothing on success; exits 1 with the reason on stderr otherwise.
"""

import argparse
import asyncio
import os
import sys

from websockets.asyncio.client import connect
from websockets.protocol import State

TIMEOUT = 20  # seconds for the whole exchange
MAX_SIZE = 16 * 1024 * 1024


def messages():
    """The messages sent, in order: text as str, binary as bytes."""
    return [
        "héllo wörld ✓ 🚀 日本語",
        "",
        "ascii only",
        ("0123456789abcdef ✓ " * 6000)[:100_000],
        bytes(range(256)),
        b"",
        os.urandom(1 << 20),
    ]


def describe(message):
    kind = "text" if isinstance(message, str) else "binary"
    return f"{kind} message of {len(message)} {'characters' if kind == 'text' else 'bytes'}"


def check_extensions(ws, expect_deflate):
    agreed = ws.response.headers.get("Sec-WebSocket-Extensions")
    if expect_deflate:
        if agreed is None or not agreed.strip().startswith("permessage-deflate"):
            raise AssertionError(f"expected permessage-deflate to be agreed, got {agreed!r}")
    elif agreed is not None:
        raise AssertionError(f"expected no extension to be agreed, got {agreed!r}")


async def exchange(url, deflate, expect_deflate):
    async with connect(
        url,
        compression="deflate" if deflate else None,
        max_size=MAX_SIZE,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
    ) as ws:
        check_extensions(ws, expect_deflate)
        for sent in messages():
            await ws.send(sent)
            echo = await ws.recv()
            if type(echo) is not type(sent):
                raise AssertionError(f"{describe(sent)}: the echo is a {describe(echo)}")
            if echo != sent:
                raise AssertionError(f"{describe(sent)}: the echo differs ({describe(echo)})")
        await ws.close(1000)
        received = ws.protocol.close_rcvd
        if received is None:
            raise AssertionError("no close frame came back from the server")
        if received.code != 1000:
            raise AssertionError(f"the server closed with {received.code}, expected 1000")
        if ws.state is not State.CLOSED:
            raise AssertionError(f"connection not closed after the closing handshake: {ws.state}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--deflate", choices=["on", "off"], required=True)
    parser.add_argument("--expect-deflate", choices=["yes", "no"], required=True)
    args = parser.parse_args()
    try:
        asyncio.run(
            asyncio.wait_for(
                exchange(args.url, args.deflate == "on", args.expect_deflate == "yes"),
                TIMEOUT,
            )
        )
    except TimeoutError:
        print(f"python-websockets client: no result within {TIMEOUT} s", file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # every other failure is reported the same way
        print(f"python-websockets client: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
