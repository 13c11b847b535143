#!/usr/bin/env python3
"""A tiny image server for test_disk: serves files of a folder on 127.0.0.1,
only to requests carrying X-Auth-Token: secret-token (as Glance's download
URL needs a token). Prints its port, then serves until killed."""
import http.server
import os
import socketserver
import sys
import time

root = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("X-Auth-Token") != "secret-token":
            self.send_response(401)
            self.end_headers()
            return
        if self.path.startswith("/slow/"):
            time.sleep(1.5)  # a silent server: the client must keep ticking
        path = os.path.join(root, os.path.basename(self.path))
        if not os.path.isfile(path):
            self.send_response(404)
            self.end_headers()
            return
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


with socketserver.TCPServer(("127.0.0.1", 0), Handler) as httpd:
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()
