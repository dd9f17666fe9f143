"""A python-websockets echo server, for tests/interop/run.sh.

Usage: echo_server.py --deflate on|off

Listens on 127.0.0.1 on a free port and prints `listening on ws://ADDR`
once ready. Echoes every message with its type (text as text, binary as
binary). When a connection ends it prints one line:

    closed code=1000 extensions=permessage-deflate

the close code received from the client (`none` without a close frame) and
the Sec-WebSocket-Extensions it answered with (`none` if it agreed to no
extension). Runs until SIGTERM or SIGINT.
"""

import argparse
import asyncio
import signal

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

MAX_SIZE = 16 * 1024 * 1024


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)  # str is sent as text, bytes as binary
    except ConnectionClosed:
        pass
    received = ws.protocol.close_rcvd
    code = "none" if received is None else received.code
    extensions = ws.response.headers.get("Sec-WebSocket-Extensions") or "none"
    print(f"closed code={code} extensions={extensions}", flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deflate", choices=["on", "off"], required=True)
    args = parser.parse_args()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
    async with serve(
        echo,
        "127.0.0.1",
        0,
        compression="deflate" if args.deflate == "on" else None,
        max_size=MAX_SIZE,
    ) as server:
        host, port = server.sockets[0].getsockname()[:2]
        print(f"listening on ws://{host}:{port}", flush=True)
        try:
            await stop
        except asyncio.CancelledError:
            pass


if __name__ == "__main__":
    asyncio.run(main())
