#!/usr/bin/env python3
"""Writes the committed seed corpus: a few meaningful inputs per target, in
the layout each target expects (leading control bytes, then data)."""
import os, struct

here = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xfa, 0x21, 0x3d])

def frame(first, payload, mask=True):
    out = bytearray([first])
    bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126: out.append(bit | n)
    elif n < 65536: out += bytes([bit | 126]) + struct.pack(">H", n)
    else: out += bytes([bit | 127]) + struct.pack(">Q", n)
    if mask:
        out += KEY
        out += bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))
    else:
        out += payload
    return bytes(out)

HELLO_DEFLATED = bytes([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
REQUEST = (b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, v2\r\n"
           b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
RESPONSE_TAIL = (b"Sec-WebSocket-Protocol: chat\r\n"
                 b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"
                 + frame(0x81, b"hi", mask=False))

# [selector] method, :protocol, :authority, target, request headers, blank
# line, response headers (docs/fuzzing.md, parsed_handshake).
PARSED_H1 = (b"GET\n\nexample.com\n/chat\nHost: example.com\nUpgrade: websocket\n"
             b"Connection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
             b"Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: chat\nOrigin: https://example.com\n"
             b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n\n"
             b"sec-websocket-protocol: chat\nsec-websocket-extensions: permessage-deflate\n")
PARSED_H2 = (b"CONNECT\nwebsocket\nexample.com:443\n/chat?x=1\nSec-WebSocket-Version: 13\n"
             b"Sec-WebSocket-Protocol: chat, v2\nSec-WebSocket-Extensions: permessage-deflate\n\n"
             b"sec-websocket-protocol: other\n")

seeds = {
    "frame_header": [frame(0x81, b"Hello")[:6], frame(0x82, b"x" * 300)[:8],
                     frame(0x82, b"x" * 70000)[:14], frame(0x89, b"", mask=False)[:2]],
    # [flags, three chunk sizes, polling (owned, lent, alternating)] then bytes
    "connection": [
        bytes([0, 7, 3, 255, 0]) + frame(0x81, b"Hello") + frame(0x89, b"ping")
        + frame(0x01, b"frag") + frame(0x80, b"ment") + frame(0x88, struct.pack(">H", 1000)),
        bytes([1, 5, 5, 5, 1]) + frame(0x82, b"\x00\x01\x02", mask=False) + frame(0x88, b"", mask=False),
        bytes([8, 255, 255, 255, 2]) + frame(0xC1, HELLO_DEFLATED) + frame(0x81, b"plain"),
        bytes([2, 1, 2, 3, 1]) + frame(0x82, b"y" * 600) + frame(0x81, "héllo €".encode()),
        bytes([0, 255, 255, 255, 1]) + frame(0x89, b"p") + frame(0x81, b"ok \xff not utf-8"),
    ],
    "parsed_handshake": [bytes([0x0c]) + PARSED_H1, bytes([0x0f]) + PARSED_H2,
                         bytes([0x1d]) + PARSED_H2, bytes([0x40]) + PARSED_H1.replace(b"GET", b"POST")],
    "server_handshake": [bytes([255, 255]) + REQUEST, bytes([3, 9]) + REQUEST,
                         bytes([255, 255]) + b"POST / HTTP/1.1\r\nHost: a\r\n\r\n"],
    "client_handshake": [bytes([1, 255, 255]) + RESPONSE_TAIL, bytes([1, 4, 9]) + b"\r\n",
                         bytes([0, 255, 255]) + b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 2\r\n\r\nno"],
    "deflate_negotiation": [bytes([0, 0]) + b"permessage-deflate; client_max_window_bits",
                            bytes([5, 200]) + b"permessage-deflate; server_no_context_takeover; server_max_window_bits=10, permessage-deflate"],
    "inflate": [bytes([0, 255, 255]) + HELLO_DEFLATED, bytes([1, 2, 3]) + HELLO_DEFLATED * 3],
    "utf8": [bytes([1, 2, 3]) + "héllo wörld € 𝄞 κόσμε".encode(), bytes([0, 0, 0]) + b"ok \xf4\x90 no"],
    "round_trip": [bytes([0, 3, 5]) + b"hello world, and some binary \xff\xfe\x00",
                   bytes([0x0b, 40, 7]) + b"compress me " * 20],
    # [flags (client, chunk scale, then the drain's polling), three chunk
    # sizes, two bytes of polling per chunk] then [kind, size, seed]
    # records: binary, 80 KiB text, ping, fragments, 70 KiB binary.
    "large_frames": [bytes([0, 255, 0, 17, 0xE4, 0x1B]) + bytes([0x00, 200, 1, 0x05, 80, 3, 0x02, 10, 5, 0x03, 150, 8, 0x04, 70, 2]),
                     bytes([3, 60, 255, 3, 0x55, 0xAA]) + bytes([0x04, 255, 9, 0x01, 90, 6, 0x03, 64, 16, 0x00, 1, 0]),
                     bytes([0, 40, 90, 200, 0xFF, 0x00]) + bytes([0x00, 100, 2, 0x09, 100, 1, 0xC0, 100, 4])],
    # [side (bit 0: a client sends), two unused] then [op, a, b] records:
    # op % 6 of 0-1 queues a message ((op / 6) % 3: short, around 512 B or
    # long; bit 0x40: text; bit 0x80: prepared, on a server), 2 a ping,
    # 3-4 writes (a * 256 + b) % 3000 bytes in place, 5 takes an owned
    # transmit.
    "transmit_in_place": [
        bytes([0, 0, 0]) + bytes([0, 0, 10, 2, 7, 0, 3, 0, 3, 12, 1, 0, 2, 8, 0, 4, 0, 200, 5, 0, 0, 0x40, 0, 90, 0x8C, 0, 200, 3, 0, 9]),
        bytes([1, 0, 0]) + bytes([12, 2, 0, 3, 0, 1, 2, 1, 0, 6, 0, 60, 2, 2, 0, 3, 0, 50, 0x46, 1, 200, 4, 11, 184]),
    ],
}
for target, inputs in seeds.items():
    os.makedirs(os.path.join(here, target), exist_ok=True)
    for i, data in enumerate(inputs):
        with open(os.path.join(here, target, f"seed-{i}"), "wb") as f:
            f.write(data)
