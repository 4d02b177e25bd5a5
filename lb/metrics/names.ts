// Every metric xlb exports, by name. Prometheus conventions: counters end in _total, units are
// base units in the name (_bytes, _seconds), gauges name what they measure.
export const METRIC = {
  // Datapath counters: the kernel's monotonic values, read at scrape time.
  servicePackets: 'xlb_service_packets_total',
  serviceBytes: 'xlb_service_bytes_total',
  backendPackets: 'xlb_backend_packets_total',
  backendBytes: 'xlb_backend_bytes_total',
  verdicts: 'xlb_xdp_verdicts_total',
  dropped: 'xlb_dropped_packets_total',
  passed: 'xlb_passed_packets_total',
  transmitted: 'xlb_transmitted_packets_total',
  flowHits: 'xlb_flow_table_hits_total',
  flowMisses: 'xlb_flow_table_misses_total',
  flowNew: 'xlb_flow_table_new_flows_total',
  icmpForwarded: 'xlb_icmp_errors_forwarded_total',
  icmpGenerated: 'xlb_icmp_too_big_generated_total',
  // State, read at scrape time.
  flowCapacity: 'xlb_flow_table_capacity_entries',
  servicesConfigured: 'xlb_services_configured',
  backendsConfigured: 'xlb_backends_configured',
  backendWeight: 'xlb_backend_weight',
  datapathAttached: 'xlb_datapath_attached',
  maglevTables: 'xlb_maglev_tables',
  maglevTableMemory: 'xlb_maglev_table_memory_bytes',
  buildInfo: 'xlb_build_info',
  sourceErrors: 'xlb_metrics_source_errors_total',
  // Health checks and BGP, read at scrape time.
  backendUp: 'xlb_backend_up',
  serviceAllDown: 'xlb_service_all_backends_down',
  serviceFailingOpen: 'xlb_service_failing_open',
  healthInFlight: 'xlb_health_probes_in_flight',
  healthLate: 'xlb_health_late_probes_total',
  bgpAnnounced: 'xlb_bgp_announced',
  bgpSessionUp: 'xlb_bgp_session_up',
  bgpSessionState: 'xlb_bgp_session_state',
  bgpGobgpdUp: 'xlb_bgp_gobgpd_up',
  bgpDrained: 'xlb_bgp_node_drained',
  // Observed by the daemon.
  healthTransitions: 'xlb_health_transitions_total',
  healthProbes: 'xlb_health_probes_total',
  maglevRebuild: 'xlb_maglev_rebuild_duration_seconds',
  apiRequests: 'xlb_api_requests_total',
  apiDuration: 'xlb_api_request_duration_seconds',
  internalErrors: 'xlb_internal_errors_total',
} as const;

/** Maglev table builds take ~1 ms (small M) to ~100 ms (M = 131071, many backends). */
export const MAGLEV_REBUILD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** A mutating call includes the datapath update and an fsync of the state file. */
export const API_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
