#!/usr/bin/env bash
# Regenerates the TypeScript types for the gRPC contract (api/proto/xlb/v1/*.proto) into
# api/generated/. The generated files are committed; rerun this after every .proto change.
# The options here must match PROTO_LOADER_OPTIONS in api/generated/load.ts (the runtime loader),
# otherwise the types describe objects the loader does not produce.
set -euo pipefail
cd "$(dirname "$0")"

out=generated
# Only the generated parts are replaced; load.ts is written by hand.
rm -rf "$out/xlb" "$out/xlb.ts" "$out/google"

../node_modules/.bin/proto-loader-gen-types \
  --grpcLib=@grpc/grpc-js \
  --outDir="$out" \
  --includeDirs=proto \
  --longs=String --enums=String --defaults --oneofs \
  --includeComments \
  --importFileExtension=.js \
  xlb/v1/xlb.proto >/dev/null
