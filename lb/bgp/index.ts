// The public door of BGP announcement: what this node should announce (announce.ts), the
// announcer that keeps gobgpd's RIB in step (announcer.ts) and the gobgpd API client (gobgp.ts).
export { announcements, hostPrefix, type Announcement, type AnnounceMode } from './announce.js';
export { BgpAnnouncer, type AnnouncerOptions, type AnnouncerStatus, type BgpLogger, type GobgpPort } from './announcer.js';
export { GobgpClient, gobgpProtoDir, GOBGP_PROTO_DIR, type GobgpPeer, type GobgpGlobal, type PeerSpec, type RibPath } from './gobgp.js';
