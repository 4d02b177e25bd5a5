#!/usr/bin/python3
# Hand-made probes for the end-to-end tests, run inside a client namespace with Debian's python3
# (scapy). One JSON argument, one JSON line out.
#   {"op": "echo", "dst": ADDR, "count": N}
#       ICMP / ICMPv6 echo requests (no ping binary needed) → {"sent": N, "received": K}
#   {"op": "tcp", "dst": ADDR, "dport": P, "probes": [{"sport": S, "length": L}]}
#       one TCP ACK segment per probe, IP total length L (IPv4 with DF; IPv6 never fragments on
#       the way), sent as fast as possible; the caller captures what comes back → {"sent": N}
import ipaddress
import json
import sys

from scapy.all import ICMP, IP, IPv6, ICMPv6EchoRequest, TCP, Raw, conf, send, sr

conf.verb = 0


def ip_layer(dst):
    if ipaddress.ip_address(dst).version == 4:
        return IP(dst=dst, flags="DF"), 20
    return IPv6(dst=dst), 40


def echo(req):
    pkts = []
    for i in range(req["count"]):
        ip, _ = ip_layer(req["dst"])
        pkts.append(ip / (ICMP(id=0x7e2, seq=i) if isinstance(ip, IP) else ICMPv6EchoRequest(id=0x7e2, seq=i)))
    answered, _ = sr(pkts, timeout=2, inter=0.05)
    return {"sent": len(pkts), "received": len(answered)}


def tcp(req):
    pkts = []
    for p in req["probes"]:
        ip, ip_len = ip_layer(req["dst"])
        payload = p["length"] - ip_len - 20
        if payload < 0:
            raise ValueError(f"length {p['length']} is shorter than the IP and TCP headers")
        pkts.append(ip / TCP(sport=p["sport"], dport=req["dport"], flags="A", seq=1, ack=1) / Raw(b"p" * payload))
    send(pkts)
    return {"sent": len(pkts)}


req = json.loads(sys.argv[1])
print(json.dumps({"echo": echo, "tcp": tcp}[req["op"]](req)))
