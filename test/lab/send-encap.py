#!/usr/bin/python3
"""Hand-built tunnel packets for the decap tests (run with Debian's /usr/bin/python3, which has scapy).

argv[1] is a JSON list of packet specs:
  {"iface": "to-b1", "dstMac": "aa:..", "outer": {"src": "10.2.1.2", "dst": "10.3.1.2"},
   "inner": {"src": "10.1.1.2", "dst": "10.100.0.10", "proto": "udp" | "tcp-syn",
             "sport": 40000, "dport": 5000, "payload": "text"},
   "tamper": null | "inner-length" | "outer-fragment" | "outer-checksum",
   "nested": null | true}   (true: the inner packet goes inside one more IPIP/IPv6-in-IP header
                             with the same inner addresses: a tunnel inside the tunnel)
The families of the outer and inner addresses pick IPIP, IP6IP6, 4in6 or 6in4.
Prints a JSON list with the Ethernet frame length of every packet sent.
"""
import json
import sys

from scapy.all import IP, TCP, UDP, Ether, IPv6, Raw, conf, sendp  # noqa: E402

conf.verb = 0


def ip_layer(src, dst, proto):
    if ":" in dst:
        return IPv6(src=src, dst=dst, nh=proto) if proto is not None else IPv6(src=src, dst=dst)
    return IP(src=src, dst=dst, proto=proto) if proto is not None else IP(src=src, dst=dst)


def build(spec):
    inner_spec = spec["inner"]
    inner = ip_layer(inner_spec["src"], inner_spec["dst"], None)
    if inner_spec.get("proto", "udp") == "tcp-syn":
        l4 = TCP(sport=inner_spec["sport"], dport=inner_spec["dport"], flags="S", seq=1000)
    else:
        l4 = UDP(sport=inner_spec["sport"], dport=inner_spec["dport"]) / Raw(inner_spec.get("payload", "").encode())
    inner_pkt = inner / l4
    tamper = spec.get("tamper")
    if tamper == "inner-length":
        # Claim 100 bytes more than the tunnel carries.
        inner_pkt = inner_pkt.__class__(bytes(inner_pkt))
        if inner_pkt.version == 4:
            inner_pkt.len = inner_pkt.len + 100
            del inner_pkt.chksum
        else:
            inner_pkt.plen = inner_pkt.plen + 100
    if spec.get("nested"):
        inner_pkt = ip_layer(inner_spec["src"], inner_spec["dst"], 4 if inner_pkt.version == 4 else 41) / Raw(bytes(inner_pkt))
    outer_proto = 4 if inner_pkt.version == 4 else 41
    outer = ip_layer(spec["outer"]["src"], spec["outer"]["dst"], outer_proto)
    if tamper == "outer-fragment":
        outer.flags = "MF"
    if tamper == "outer-checksum":
        outer.chksum = 0x1234
    return Ether(dst=spec["dstMac"]) / outer / Raw(bytes(inner_pkt))


def main():
    specs = json.loads(sys.argv[1])
    lengths = []
    for spec in specs:
        frame = build(spec)
        raw = bytes(frame)
        sendp(frame, iface=spec["iface"])
        lengths.append(len(raw))
    print(json.dumps(lengths))


if __name__ == "__main__":
    main()
