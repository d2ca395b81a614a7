"""Runs a moto server on a free loopback port for one test process.

Prints the port on the first line of stdout, then serves until stdin closes, which happens
when the test process that started it exits (however it exits), so no server outlives it.

Requests are served one at a time: moto does not isolate concurrent requests from each
other (two racing TransactWriteItems calls can both pass their conditions), while DynamoDB
does. Serial handling gives each request DynamoDB's all-or-nothing isolation.
"""
import logging
import sys
import threading

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = DomainDispatcherApplication(create_backend_app)
server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_port, flush=True)
sys.stdin.read()
server.shutdown()
