"""Runs a moto server on a free loopback port for one test process.

Prints the port on the first line of stdout, then serves until stdin closes, which happens
when the test process that started it exits (however it exits), so no server outlives it.
"""
import logging
import sys

from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
