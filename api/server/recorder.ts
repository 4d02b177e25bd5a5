// xlb.v1.Recorder is part of the contract, but the in-datapath recorder is built in a later
// issue. The service is registered so clients get a clear answer instead of "unknown service".
import { Metadata, status } from '@grpc/grpc-js';
import type { RecorderHandlers } from '../generated/xlb/v1/Recorder.js';

export const RECORDER_UNIMPLEMENTED =
  'xlb.v1.Recorder/Record is not implemented in this xlbd version (the packet recorder is not built yet)';

export function unimplementedRecorder(): RecorderHandlers {
  return {
    Record(call) {
      call.emit('error', { code: status.UNIMPLEMENTED, details: RECORDER_UNIMPLEMENTED, metadata: new Metadata() });
    },
  };
}
