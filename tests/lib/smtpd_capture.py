#!/usr/bin/python3
"""smtpd_capture.py - a real SMTP server (Debian's python3-aiosmtpd) for tests.

Usage: smtpd_capture.py PORT DIR

Listens on 127.0.0.1:PORT, plain text.  Each message accepted is written,
before the server answers 250 to DATA, as DIR/msg-N.eml (raw bytes) and
DIR/msg-N.json (N from 1):
  {"mail_from", "rcpt": [..], "subject", "from", "to", "reply_to",
   "message_id", "date", "content_type", "charset", "cte", "body",
   "max_line", "bare_lf", "defects", "x_lifeline_id"}
with headers decoded (RFC 2047) and the body decoded by Python's email
package: an implementation independent of the C code under test.

Failure on demand: if DIR/plan exists, its first line (e.g. "451 4.3.0
busy") is removed from it and given as the answer to the next RCPT TO.
When listening, the server creates DIR/ready.  Stop it with SIGTERM.
"""
import email
import email.policy
import json
import os
import signal
import sys

from aiosmtpd.controller import Controller


def pop_plan(folder):
    path = os.path.join(folder, "plan")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    if not lines:
        return None
    with open(path + ".tmp", "w") as f:
        f.write("".join(line + "\n" for line in lines[1:]))
    os.rename(path + ".tmp", path)
    return lines[0].strip() or None


def write_atomic(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


class Capture:
    def __init__(self, folder):
        self.folder = folder
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = pop_plan(self.folder)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        lines = raw.split(b"\r\n")
        body = msg.get_content() if msg.get_content_maintype() == "text" else None
        info = {
            "mail_from": envelope.mail_from,
            "rcpt": envelope.rcpt_tos,
            "subject": str(msg["Subject"]),
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "reply_to": str(msg["Reply-To"]),
            "message_id": str(msg["Message-ID"]),
            "date": str(msg["Date"]),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "cte": str(msg["Content-Transfer-Encoding"]),
            "x_lifeline_id": str(msg["X-Lifeline-Id"]),
            "body": body,
            "max_line": max(len(x) for x in lines),
            "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
            "defects": len(msg.defects) + sum(len(h.defects) for h in
                                               (msg[k] for k in msg.keys()) if hasattr(h, "defects")),
        }
        self.n += 1
        base = os.path.join(self.folder, "msg-%d" % self.n)
        write_atomic(base + ".eml", raw)
        write_atomic(base + ".json", json.dumps(info, ensure_ascii=False).encode("utf-8"))
        return "250 2.0.0 Message accepted"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    ctl = Controller(Capture(folder), hostname="127.0.0.1", port=port)
    ctl.start()
    with open(os.path.join(folder, "ready"), "w") as f:
        f.write("ready\n")
    signal.signal(signal.SIGTERM, lambda *a: (ctl.stop(), os._exit(0)))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
