// Hand-written (not produced by gen.sh): the one place that loads the .proto at run time, with the
// same options the generated types were made with, so server, CLI and tests see identical objects.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from './xlb.js';

/** Folder that holds the proto import tree (`xlb/v1/xlb.proto` is resolved against it): api/proto,
 *  found from this file (dist/api/proto is a link made by the build). */
export const PROTO_INCLUDE_DIR = fileURLToPath(new URL('../proto', import.meta.url));
/** The contract's file name, relative to PROTO_INCLUDE_DIR. */
export const XLB_PROTO_FILE = 'xlb/v1/xlb.proto';

/**
 * Must stay in step with the flags in api/gen.sh. In short: fields are camelCase, 64-bit integers
 * are decimal strings (no precision loss for counters), enums are their names (unknown numbers stay
 * numbers — validation rejects them), absent scalars read as their defaults, and a oneof's
 * virtual field names the member that is set.
 */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_INCLUDE_DIR],
});

export function loadXlbPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(XLB_PROTO_FILE, { ...PROTO_LOADER_OPTIONS });
}

/** The typed package: `loadXlbProto().xlb.v1.LoadBalancer` is the client constructor and `.service`
 *  its definition for `server.addService`. */
export function loadXlbProto(definition = loadXlbPackageDefinition()): ProtoGrpcType {
  return grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
}
