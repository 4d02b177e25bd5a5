"""Stands in for systemd's notification socket: binds a unix datagram socket at argv[1], prints
"bound", then one JSON line per datagram received (what xlbd sends through systemd-notify).
Ancillary data (systemd-notify's barrier fd) is not accepted, which closes it: that is what makes
systemd-notify's barrier return, exactly as when systemd has processed the message."""
import json
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode("utf-8", "replace")), flush=True)
