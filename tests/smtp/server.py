#!/usr/bin/env python3
"""A real SMTP server for the email tests (aiosmtpd), on 127.0.0.1.

Usage: server.py PORT DIR

PORT 0 picks a free port; the port listened on is always the first line printed. Each message accepted is
written to DIR as one JSON file, `<n>.json`, written whole and then renamed into place, so a reader never sees
half of one:

    {"mail_from": ..., "rcpt_tos": [...], "headers": [[name, value], ...],
     "parts": [{"content_type": ..., "content": ...}], "data": <the message as sent>}

Headers and parts are decoded by Python's own email package (RFC 2047 words, quoted-printable, base64, and
CRLF line ends back to LF), which also shows the message parses as MIME at all.

Replies are scripted by the recipient's local part:
    transient-*  451 4.3.0 Try again later (at RCPT)
    reject-*     550 5.1.1 No such user (at RCPT)
    anything else is accepted: 250 2.0.0 Ok: queued as <n>

The server stops when its standard input closes (the test that started it has ended, however it ended), or on
SIGTERM.
"""

import asyncio
import email
import email.policy
import itertools
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP

TRANSIENT = "451 4.3.0 Try again later"
REJECT = "550 5.1.1 No such user"


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.numbers = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("transient-"):
            return TRANSIENT
        if local.startswith("reject-"):
            return REJECT
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.numbers)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            try:
                content = part.get_content()
            except Exception as e:  # a part that does not decode is recorded as such; the test then fails on it
                content = f"<undecodable part: {e}>"
            if isinstance(content, bytes):
                content = content.decode("utf-8", "replace")
            # Lines end as the text had them, not as SMTP carries them.
            content = content.replace("\r\n", "\n")
            parts.append({"content_type": part.get_content_type(), "content": content})
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "headers": [[k, str(v)] for k, v in message.items()],
            "parts": parts,
            "data": raw.decode("utf-8", "replace"),
        }
        path = os.path.join(self.directory, f"{n:06}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
        return f"250 2.0.0 Ok: queued as {n}"


async def main():
    if len(sys.argv) != 3:
        sys.exit("usage: server.py PORT DIR")
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    handler = Handler(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp.test", enable_SMTPUTF8=True), "127.0.0.1", port
    )
    print(server.sockets[0].getsockname()[1], flush=True)

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # Standard input closing means the test process is gone: read it off the loop and stop at its end.
    loop.run_in_executor(None, lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)))
    await stop.wait()
    server.close()
    os._exit(0)  # the stdin reader thread may still be blocked; nothing else is left to finish


if __name__ == "__main__":
    asyncio.run(main())
