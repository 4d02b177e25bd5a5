"""An xlb.v1 client in Python (Debian's python3-grpcio), with stubs that the test generates from
api/proto/xlb/v1/xlb.proto with grpc_tools.protoc: proof that the contract works for a client not
written in TypeScript. Also lists the server's services through gRPC server reflection (v1), using
stubs generated from the reflection .proto, since Debian ships no grpc_reflection client.

usage: python_client.py STUB_DIR TARGET VIP BACKEND...   (prints one JSON object)
"""
import json
import sys

stub_dir, target, vip, *backends = sys.argv[1:]
sys.path.insert(0, stub_dir)

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402
from xlb.v1 import xlb_pb2, xlb_pb2_grpc  # noqa: E402
import reflection_v1_pb2 as refl  # noqa: E402
import reflection_v1_pb2_grpc as refl_grpc  # noqa: E402

out = {}
with grpc.insecure_channel(target) as channel:
    lb = xlb_pb2_grpc.LoadBalancerStub(channel)
    service = xlb_pb2.Service(
        vip=vip,
        port=8443,
        protocol=xlb_pb2.PROTOCOL_TCP,
        flags=xlb_pb2.ServiceFlags(source_hash=True),
        backends=[xlb_pb2.Backend(address=a, weight=3, name="py-%d" % i) for i, a in enumerate(backends)],
    )
    created = lb.CreateService(xlb_pb2.CreateServiceRequest(service=service)).service
    got = lb.GetService(xlb_pb2.GetServiceRequest(service_id=created.id)).service
    listed = lb.ListServices(xlb_pb2.ListServicesRequest()).services
    out["created_id"] = created.id
    out["got"] = {
        "id": got.id,
        "vip": got.vip,
        "port": got.port,
        "protocol": xlb_pb2.Protocol.Name(got.protocol),
        "source_hash": got.flags.source_hash,
        "origin": got.origin,
        "datapath_id": got.datapath_id,
        "backends": [
            {"address": b.address, "weight": b.weight, "state": xlb_pb2.BackendState.Name(b.state), "name": b.name, "datapath_id": b.datapath_id}
            for b in got.backends
        ],
    }
    out["listed"] = [s.id for s in listed]
    try:
        lb.GetService(xlb_pb2.GetServiceRequest(service_id="10.99.99.99:1/udp"))
        out["not_found"] = None
    except grpc.RpcError as e:
        out["not_found"] = {"code": e.code().name, "details": e.details()}

    reflection = refl_grpc.ServerReflectionStub(channel)
    requests = [
        refl.ServerReflectionRequest(list_services=""),
        refl.ServerReflectionRequest(file_containing_symbol="xlb.v1.LoadBalancer"),
    ]
    responses = list(reflection.ServerReflectionInfo(iter(requests)))
    out["reflection_services"] = sorted(s.name for s in responses[0].list_services_response.service)
    methods = []
    for raw in responses[1].file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
        for svc in fd.service:
            if svc.name == "LoadBalancer":
                methods = [m.name for m in svc.method]
        out.setdefault("reflection_files", []).append(fd.name)
    out["reflection_methods"] = methods

print(json.dumps(out))
