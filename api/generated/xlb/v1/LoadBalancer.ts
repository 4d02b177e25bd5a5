// Original file: proto/xlb/v1/xlb.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AddBackendRequest as _xlb_v1_AddBackendRequest, AddBackendRequest__Output as _xlb_v1_AddBackendRequest__Output } from '../../xlb/v1/AddBackendRequest.js';
import type { AddBackendResponse as _xlb_v1_AddBackendResponse, AddBackendResponse__Output as _xlb_v1_AddBackendResponse__Output } from '../../xlb/v1/AddBackendResponse.js';
import type { ApplyRequest as _xlb_v1_ApplyRequest, ApplyRequest__Output as _xlb_v1_ApplyRequest__Output } from '../../xlb/v1/ApplyRequest.js';
import type { ApplyResponse as _xlb_v1_ApplyResponse, ApplyResponse__Output as _xlb_v1_ApplyResponse__Output } from '../../xlb/v1/ApplyResponse.js';
import type { CreateServiceRequest as _xlb_v1_CreateServiceRequest, CreateServiceRequest__Output as _xlb_v1_CreateServiceRequest__Output } from '../../xlb/v1/CreateServiceRequest.js';
import type { CreateServiceResponse as _xlb_v1_CreateServiceResponse, CreateServiceResponse__Output as _xlb_v1_CreateServiceResponse__Output } from '../../xlb/v1/CreateServiceResponse.js';
import type { DeleteServiceRequest as _xlb_v1_DeleteServiceRequest, DeleteServiceRequest__Output as _xlb_v1_DeleteServiceRequest__Output } from '../../xlb/v1/DeleteServiceRequest.js';
import type { DeleteServiceResponse as _xlb_v1_DeleteServiceResponse, DeleteServiceResponse__Output as _xlb_v1_DeleteServiceResponse__Output } from '../../xlb/v1/DeleteServiceResponse.js';
import type { DrainNodeRequest as _xlb_v1_DrainNodeRequest, DrainNodeRequest__Output as _xlb_v1_DrainNodeRequest__Output } from '../../xlb/v1/DrainNodeRequest.js';
import type { DrainNodeResponse as _xlb_v1_DrainNodeResponse, DrainNodeResponse__Output as _xlb_v1_DrainNodeResponse__Output } from '../../xlb/v1/DrainNodeResponse.js';
import type { GetServiceRequest as _xlb_v1_GetServiceRequest, GetServiceRequest__Output as _xlb_v1_GetServiceRequest__Output } from '../../xlb/v1/GetServiceRequest.js';
import type { GetServiceResponse as _xlb_v1_GetServiceResponse, GetServiceResponse__Output as _xlb_v1_GetServiceResponse__Output } from '../../xlb/v1/GetServiceResponse.js';
import type { GetStatsRequest as _xlb_v1_GetStatsRequest, GetStatsRequest__Output as _xlb_v1_GetStatsRequest__Output } from '../../xlb/v1/GetStatsRequest.js';
import type { GetStatsResponse as _xlb_v1_GetStatsResponse, GetStatsResponse__Output as _xlb_v1_GetStatsResponse__Output } from '../../xlb/v1/GetStatsResponse.js';
import type { GetStatusRequest as _xlb_v1_GetStatusRequest, GetStatusRequest__Output as _xlb_v1_GetStatusRequest__Output } from '../../xlb/v1/GetStatusRequest.js';
import type { GetStatusResponse as _xlb_v1_GetStatusResponse, GetStatusResponse__Output as _xlb_v1_GetStatusResponse__Output } from '../../xlb/v1/GetStatusResponse.js';
import type { ListServicesRequest as _xlb_v1_ListServicesRequest, ListServicesRequest__Output as _xlb_v1_ListServicesRequest__Output } from '../../xlb/v1/ListServicesRequest.js';
import type { ListServicesResponse as _xlb_v1_ListServicesResponse, ListServicesResponse__Output as _xlb_v1_ListServicesResponse__Output } from '../../xlb/v1/ListServicesResponse.js';
import type { RemoveBackendRequest as _xlb_v1_RemoveBackendRequest, RemoveBackendRequest__Output as _xlb_v1_RemoveBackendRequest__Output } from '../../xlb/v1/RemoveBackendRequest.js';
import type { RemoveBackendResponse as _xlb_v1_RemoveBackendResponse, RemoveBackendResponse__Output as _xlb_v1_RemoveBackendResponse__Output } from '../../xlb/v1/RemoveBackendResponse.js';
import type { UpdateBackendRequest as _xlb_v1_UpdateBackendRequest, UpdateBackendRequest__Output as _xlb_v1_UpdateBackendRequest__Output } from '../../xlb/v1/UpdateBackendRequest.js';
import type { UpdateBackendResponse as _xlb_v1_UpdateBackendResponse, UpdateBackendResponse__Output as _xlb_v1_UpdateBackendResponse__Output } from '../../xlb/v1/UpdateBackendResponse.js';
import type { UpdateServiceRequest as _xlb_v1_UpdateServiceRequest, UpdateServiceRequest__Output as _xlb_v1_UpdateServiceRequest__Output } from '../../xlb/v1/UpdateServiceRequest.js';
import type { UpdateServiceResponse as _xlb_v1_UpdateServiceResponse, UpdateServiceResponse__Output as _xlb_v1_UpdateServiceResponse__Output } from '../../xlb/v1/UpdateServiceResponse.js';

