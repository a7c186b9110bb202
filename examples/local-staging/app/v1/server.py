#!/usr/bin/env python3
"""Shelf 1.4 — the small catalogue service that examples/local-staging/deploy.md deploys.

It answers a few JSON endpoints from the PostgreSQL database named by the usual libpq
variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSFILE). Queries go through psql so the
example needs nothing beyond Debian's postgresql and python3 packages.

    GET /health   {"status": "ok", "version": "1.4.0", "schema": 1}
    GET /books    every book with its author
    GET /stats    {"books": N, "loans": N}

Usage: server.py --port PORT --pidfile FILE. The pid file is written once the port is
bound, so its presence means the service accepts connections; it is removed on SIGTERM.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "1.4.0"
PSQL = os.environ.get("PSQL", "psql")


class DatabaseError(Exception):
    pass


def query_json(sql):
    """Runs SQL that returns one JSON value and decodes it."""
    done = subprocess.run(
        [PSQL, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise DatabaseError(done.stderr.strip() or f"psql exited {done.returncode}")
    return json.loads(done.stdout)


ROUTES = {
    "/health": lambda: {
        "status": "ok",
        "version": VERSION,
        "schema": query_json("SELECT max(version) FROM schema_migrations"),
    },
    "/books": lambda: query_json(
        "SELECT coalesce(json_agg(b ORDER BY b.id), '[]') FROM "
        "(SELECT id, title, author, published FROM books) b"),
    "/stats": lambda: query_json(
        "SELECT json_build_object('books', (SELECT count(*) FROM books), "
        "'loans', (SELECT count(*) FROM loans))"),
}


class Handler(BaseHTTPRequestHandler):
    server_version = f"shelf/{VERSION}"

    def do_GET(self):
        route = ROUTES.get(self.path.split("?")[0])
        if route is None:
            self.reply(404, {"error": f"no route {self.path}"})
            return
        try:
            self.reply(200, route())
        except (DatabaseError, subprocess.TimeoutExpired, ValueError) as error:
            self.log_message("database error: %s", error)
            self.reply(503, {"error": "database unavailable", "detail": str(error)})

    def reply(self, status, body):
        data = (json.dumps(body, ensure_ascii=False) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"shelf {VERSION}: {fmt % args}\n")
        sys.stderr.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pidfile", required=True)
    options = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    # shutdown() blocks until serve_forever returns, so it must run on another thread.
    signal.signal(signal.SIGTERM,
                  lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    with open(options.pidfile, "w", encoding="ascii") as pidfile:
        pidfile.write(f"{os.getpid()}\n")
    sys.stderr.write(f"shelf {VERSION}: listening on 127.0.0.1:{options.port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
        os.unlink(options.pidfile)
        sys.stderr.write(f"shelf {VERSION}: stopped\n")


if __name__ == "__main__":
    main()
