"""Joins the chat of `weft serve --chat`, says something, prints what arrives
until its own message comes back, then closes with 1000.

Usage: python chat_client.py ws://127.0.0.1:8080/ws [NICK]
Needs python-websockets (pip install websockets). Exits 1 after 5 s
without its own message back, or on an error from the server.
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect


async def chat(url, nick):
    text = "hello from Python: héllo wörld ✓ 🚀 日本語"
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "join", "nick": nick}))
        async for raw in ws:
            event = json.loads(raw)
            if event["type"] == "welcome":
                print(f"joined as {event['nick']}, online: {', '.join(event['online'])}")
                for old in event["history"]:
                    if old["type"] == "message":
                        print(f"(earlier) {old['nick']}: {old['text']}")
                await ws.send(json.dumps({"type": "say", "text": text}))
            elif event["type"] == "message":
                print(f"{event['nick']}: {event['text']}")
                if event["nick"] == nick and event["text"] == text:
                    break  # our own message came back
            elif event["type"] in ("join", "leave"):
                print(f"* {event['nick']} {event['type']}")
            elif event["type"] == "error":
                raise RuntimeError(f"the server says: {event['text']}")
        await ws.close(1000)


def main():
    url = sys.argv[1]
    nick = sys.argv[2] if len(sys.argv) > 2 else "ada"
    try:
        asyncio.run(asyncio.wait_for(chat(url, nick), timeout=5))
    except TimeoutError:
        sys.exit("no echo of our message within 5 s")
    except Exception as error:
        sys.exit(f"chat failed: {error}")


if __name__ == "__main__":
    main()
