#!/usr/bin/python3
"""http_capture.py - a real HTTP receiver (webhook gateway) for tests.

Usage: http_capture.py PORT DIR SECRET_FILE

Listens on 127.0.0.1:PORT.  Each POST is recorded as DIR/req-N.json
(N from 1), written before the answer is sent:
  {"path", "headers": {lower-case name: value}, "body", "sig_ok"}
sig_ok: X-Lifeline-Signature equals "sha256=" + hex(HMAC-SHA256(secret,
X-Lifeline-Timestamp + "." + body)), computed here with Python's hmac
module (the secret file minus one trailing newline): an implementation
independent of the C code under test.

Answers: if DIR/plan exists, its first line is removed and decides the
answer: "503", "429", "400 some text" (status and body), or "hang" (read
the request, never answer).  Otherwise 200 {"ok":true}.
When listening, the server creates DIR/ready.  Stop it with SIGTERM.
"""
import hashlib
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNT = [0]


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


def load_secret(path):
    with open(path, "rb") as f:
        s = f.read()
    if s.endswith(b"\r\n"):
        return s[:-2]
    if s.endswith(b"\n"):
        return s[:-1]
    return s


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("http_capture: " + (fmt % args) + "\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ts = self.headers.get("X-Lifeline-Timestamp", "")
        sig = self.headers.get("X-Lifeline-Signature", "")
        want = "sha256=" + hmac.new(self.server.secret, ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
            plan = pop_plan(self.server.folder)
            rec = {"path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace"),
                   "sig_ok": hmac.compare_digest(sig, want)}
            path = os.path.join(self.server.folder, "req-%d.json" % n)
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(rec, f, ensure_ascii=False)
            os.rename(path + ".tmp", path)
        if plan == "hang":
            threading.Event().wait()
        status, _, text = (plan or "200").partition(" ")
        out = (text or '{"ok":true}').encode()
        self.send_response(int(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main():
    port, folder, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.folder = folder
    srv.secret = load_secret(secret)
    with open(os.path.join(folder, "ready"), "w") as f:
        f.write("ready\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
