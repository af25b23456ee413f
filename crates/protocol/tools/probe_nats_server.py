#!/usr/bin/env python3
"""Probe a running nats-server with malformed client input and print a Markdown table.

Usage: nats-server -p 14222 -a 127.0.0.1 &  then  python3 probe_nats_server.py 14222

Each case opens a fresh connection, reads INFO, sends a CONNECT (unless the case says
otherwise) and then the case's bytes (several writes, 0.3 s apart, if given as a list).
It records everything the server sends within 0.6 s and whether it closed the socket. If
the socket is still open it sends PING to tell "alive and idle" from "waiting for more".
The last column says which part of Weir owns the behaviour (a ParseError variant or the
server) and is written by hand here.
"""
import socket
import sys
import time

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 14222

C = b'CONNECT {"verbose":false}\r\n'
CH = b'CONNECT {"verbose":false,"headers":true}\r\n'
NOPED = b'CONNECT {"verbose":false,"pedantic":false}\r\n'
PED = b'CONNECT {"verbose":false,"pedantic":true}\r\n'
VERB = b'CONNECT {"verbose":true}\r\n'
NONE = None

# (input chunks, CONNECT sent first, owner in Weir)
CASES = [
    # --- valid forms
    ([b"PUB foo 5\r\nhello\r\n"], C, "ok"),
    ([b"pub foo 5\r\nhello\r\n"], C, "ok (names are case-insensitive)"),
    ([b"PUB\tfoo \t 5\r\nhello\r\n"], C, "ok (blanks: any run of space/tab)"),
    ([b"PUB foo 5\nhello\r\n"], C, "ok (bare LF ends a control line)"),
    ([b"PUB foo 5 \r\nhello\r\n"], C, "ok"),
    ([b"PUB foo 0\r\n\r\n"], C, "ok"),
    ([b"PUB foo 000000005\r\nhello\r\n"], C, "ok (9 digits)"),
    ([b"PUB foo\r 5\r\nhello\r\n"], C, "ok, subject `foo\\r` (PUB splits on space/tab only)"),
    ([b"PUB foo 5\r\nhel", b"lo\r\n"], C, "ok (split payload)"),
    ([b"SUB foo 1\r\nPUB foo r 5\r\nhello\r\n"], C, "ok; MSG format"),
    ([b"SUB foo q 7\r\nPUB foo 5\r\nhello\r\n"], C, "ok; MSG format"),
    ([b"SUB foo\r 1\r\nPUB foo 1\r\nx\r\n"], C, "ok (SUB also splits on CR)"),
    ([b"SUB foo 1\r\nHPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"], CH, "ok; HMSG format"),
    ([b"SUB foo 1\r\nHPUB foo 0 2\r\nhi\r\n"], CH, "ok; header size 0 is delivered as MSG"),
    ([b"HPUB foo 5 7\r\nhellohi\r\n"], CH, "ok (header block not checked)"),
    ([b"SUB r 1\r\nPUB foo r 0\r\n\r\n"],
     b'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n', "server: no-responders status"),
    ([b"PING\r\n"], b'CONNECT{"verbose":false}\r\n', "ok (no blank needed after CONNECT)"),
    ([b"PINGX\r\n"], C, "Ping (rest of line ignored)"),
    ([b"PING foo\r\n"], C, "Ping"),
    ([b"PONGX\r\n"], C, "Pong"),
    ([b"PING\n"], C, "Ping"),
    ([b"+OK\r\n"], C, "Ok (ignored)"),
    ([b"+OKjunk\r\n"], C, "Ok"),
    ([b'INFO {}\r\n'], C, "Info (ignored)"),
    # --- unknown operation
    ([b"FOO\r\n"], C, "ParseError::UnknownOp"),
    ([b"PUBX foo 1\r\n"], C, "ParseError::UnknownOp"),
    ([b"PIN\r\n"], C, "ParseError::UnknownOp"),
    ([b"+O\r\n"], C, "ParseError::UnknownOp"),
    ([b"MSG foo 1 1\r\nx\r\n"], C, "ParseError::UnknownOp"),
    ([b"\r\n"], C, "ParseError::UnknownOp"),
    ([b"\n"], C, "ParseError::UnknownOp"),
    ([b" PING\r\n"], C, "ParseError::UnknownOp"),
    ([b"\x00\x01\x02\r\n"], C, "ParseError::UnknownOp"),
    ([b"X" * 5000], C, "ParseError::UnknownOp (at the first byte)"),
    ([b"PUB\r\n"], C, "ParseError::UnknownOp (blank required after name)"),
    ([b"HPUB\r\n"], CH, "ParseError::UnknownOp"),
    ([b"SUB\r\n"], C, "ParseError::UnknownOp"),
    ([b"UNSUB\r\n"], C, "ParseError::UnknownOp"),
    ([b"-ERR\r\n"], C, "ParseError::UnknownOp"),
    # --- bad arguments
    ([b"PUB foo\r\n"], C, "ParseError::PubArgs"),
    ([b"PUB \r\n"], C, "ParseError::PubArgs"),
    ([b"PUB foo bar baz 5\r\n"], C, "ParseError::PubArgs"),
    ([b"PUB foo abc\r\n"], C, "ParseError::PubSize"),
    ([b"PUB foo -1\r\n"], C, "ParseError::PubSize"),
    ([b"PUB foo +5\r\n"], C, "ParseError::PubSize"),
    ([b"PUB foo 0000000005\r\nhello\r\n"], C, "ParseError::PubSize (more than 9 digits)"),
    ([b"PUB foo 99999999999999999999\r\n"], C, "ParseError::PubSize"),
    ([b"HPUB foo 12\r\n"], CH, "ParseError::HpubArgs"),
    ([b"HPUB foo a b 12 14\r\n"], CH, "ParseError::HpubArgs"),
    ([b"HPUB foo x 14\r\n"], CH, "ParseError::HpubHeaderSize"),
    ([b"HPUB foo 12 x\r\n"], CH, "ParseError::HpubTotalSize"),
    ([b"HPUB foo 20 10\r\n"], CH, "ParseError::HpubHeaderTooLarge"),
    ([b"SUB foo\r\n"], C, "ParseError::SubArgs"),
    ([b"SUB foo q 1 extra\r\n"], C, "ParseError::SubArgs"),
    ([b"UNSUB 1 2 3\r\n"], C, "ParseError::UnsubArgs"),
    ([b"SUB foo 1\r\nUNSUB 1 abc\r\nPUB foo 1\r\nx\r\n"], C, "Unsub max None: unsubscribed at once"),
    ([b"SUB foo 1\r\nUNSUB 1 0\r\nPUB foo 1\r\nx\r\n"], C, "Unsub max None: unsubscribed at once"),
    ([b"SUB foo 1\r\nUNSUB 1 1234567890\r\nPUB foo 1\r\nx\r\n"], C, "Unsub max None (10 digits)"),
    ([b"SUB foo 1\r\nUNSUB 1 1\r\nPUB foo 1\r\nx\r\nPUB foo 1\r\ny\r\n"], C, "Unsub max Some(1)"),
    # --- payload framing and limits
    ([b"PUB foo 5\r\nhelloXX\r\n"], C, "ParseError::PayloadNotTerminated"),
    ([b"PUB foo 5\r\nhello\nPING\r\n"], C, "ParseError::PayloadNotTerminated (no bare LF after payload)"),
    ([b"PUB foo 5\r\nhel\r\n"], C, "waits for 2 more bytes; then PayloadNotTerminated"),
    ([b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhiXX\r\n"], CH, "ParseError::PayloadNotTerminated"),
    ([b"PUB foo 1048577\r\n"], C, "ParseError::MaxPayload"),
    ([b"HPUB foo 12 1048577\r\n"], CH, "ParseError::MaxPayload"),
    ([b"PUB foo 1048576\r\n"], C, "NeedMore (exactly max_payload is allowed)"),
    ([b"PUB " + b"a" * 4094 + b" 0\r\n\r\n"], C, "ok (4096 bytes of arguments)"),
    ([b"PUB " + b"a" * 4095 + b" 0\r\n\r\n"], C, "ParseError::MaxControlLine (4097 bytes)"),
    ([b"PUB " + b"a" * 2000, b"a" * 2095 + b" 0\r\n\r\n"], C, "ParseError::MaxControlLine"),
    ([b"PUB " + b"a" * 5000], C, "ParseError::MaxControlLine (no line end yet)"),
    ([b"SUB " + b"a" * 3000, b"a" * 3000 + b" 1\r\n"], C, "ParseError::MaxControlLine"),
    ([b"CONNECT {\"name\":\"" + b"a" * 3000, b"a" * 3000 + b"\"}\r\nPING\r\n"], NONE, "ParseError::MaxControlLine"),
    ([b"PING" + b" " * 3000, b" " * 3000 + b"\r\n"], C, "Weir: MaxControlLine (nats-server discards PING's tail unbounded)"),
    # --- decided by the server, not the parser
    ([b"SUB foo. 1\r\n"], C, "server: invalid subject"),
    ([b"SUB foo..bar 1\r\n"], C, "server: invalid subject"),
    ([b"SUB >.foo 1\r\n"], C, "server: invalid subject"),
    ([b"SUB foo. 1\r\n"], NOPED, "server: invalid subject (pedantic irrelevant)"),
    ([b"SUB foo q* 1\r\n"], C, "server: queue name not checked"),
    ([b"SUB foo 1\r\nSUB bar 1\r\n"], C, "server: duplicate sid ignored"),
    ([b"SUB foo abc\r\n"], C, "server: sids are opaque text"),
    ([b"UNSUB 99\r\n"], C, "server: unknown sid ignored"),
    ([b"PUB foo.* 1\r\nx\r\n"], NOPED, "server: pedantic false, no check"),
    ([b"PUB foo.* 1\r\nx\r\n"], PED, "server: pedantic check"),
    ([b"PUB foo.> 1\r\nx\r\n"], PED, "server: pedantic check"),
    ([b"PUB foo..bar 1\r\nx\r\n"], PED, "server: pedantic check"),
    ([b"PUB foo.* 1\r\nx\r\n"], C, "server: pedantic defaults to TRUE when CONNECT omits it"),
    ([b"PUB foo.* 1\r\nx\r\n"], b'CONNECT {}\r\n', "server: verbose and pedantic default TRUE"),
    ([b"PUB foo 1\r\nx\r\n"], VERB, "server: verbose"),
    ([b"SUB foo 1\r\nUNSUB 1\r\nPING\r\n"], VERB, "server: verbose (+OK per SUB/UNSUB, none for PING)"),
    ([b"SUB foo..bar 1\r\n"], VERB, "server: verbose, error instead of +OK"),
    ([b"PUB foo 1\r\nx\r\n"], NONE, "server: PUB before CONNECT allowed (no auth); verbose by default"),
    ([b"PING\r\n"], NONE, "server: PING before CONNECT"),
    ([], b'CONNECT notjson\r\n', "server: CONNECT JSON invalid"),
    ([], b'CONNECT\r\n', "Connect(\"\"); server: JSON invalid"),
    ([b'CONNECT {"verbose":false}\r\n'], C, "server: second CONNECT accepted"),
    ([b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"], C, "server: HPUB without headers:true"),
    ([b"-ERR 'boom'\r\n"], C, "Err; server: logs and closes"),
    ([b"INFO garbage\r\n"], C, "Info; server: JSON invalid"),
    ([b"INFO\r\n"], C, "Info(\"\"); server: JSON invalid"),
]


def read_for(s, timeout):
    data, closed = b"", False
    end = time.time() + timeout
    while (left := end - time.time()) > 0:
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, closed


def run(chunks, connect):
    s = socket.create_connection(("127.0.0.1", PORT))
    info, _ = read_for(s, 0.3)
    assert info.startswith(b"INFO "), info
    if connect is not None:
        s.sendall(connect)
    for i, c in enumerate(chunks):
        if i:
            time.sleep(0.3)
        try:
            s.sendall(c)
        except (BrokenPipeError, ConnectionResetError):
            break
    reply, closed = read_for(s, 0.6)
    if closed:
        fate = "**closed**"
    else:
        try:
            s.sendall(b"PING\r\n")
            more, closed = read_for(s, 0.5)
        except (BrokenPipeError, ConnectionResetError):
            more, closed = b"", True
        if b"PONG" in more:
            fate = "open"
            more = more.replace(b"PONG\r\n", b"", 1)
        elif closed:
            fate = "open, waiting; a later PING is a protocol error → **closed**"
        else:
            fate = "open, waiting for more bytes"
        if more:
            fate += f"; after PING: {show(more)}"
    s.close()
    return reply, fate


def show(b):
    if len(b) > 80:
        return f"`{show_raw(b[:24])}…` ({len(b)} bytes)"
    return f"`{show_raw(b)}`" if b else "(nothing)"


def show_raw(b):
    out = []
    for ch in b.decode("latin1"):
        if ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "|":
            out.append("\\|")
        elif ord(ch) < 32 or ord(ch) > 126:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def main():
    print("| # | CONNECT | input | nats-server reply | connection | Weir |")
    print("|---|---|---|---|---|---|")
    for n, (chunks, connect, owner) in enumerate(CASES, 1):
        reply, fate = run(chunks, connect)
        sent = " + ".join(show(c) for c in chunks) if chunks else "(none)"
        if len(chunks) > 1:
            sent += " (separate writes)"
        conn = show(connect.rstrip(b"\r\n")) if connect else "(none)"
        print(f"| {n} | {conn} | {sent} | {show(reply)} | {fate} | {owner} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
