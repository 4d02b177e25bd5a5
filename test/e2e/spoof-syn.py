#!/usr/bin/python3
# A spoofed TCP SYN for the spoofed-SYN end-to-end test, run inside a client namespace with Debian's
# python3 (scapy): one SYN from SRC:SPORT to DST:DPORT, a sequence number of its own — what an
# attacker who knows a live connection's 5-tuple sends. Prints {"sent": 1}.
import json
import sys

from scapy.all import IP, TCP, conf, send

conf.verb = 0
req = json.loads(sys.argv[1])
send(IP(src=req["src"], dst=req["dst"]) / TCP(sport=req["sport"], dport=req["dport"], flags="S", seq=0x5eed))
print(json.dumps({"sent": 1}))
