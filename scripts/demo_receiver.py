#!/usr/bin/env python3
"""The demo's notification receiver: accepts webhook POSTs on 127.0.0.1 and appends one
line per notification (event, step, message) to a log, which the demo prints.

Usage: demo_receiver.py PORT_FILE LOG_FILE  (writes the port it listens on to PORT_FILE)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload = json.loads(body)
            line = "{:<11} {:<12} {}".format(
                payload.get("event", "?"), payload.get("step") or "-", payload.get("message", ""))
            if payload.get("approve_command"):
                line += "  ->  " + payload["approve_command"]
        except ValueError:
            line = "(not JSON) " + body[:200].decode("utf-8", "replace")
        with open(sys.argv[2], "a", encoding="utf-8") as log:
            log.write(line + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w", encoding="utf-8") as port_file:
    port_file.write(str(server.server_address[1]))
server.serve_forever()
