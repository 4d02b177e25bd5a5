// Original file: proto/xlb/v1/xlb.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { RecordRequest as _xlb_v1_RecordRequest, RecordRequest__Output as _xlb_v1_RecordRequest__Output } from '../../xlb/v1/RecordRequest.js';
import type { RecordResponse as _xlb_v1_RecordResponse, RecordResponse__Output as _xlb_v1_RecordResponse__Output } from '../../xlb/v1/RecordResponse.js';

export interface RecorderClient extends grpc.Client {
  /**
   * One recording per stream. The client sends exactly one RecordRequest.start first, then
   * optionally one RecordRequest.stop. The server answers with `started`, then `chunk`s of file
   * bytes (concatenated in order they form one valid pcap/pcapng file) interleaved with periodic
   * `stats`, and finally `end`, after which it closes the stream. If the client goes away the
   * recording stops and its rules are freed.
   */
  Record(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_xlb_v1_RecordRequest, _xlb_v1_RecordResponse__Output>;
  Record(options?: grpc.CallOptions): grpc.ClientDuplexStream<_xlb_v1_RecordRequest, _xlb_v1_RecordResponse__Output>;
  /**
   * One recording per stream. The client sends exactly one RecordRequest.start first, then
   * optionally one RecordRequest.stop. The server answers with `started`, then `chunk`s of file
   * bytes (concatenated in order they form one valid pcap/pcapng file) interleaved with periodic
   * `stats`, and finally `end`, after which it closes the stream. If the client goes away the
   * recording stops and its rules are freed.
   */
  record(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_xlb_v1_RecordRequest, _xlb_v1_RecordResponse__Output>;
  record(options?: grpc.CallOptions): grpc.ClientDuplexStream<_xlb_v1_RecordRequest, _xlb_v1_RecordResponse__Output>;
  
}

export interface RecorderHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One recording per stream. The client sends exactly one RecordRequest.start first, then
   * optionally one RecordRequest.stop. The server answers with `started`, then `chunk`s of file
   * bytes (concatenated in order they form one valid pcap/pcapng file) interleaved with periodic
   * `stats`, and finally `end`, after which it closes the stream. If the client goes away the
   * recording stops and its rules are freed.
   */
  Record: grpc.handleBidiStreamingCall<_xlb_v1_RecordRequest__Output, _xlb_v1_RecordResponse>;
  
}

export interface RecorderDefinition extends grpc.ServiceDefinition {
  Record: MethodDefinition<_xlb_v1_RecordRequest, _xlb_v1_RecordResponse, _xlb_v1_RecordRequest__Output, _xlb_v1_RecordResponse__Output>
}
