// The control-plane benchmarks' services: service i gets a VIP of its own (10.100.0.0 up) on port
// 80/tcp and `backends` backends of weight 1, so every benchmark programs the same shapes.
import type { Service } from '../../api/generated/xlb/v1/Service.js';

export function serviceSpec(i: number, backends: number): Service {
  return {
    vip: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
    port: 80,
    protocol: 'PROTOCOL_TCP',
    backends: Array.from({ length: backends }, (_, j) => ({ address: `10.3.${j}.${(i % 250) + 1}`, weight: 1 })),
  } as Service;
}