export interface LoadBalancerClient extends grpc.Client {
  /**
   * Adds one backend to a service. ALREADY_EXISTS if the service has a backend with that address.
   */
  AddBackend(argument: _xlb_v1_AddBackendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_AddBackendResponse__Output>): grpc.ClientUnaryCall;
  AddBackend(argument: _xlb_v1_AddBackendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_AddBackendResponse__Output>): grpc.ClientUnaryCall;
  AddBackend(argument: _xlb_v1_AddBackendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_AddBackendResponse__Output>): grpc.ClientUnaryCall;
  AddBackend(argument: _xlb_v1_AddBackendRequest, callback: grpc.requestCallback<_xlb_v1_AddBackendResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Adds one backend to a service. ALREADY_EXISTS if the service has a backend with that address.
   */
  addBackend(argument: _xlb_v1_AddBackendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_AddBackendResponse__Output>): grpc.ClientUnaryCall;
  addBackend(argument: _xlb_v1_AddBackendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_AddBackendResponse__Output>): grpc.ClientUnaryCall;
  addBackend(argument: _xlb_v1_AddBackendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_AddBackendResponse__Output>): grpc.ClientUnaryCall;
  addBackend(argument: _xlb_v1_AddBackendRequest, callback: grpc.requestCallback<_xlb_v1_AddBackendResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Converges the API-managed services to exactly the given set: creates what is missing, updates
   * what differs, deletes API-managed services that are not listed. Unchanged services and
   * backends are not touched (their flows and datapath ids stay). Services declared in the daemon's
   * config file are not managed by Apply: listing one is FAILED_PRECONDITION, and they are never
   * deleted by it.
   */
  Apply(argument: _xlb_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _xlb_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _xlb_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _xlb_v1_ApplyRequest, callback: grpc.requestCallback<_xlb_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Converges the API-managed services to exactly the given set: creates what is missing, updates
   * what differs, deletes API-managed services that are not listed. Unchanged services and
   * backends are not touched (their flows and datapath ids stay). Services declared in the daemon's
   * config file are not managed by Apply: listing one is FAILED_PRECONDITION, and they are never
   * deleted by it.
   */
  apply(argument: _xlb_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _xlb_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _xlb_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _xlb_v1_ApplyRequest, callback: grpc.requestCallback<_xlb_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Creates a service, optionally with its backends. ALREADY_EXISTS if a service with the same
   * VIP, port and protocol exists.
   */
  CreateService(argument: _xlb_v1_CreateServiceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_CreateServiceResponse__Output>): grpc.ClientUnaryCall;
  CreateService(argument: _xlb_v1_CreateServiceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_CreateServiceResponse__Output>): grpc.ClientUnaryCall;
  CreateService(argument: _xlb_v1_CreateServiceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_CreateServiceResponse__Output>): grpc.ClientUnaryCall;
  CreateService(argument: _xlb_v1_CreateServiceRequest, callback: grpc.requestCallback<_xlb_v1_CreateServiceResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Creates a service, optionally with its backends. ALREADY_EXISTS if a service with the same
   * VIP, port and protocol exists.
   */
  createService(argument: _xlb_v1_CreateServiceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_CreateServiceResponse__Output>): grpc.ClientUnaryCall;
  createService(argument: _xlb_v1_CreateServiceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_CreateServiceResponse__Output>): grpc.ClientUnaryCall;
  createService(argument: _xlb_v1_CreateServiceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_CreateServiceResponse__Output>): grpc.ClientUnaryCall;
  createService(argument: _xlb_v1_CreateServiceRequest, callback: grpc.requestCallback<_xlb_v1_CreateServiceResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Deletes a service and all its backends. Established flows to it stop being balanced.
   */
  DeleteService(argument: _xlb_v1_DeleteServiceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_DeleteServiceResponse__Output>): grpc.ClientUnaryCall;
  DeleteService(argument: _xlb_v1_DeleteServiceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_DeleteServiceResponse__Output>): grpc.ClientUnaryCall;
  DeleteService(argument: _xlb_v1_DeleteServiceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_DeleteServiceResponse__Output>): grpc.ClientUnaryCall;
  DeleteService(argument: _xlb_v1_DeleteServiceRequest, callback: grpc.requestCallback<_xlb_v1_DeleteServiceResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Deletes a service and all its backends. Established flows to it stop being balanced.
   */
  deleteService(argument: _xlb_v1_DeleteServiceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_DeleteServiceResponse__Output>): grpc.ClientUnaryCall;
  deleteService(argument: _xlb_v1_DeleteServiceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_DeleteServiceResponse__Output>): grpc.ClientUnaryCall;
  deleteService(argument: _xlb_v1_DeleteServiceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_DeleteServiceResponse__Output>): grpc.ClientUnaryCall;
  deleteService(argument: _xlb_v1_DeleteServiceRequest, callback: grpc.requestCallback<_xlb_v1_DeleteServiceResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Takes this LB node out of (or, with undo, back into) the routers' ECMP set: withdraws every
   * VIP this node announces by BGP, and keeps them withdrawn (across daemon restarts) until undone.
   * The datapath keeps forwarding whatever still arrives. FAILED_PRECONDITION when BGP is not
   * configured.
   */
  DrainNode(argument: _xlb_v1_DrainNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_DrainNodeResponse__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _xlb_v1_DrainNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_DrainNodeResponse__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _xlb_v1_DrainNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_DrainNodeResponse__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _xlb_v1_DrainNodeRequest, callback: grpc.requestCallback<_xlb_v1_DrainNodeResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Takes this LB node out of (or, with undo, back into) the routers' ECMP set: withdraws every
   * VIP this node announces by BGP, and keeps them withdrawn (across daemon restarts) until undone.
   * The datapath keeps forwarding whatever still arrives. FAILED_PRECONDITION when BGP is not
   * configured.
   */
  drainNode(argument: _xlb_v1_DrainNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_DrainNodeResponse__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _xlb_v1_DrainNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_DrainNodeResponse__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _xlb_v1_DrainNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_DrainNodeResponse__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _xlb_v1_DrainNodeRequest, callback: grpc.requestCallback<_xlb_v1_DrainNodeResponse__Output>): grpc.ClientUnaryCall;
  
  GetService(argument: _xlb_v1_GetServiceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetServiceResponse__Output>): grpc.ClientUnaryCall;
  GetService(argument: _xlb_v1_GetServiceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_GetServiceResponse__Output>): grpc.ClientUnaryCall;
  GetService(argument: _xlb_v1_GetServiceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetServiceResponse__Output>): grpc.ClientUnaryCall;
  GetService(argument: _xlb_v1_GetServiceRequest, callback: grpc.requestCallback<_xlb_v1_GetServiceResponse__Output>): grpc.ClientUnaryCall;
  getService(argument: _xlb_v1_GetServiceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetServiceResponse__Output>): grpc.ClientUnaryCall;
  getService(argument: _xlb_v1_GetServiceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_GetServiceResponse__Output>): grpc.ClientUnaryCall;
  getService(argument: _xlb_v1_GetServiceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetServiceResponse__Output>): grpc.ClientUnaryCall;
  getService(argument: _xlb_v1_GetServiceRequest, callback: grpc.requestCallback<_xlb_v1_GetServiceResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Datapath counters. Counters are cumulative since the datapath maps were created (they survive
   * daemon restarts that adopt a running datapath) and never reset by the API.
   */
  GetStats(argument: _xlb_v1_GetStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetStatsResponse__Output>): grpc.ClientUnaryCall;
  GetStats(argument: _xlb_v1_GetStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_GetStatsResponse__Output>): grpc.ClientUnaryCall;
  GetStats(argument: _xlb_v1_GetStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetStatsResponse__Output>): grpc.ClientUnaryCall;
  GetStats(argument: _xlb_v1_GetStatsRequest, callback: grpc.requestCallback<_xlb_v1_GetStatsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Datapath counters. Counters are cumulative since the datapath maps were created (they survive
   * daemon restarts that adopt a running datapath) and never reset by the API.
   */
  getStats(argument: _xlb_v1_GetStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetStatsResponse__Output>): grpc.ClientUnaryCall;
  getStats(argument: _xlb_v1_GetStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_GetStatsResponse__Output>): grpc.ClientUnaryCall;
  getStats(argument: _xlb_v1_GetStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetStatsResponse__Output>): grpc.ClientUnaryCall;
  getStats(argument: _xlb_v1_GetStatsRequest, callback: grpc.requestCallback<_xlb_v1_GetStatsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * What the daemon is and what it drives.
   */
  GetStatus(argument: _xlb_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _xlb_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _xlb_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _xlb_v1_GetStatusRequest, callback: grpc.requestCallback<_xlb_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  /**
   * What the daemon is and what it drives.
   */
  getStatus(argument: _xlb_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _xlb_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _xlb_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _xlb_v1_GetStatusRequest, callback: grpc.requestCallback<_xlb_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * All services, ordered by VIP (IPv4 first, then IPv6, by address bytes), protocol, port.
   */
  ListServices(argument: _xlb_v1_ListServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _xlb_v1_ListServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _xlb_v1_ListServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _xlb_v1_ListServicesRequest, callback: grpc.requestCallback<_xlb_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * All services, ordered by VIP (IPv4 first, then IPv6, by address bytes), protocol, port.
   */
  listServices(argument: _xlb_v1_ListServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _xlb_v1_ListServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _xlb_v1_ListServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _xlb_v1_ListServicesRequest, callback: grpc.requestCallback<_xlb_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Removes a backend. Flows still pinned to it are re-balanced onto the remaining backends; to
   * let them finish first, drain it (UpdateBackend state DRAINING) and remove it later.
   */
  RemoveBackend(argument: _xlb_v1_RemoveBackendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_RemoveBackendResponse__Output>): grpc.ClientUnaryCall;
  RemoveBackend(argument: _xlb_v1_RemoveBackendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_RemoveBackendResponse__Output>): grpc.ClientUnaryCall;
  RemoveBackend(argument: _xlb_v1_RemoveBackendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_RemoveBackendResponse__Output>): grpc.ClientUnaryCall;
  RemoveBackend(argument: _xlb_v1_RemoveBackendRequest, callback: grpc.requestCallback<_xlb_v1_RemoveBackendResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Removes a backend. Flows still pinned to it are re-balanced onto the remaining backends; to
   * let them finish first, drain it (UpdateBackend state DRAINING) and remove it later.
   */
  removeBackend(argument: _xlb_v1_RemoveBackendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_RemoveBackendResponse__Output>): grpc.ClientUnaryCall;
  removeBackend(argument: _xlb_v1_RemoveBackendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_RemoveBackendResponse__Output>): grpc.ClientUnaryCall;
  removeBackend(argument: _xlb_v1_RemoveBackendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_RemoveBackendResponse__Output>): grpc.ClientUnaryCall;
  removeBackend(argument: _xlb_v1_RemoveBackendRequest, callback: grpc.requestCallback<_xlb_v1_RemoveBackendResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Changes a backend's weight, state or name. Its datapath id stays the same, so established
   * flows keep going to it.
   */
  UpdateBackend(argument: _xlb_v1_UpdateBackendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_UpdateBackendResponse__Output>): grpc.ClientUnaryCall;
  UpdateBackend(argument: _xlb_v1_UpdateBackendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_UpdateBackendResponse__Output>): grpc.ClientUnaryCall;
  UpdateBackend(argument: _xlb_v1_UpdateBackendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_UpdateBackendResponse__Output>): grpc.ClientUnaryCall;
  UpdateBackend(argument: _xlb_v1_UpdateBackendRequest, callback: grpc.requestCallback<_xlb_v1_UpdateBackendResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Changes a backend's weight, state or name. Its datapath id stays the same, so established
   * flows keep going to it.
   */
  updateBackend(argument: _xlb_v1_UpdateBackendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_UpdateBackendResponse__Output>): grpc.ClientUnaryCall;
  updateBackend(argument: _xlb_v1_UpdateBackendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_UpdateBackendResponse__Output>): grpc.ClientUnaryCall;
  updateBackend(argument: _xlb_v1_UpdateBackendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_UpdateBackendResponse__Output>): grpc.ClientUnaryCall;
  updateBackend(argument: _xlb_v1_UpdateBackendRequest, callback: grpc.requestCallback<_xlb_v1_UpdateBackendResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Changes a service's flags and, when asked, replaces its whole backend set. VIP, port and
   * protocol are the identity and cannot change (delete and create instead).
   */
  UpdateService(argument: _xlb_v1_UpdateServiceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_UpdateServiceResponse__Output>): grpc.ClientUnaryCall;
  UpdateService(argument: _xlb_v1_UpdateServiceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_UpdateServiceResponse__Output>): grpc.ClientUnaryCall;
  UpdateService(argument: _xlb_v1_UpdateServiceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_UpdateServiceResponse__Output>): grpc.ClientUnaryCall;
  UpdateService(argument: _xlb_v1_UpdateServiceRequest, callback: grpc.requestCallback<_xlb_v1_UpdateServiceResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Changes a service's flags and, when asked, replaces its whole backend set. VIP, port and
   * protocol are the identity and cannot change (delete and create instead).
   */
  updateService(argument: _xlb_v1_UpdateServiceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_UpdateServiceResponse__Output>): grpc.ClientUnaryCall;
  updateService(argument: _xlb_v1_UpdateServiceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_xlb_v1_UpdateServiceResponse__Output>): grpc.ClientUnaryCall;
  updateService(argument: _xlb_v1_UpdateServiceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_xlb_v1_UpdateServiceResponse__Output>): grpc.ClientUnaryCall;
  updateService(argument: _xlb_v1_UpdateServiceRequest, callback: grpc.requestCallback<_xlb_v1_UpdateServiceResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface LoadBalancerHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Adds one backend to a service. ALREADY_EXISTS if the service has a backend with that address.
   */
  AddBackend: grpc.handleUnaryCall<_xlb_v1_AddBackendRequest__Output, _xlb_v1_AddBackendResponse>;
  
  /**
   * Converges the API-managed services to exactly the given set: creates what is missing, updates
   * what differs, deletes API-managed services that are not listed. Unchanged services and
   * backends are not touched (their flows and datapath ids stay). Services declared in the daemon's
   * config file are not managed by Apply: listing one is FAILED_PRECONDITION, and they are never
   * deleted by it.
   */
  Apply: grpc.handleUnaryCall<_xlb_v1_ApplyRequest__Output, _xlb_v1_ApplyResponse>;
  
  /**
   * Creates a service, optionally with its backends. ALREADY_EXISTS if a service with the same
   * VIP, port and protocol exists.
   */
  CreateService: grpc.handleUnaryCall<_xlb_v1_CreateServiceRequest__Output, _xlb_v1_CreateServiceResponse>;
  
  /**
   * Deletes a service and all its backends. Established flows to it stop being balanced.
   */
  DeleteService: grpc.handleUnaryCall<_xlb_v1_DeleteServiceRequest__Output, _xlb_v1_DeleteServiceResponse>;
  
  /**
   * Takes this LB node out of (or, with undo, back into) the routers' ECMP set: withdraws every
   * VIP this node announces by BGP, and keeps them withdrawn (across daemon restarts) until undone.
   * The datapath keeps forwarding whatever still arrives. FAILED_PRECONDITION when BGP is not
   * configured.
   */
  DrainNode: grpc.handleUnaryCall<_xlb_v1_DrainNodeRequest__Output, _xlb_v1_DrainNodeResponse>;
  
  GetService: grpc.handleUnaryCall<_xlb_v1_GetServiceRequest__Output, _xlb_v1_GetServiceResponse>;
  
  /**
   * Datapath counters. Counters are cumulative since the datapath maps were created (they survive
   * daemon restarts that adopt a running datapath) and never reset by the API.
   */
  GetStats: grpc.handleUnaryCall<_xlb_v1_GetStatsRequest__Output, _xlb_v1_GetStatsResponse>;
  
  /**
   * What the daemon is and what it drives.
   */
  GetStatus: grpc.handleUnaryCall<_xlb_v1_GetStatusRequest__Output, _xlb_v1_GetStatusResponse>;
  
  /**
   * All services, ordered by VIP (IPv4 first, then IPv6, by address bytes), protocol, port.
   */
  ListServices: grpc.handleUnaryCall<_xlb_v1_ListServicesRequest__Output, _xlb_v1_ListServicesResponse>;
  
  /**
   * Removes a backend. Flows still pinned to it are re-balanced onto the remaining backends; to
   * let them finish first, drain it (UpdateBackend state DRAINING) and remove it later.
   */
  RemoveBackend: grpc.handleUnaryCall<_xlb_v1_RemoveBackendRequest__Output, _xlb_v1_RemoveBackendResponse>;
  
  /**
   * Changes a backend's weight, state or name. Its datapath id stays the same, so established
   * flows keep going to it.
   */
  UpdateBackend: grpc.handleUnaryCall<_xlb_v1_UpdateBackendRequest__Output, _xlb_v1_UpdateBackendResponse>;
  
  /**
   * Changes a service's flags and, when asked, replaces its whole backend set. VIP, port and
   * protocol are the identity and cannot change (delete and create instead).
   */
  UpdateService: grpc.handleUnaryCall<_xlb_v1_UpdateServiceRequest__Output, _xlb_v1_UpdateServiceResponse>;
  
}

export interface LoadBalancerDefinition extends grpc.ServiceDefinition {
  AddBackend: MethodDefinition<_xlb_v1_AddBackendRequest, _xlb_v1_AddBackendResponse, _xlb_v1_AddBackendRequest__Output, _xlb_v1_AddBackendResponse__Output>
  Apply: MethodDefinition<_xlb_v1_ApplyRequest, _xlb_v1_ApplyResponse, _xlb_v1_ApplyRequest__Output, _xlb_v1_ApplyResponse__Output>
  CreateService: MethodDefinition<_xlb_v1_CreateServiceRequest, _xlb_v1_CreateServiceResponse, _xlb_v1_CreateServiceRequest__Output, _xlb_v1_CreateServiceResponse__Output>
  DeleteService: MethodDefinition<_xlb_v1_DeleteServiceRequest, _xlb_v1_DeleteServiceResponse, _xlb_v1_DeleteServiceRequest__Output, _xlb_v1_DeleteServiceResponse__Output>
  DrainNode: MethodDefinition<_xlb_v1_DrainNodeRequest, _xlb_v1_DrainNodeResponse, _xlb_v1_DrainNodeRequest__Output, _xlb_v1_DrainNodeResponse__Output>
  GetService: MethodDefinition<_xlb_v1_GetServiceRequest, _xlb_v1_GetServiceResponse, _xlb_v1_GetServiceRequest__Output, _xlb_v1_GetServiceResponse__Output>
  GetStats: MethodDefinition<_xlb_v1_GetStatsRequest, _xlb_v1_GetStatsResponse, _xlb_v1_GetStatsRequest__Output, _xlb_v1_GetStatsResponse__Output>
  GetStatus: MethodDefinition<_xlb_v1_GetStatusRequest, _xlb_v1_GetStatusResponse, _xlb_v1_GetStatusRequest__Output, _xlb_v1_GetStatusResponse__Output>
  ListServices: MethodDefinition<_xlb_v1_ListServicesRequest, _xlb_v1_ListServicesResponse, _xlb_v1_ListServicesRequest__Output, _xlb_v1_ListServicesResponse__Output>
  RemoveBackend: MethodDefinition<_xlb_v1_RemoveBackendRequest, _xlb_v1_RemoveBackendResponse, _xlb_v1_RemoveBackendRequest__Output, _xlb_v1_RemoveBackendResponse__Output>
  UpdateBackend: MethodDefinition<_xlb_v1_UpdateBackendRequest, _xlb_v1_UpdateBackendResponse, _xlb_v1_UpdateBackendRequest__Output, _xlb_v1_UpdateBackendResponse__Output>
  UpdateService: MethodDefinition<_xlb_v1_UpdateServiceRequest, _xlb_v1_UpdateServiceResponse, _xlb_v1_UpdateServiceRequest__Output, _xlb_v1_UpdateServiceResponse__Output>
}
