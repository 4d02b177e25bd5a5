# Incremental build driver behind `npm run build`: BPF objects, the libbpf-ts addon, TypeScript.
# Each step only reruns when its inputs changed, so the bootstrap is fast on a built tree.

ADDON := bpf/libbpf-ts/build/Release/libbpf_ts.node
ADDON_SRC := $(wildcard bpf/libbpf-ts/src/*.c bpf/libbpf-ts/src/*.h) bpf/libbpf-ts/binding.gyp
TS_SRC := $(shell find lb bpf recorder api test benchmarks scripts -name '*.ts' -not -path '*/node_modules/*' 2>/dev/null)

.PHONY: all bpf addon ts clean
all: bpf addon ts

bpf:
	@$(MAKE) -s -C bpf

addon: $(ADDON)
$(ADDON): $(ADDON_SRC)
	cd bpf/libbpf-ts && npx --no-install node-gyp rebuild --nodedir=/usr --silent

ts: dist/.stamp
dist/.stamp: $(TS_SRC) tsconfig.json
	npx --no-install tsc -p tsconfig.json
	@chmod +x dist/lb/daemon/main.js dist/api/cli/main.js
	@# Compiled code finds its data files relative to itself (import.meta.url); these links give
	@# dist/ the same neighbours the sources have.
	@ln -sfn ../package.json dist/package.json
	@ln -sfn ../build dist/build
	@ln -sfn ../../api/proto dist/api/proto
	@ln -sfn ../../../bpf/libbpf-ts/build dist/bpf/libbpf-ts/build
	@touch $@

clean:
	rm -rf build dist bpf/libbpf-ts/build
