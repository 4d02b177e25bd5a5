import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AddBackendRequest as _xlb_v1_AddBackendRequest, AddBackendRequest__Output as _xlb_v1_AddBackendRequest__Output } from './xlb/v1/AddBackendRequest.js';
import type { AddBackendResponse as _xlb_v1_AddBackendResponse, AddBackendResponse__Output as _xlb_v1_AddBackendResponse__Output } from './xlb/v1/AddBackendResponse.js';
import type { ApplyRequest as _xlb_v1_ApplyRequest, ApplyRequest__Output as _xlb_v1_ApplyRequest__Output } from './xlb/v1/ApplyRequest.js';
import type { ApplyResponse as _xlb_v1_ApplyResponse, ApplyResponse__Output as _xlb_v1_ApplyResponse__Output } from './xlb/v1/ApplyResponse.js';
import type { Backend as _xlb_v1_Backend, Backend__Output as _xlb_v1_Backend__Output } from './xlb/v1/Backend.js';
import type { BackendHealth as _xlb_v1_BackendHealth, BackendHealth__Output as _xlb_v1_BackendHealth__Output } from './xlb/v1/BackendHealth.js';
import type { BackendStats as _xlb_v1_BackendStats, BackendStats__Output as _xlb_v1_BackendStats__Output } from './xlb/v1/BackendStats.js';
import type { BgpNeighborStatus as _xlb_v1_BgpNeighborStatus, BgpNeighborStatus__Output as _xlb_v1_BgpNeighborStatus__Output } from './xlb/v1/BgpNeighborStatus.js';
import type { BgpPrefix as _xlb_v1_BgpPrefix, BgpPrefix__Output as _xlb_v1_BgpPrefix__Output } from './xlb/v1/BgpPrefix.js';
import type { BgpStatus as _xlb_v1_BgpStatus, BgpStatus__Output as _xlb_v1_BgpStatus__Output } from './xlb/v1/BgpStatus.js';
import type { CaptureFilter as _xlb_v1_CaptureFilter, CaptureFilter__Output as _xlb_v1_CaptureFilter__Output } from './xlb/v1/CaptureFilter.js';
import type { CreateServiceRequest as _xlb_v1_CreateServiceRequest, CreateServiceRequest__Output as _xlb_v1_CreateServiceRequest__Output } from './xlb/v1/CreateServiceRequest.js';
import type { CreateServiceResponse as _xlb_v1_CreateServiceResponse, CreateServiceResponse__Output as _xlb_v1_CreateServiceResponse__Output } from './xlb/v1/CreateServiceResponse.js';
import type { DeleteServiceRequest as _xlb_v1_DeleteServiceRequest, DeleteServiceRequest__Output as _xlb_v1_DeleteServiceRequest__Output } from './xlb/v1/DeleteServiceRequest.js';
import type { DeleteServiceResponse as _xlb_v1_DeleteServiceResponse, DeleteServiceResponse__Output as _xlb_v1_DeleteServiceResponse__Output } from './xlb/v1/DeleteServiceResponse.js';
import type { DrainNodeRequest as _xlb_v1_DrainNodeRequest, DrainNodeRequest__Output as _xlb_v1_DrainNodeRequest__Output } from './xlb/v1/DrainNodeRequest.js';
import type { DrainNodeResponse as _xlb_v1_DrainNodeResponse, DrainNodeResponse__Output as _xlb_v1_DrainNodeResponse__Output } from './xlb/v1/DrainNodeResponse.js';
import type { FlowTableStats as _xlb_v1_FlowTableStats, FlowTableStats__Output as _xlb_v1_FlowTableStats__Output } from './xlb/v1/FlowTableStats.js';
import type { GatewayStatus as _xlb_v1_GatewayStatus, GatewayStatus__Output as _xlb_v1_GatewayStatus__Output } from './xlb/v1/GatewayStatus.js';
import type { GetServiceRequest as _xlb_v1_GetServiceRequest, GetServiceRequest__Output as _xlb_v1_GetServiceRequest__Output } from './xlb/v1/GetServiceRequest.js';
import type { GetServiceResponse as _xlb_v1_GetServiceResponse, GetServiceResponse__Output as _xlb_v1_GetServiceResponse__Output } from './xlb/v1/GetServiceResponse.js';
import type { GetStatsRequest as _xlb_v1_GetStatsRequest, GetStatsRequest__Output as _xlb_v1_GetStatsRequest__Output } from './xlb/v1/GetStatsRequest.js';
import type { GetStatsResponse as _xlb_v1_GetStatsResponse, GetStatsResponse__Output as _xlb_v1_GetStatsResponse__Output } from './xlb/v1/GetStatsResponse.js';
import type { GetStatusRequest as _xlb_v1_GetStatusRequest, GetStatusRequest__Output as _xlb_v1_GetStatusRequest__Output } from './xlb/v1/GetStatusRequest.js';
import type { GetStatusResponse as _xlb_v1_GetStatusResponse, GetStatusResponse__Output as _xlb_v1_GetStatusResponse__Output } from './xlb/v1/GetStatusResponse.js';
import type { HealthCheck as _xlb_v1_HealthCheck, HealthCheck__Output as _xlb_v1_HealthCheck__Output } from './xlb/v1/HealthCheck.js';
import type { HealthCheckStatus as _xlb_v1_HealthCheckStatus, HealthCheckStatus__Output as _xlb_v1_HealthCheckStatus__Output } from './xlb/v1/HealthCheckStatus.js';
import type { IcmpStats as _xlb_v1_IcmpStats, IcmpStats__Output as _xlb_v1_IcmpStats__Output } from './xlb/v1/IcmpStats.js';
import type { InterfaceStatus as _xlb_v1_InterfaceStatus, InterfaceStatus__Output as _xlb_v1_InterfaceStatus__Output } from './xlb/v1/InterfaceStatus.js';
import type { KubernetesRef as _xlb_v1_KubernetesRef, KubernetesRef__Output as _xlb_v1_KubernetesRef__Output } from './xlb/v1/KubernetesRef.js';
import type { KubernetesStatus as _xlb_v1_KubernetesStatus, KubernetesStatus__Output as _xlb_v1_KubernetesStatus__Output } from './xlb/v1/KubernetesStatus.js';
import type { ListServicesRequest as _xlb_v1_ListServicesRequest, ListServicesRequest__Output as _xlb_v1_ListServicesRequest__Output } from './xlb/v1/ListServicesRequest.js';
import type { ListServicesResponse as _xlb_v1_ListServicesResponse, ListServicesResponse__Output as _xlb_v1_ListServicesResponse__Output } from './xlb/v1/ListServicesResponse.js';
import type { LoadBalancerClient as _xlb_v1_LoadBalancerClient, LoadBalancerDefinition as _xlb_v1_LoadBalancerDefinition } from './xlb/v1/LoadBalancer.js';
import type { MaglevTableUsage as _xlb_v1_MaglevTableUsage, MaglevTableUsage__Output as _xlb_v1_MaglevTableUsage__Output } from './xlb/v1/MaglevTableUsage.js';
import type { NamedCounter as _xlb_v1_NamedCounter, NamedCounter__Output as _xlb_v1_NamedCounter__Output } from './xlb/v1/NamedCounter.js';
import type { RecordEnd as _xlb_v1_RecordEnd, RecordEnd__Output as _xlb_v1_RecordEnd__Output } from './xlb/v1/RecordEnd.js';
import type { RecordRequest as _xlb_v1_RecordRequest, RecordRequest__Output as _xlb_v1_RecordRequest__Output } from './xlb/v1/RecordRequest.js';
import type { RecordResponse as _xlb_v1_RecordResponse, RecordResponse__Output as _xlb_v1_RecordResponse__Output } from './xlb/v1/RecordResponse.js';
import type { RecordStart as _xlb_v1_RecordStart, RecordStart__Output as _xlb_v1_RecordStart__Output } from './xlb/v1/RecordStart.js';
import type { RecordStarted as _xlb_v1_RecordStarted, RecordStarted__Output as _xlb_v1_RecordStarted__Output } from './xlb/v1/RecordStarted.js';
import type { RecordStats as _xlb_v1_RecordStats, RecordStats__Output as _xlb_v1_RecordStats__Output } from './xlb/v1/RecordStats.js';
import type { RecordStop as _xlb_v1_RecordStop, RecordStop__Output as _xlb_v1_RecordStop__Output } from './xlb/v1/RecordStop.js';
import type { RecorderClient as _xlb_v1_RecorderClient, RecorderDefinition as _xlb_v1_RecorderDefinition } from './xlb/v1/Recorder.js';
import type { RemoveBackendRequest as _xlb_v1_RemoveBackendRequest, RemoveBackendRequest__Output as _xlb_v1_RemoveBackendRequest__Output } from './xlb/v1/RemoveBackendRequest.js';
import type { RemoveBackendResponse as _xlb_v1_RemoveBackendResponse, RemoveBackendResponse__Output as _xlb_v1_RemoveBackendResponse__Output } from './xlb/v1/RemoveBackendResponse.js';
import type { Service as _xlb_v1_Service, Service__Output as _xlb_v1_Service__Output } from './xlb/v1/Service.js';
import type { ServiceFlags as _xlb_v1_ServiceFlags, ServiceFlags__Output as _xlb_v1_ServiceFlags__Output } from './xlb/v1/ServiceFlags.js';
import type { ServiceHealth as _xlb_v1_ServiceHealth, ServiceHealth__Output as _xlb_v1_ServiceHealth__Output } from './xlb/v1/ServiceHealth.js';
import type { ServiceStats as _xlb_v1_ServiceStats, ServiceStats__Output as _xlb_v1_ServiceStats__Output } from './xlb/v1/ServiceStats.js';
import type { UpdateBackendRequest as _xlb_v1_UpdateBackendRequest, UpdateBackendRequest__Output as _xlb_v1_UpdateBackendRequest__Output } from './xlb/v1/UpdateBackendRequest.js';
import type { UpdateBackendResponse as _xlb_v1_UpdateBackendResponse, UpdateBackendResponse__Output as _xlb_v1_UpdateBackendResponse__Output } from './xlb/v1/UpdateBackendResponse.js';
import type { UpdateServiceRequest as _xlb_v1_UpdateServiceRequest, UpdateServiceRequest__Output as _xlb_v1_UpdateServiceRequest__Output } from './xlb/v1/UpdateServiceRequest.js';
import type { UpdateServiceResponse as _xlb_v1_UpdateServiceResponse, UpdateServiceResponse__Output as _xlb_v1_UpdateServiceResponse__Output } from './xlb/v1/UpdateServiceResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  xlb: {
    v1: {
      AddBackendRequest: MessageTypeDefinition<_xlb_v1_AddBackendRequest, _xlb_v1_AddBackendRequest__Output>
      AddBackendResponse: MessageTypeDefinition<_xlb_v1_AddBackendResponse, _xlb_v1_AddBackendResponse__Output>
      ApplyRequest: MessageTypeDefinition<_xlb_v1_ApplyRequest, _xlb_v1_ApplyRequest__Output>
      ApplyResponse: MessageTypeDefinition<_xlb_v1_ApplyResponse, _xlb_v1_ApplyResponse__Output>
      Backend: MessageTypeDefinition<_xlb_v1_Backend, _xlb_v1_Backend__Output>
      BackendHealth: MessageTypeDefinition<_xlb_v1_BackendHealth, _xlb_v1_BackendHealth__Output>
      BackendState: EnumTypeDefinition
      BackendStats: MessageTypeDefinition<_xlb_v1_BackendStats, _xlb_v1_BackendStats__Output>
      BgpNeighborStatus: MessageTypeDefinition<_xlb_v1_BgpNeighborStatus, _xlb_v1_BgpNeighborStatus__Output>
      BgpPrefix: MessageTypeDefinition<_xlb_v1_BgpPrefix, _xlb_v1_BgpPrefix__Output>
      BgpStatus: MessageTypeDefinition<_xlb_v1_BgpStatus, _xlb_v1_BgpStatus__Output>
      CaptureFilter: MessageTypeDefinition<_xlb_v1_CaptureFilter, _xlb_v1_CaptureFilter__Output>
      CaptureFormat: EnumTypeDefinition
      CapturePoints: EnumTypeDefinition
      CaptureProtocol: EnumTypeDefinition
      CreateServiceRequest: MessageTypeDefinition<_xlb_v1_CreateServiceRequest, _xlb_v1_CreateServiceRequest__Output>
      CreateServiceResponse: MessageTypeDefinition<_xlb_v1_CreateServiceResponse, _xlb_v1_CreateServiceResponse__Output>
      DeleteServiceRequest: MessageTypeDefinition<_xlb_v1_DeleteServiceRequest, _xlb_v1_DeleteServiceRequest__Output>
      DeleteServiceResponse: MessageTypeDefinition<_xlb_v1_DeleteServiceResponse, _xlb_v1_DeleteServiceResponse__Output>
      DrainNodeRequest: MessageTypeDefinition<_xlb_v1_DrainNodeRequest, _xlb_v1_DrainNodeRequest__Output>
      DrainNodeResponse: MessageTypeDefinition<_xlb_v1_DrainNodeResponse, _xlb_v1_DrainNodeResponse__Output>
      FlowTableStats: MessageTypeDefinition<_xlb_v1_FlowTableStats, _xlb_v1_FlowTableStats__Output>
      GatewayStatus: MessageTypeDefinition<_xlb_v1_GatewayStatus, _xlb_v1_GatewayStatus__Output>
      GetServiceRequest: MessageTypeDefinition<_xlb_v1_GetServiceRequest, _xlb_v1_GetServiceRequest__Output>
      GetServiceResponse: MessageTypeDefinition<_xlb_v1_GetServiceResponse, _xlb_v1_GetServiceResponse__Output>
      GetStatsRequest: MessageTypeDefinition<_xlb_v1_GetStatsRequest, _xlb_v1_GetStatsRequest__Output>
      GetStatsResponse: MessageTypeDefinition<_xlb_v1_GetStatsResponse, _xlb_v1_GetStatsResponse__Output>
      GetStatusRequest: MessageTypeDefinition<_xlb_v1_GetStatusRequest, _xlb_v1_GetStatusRequest__Output>
      GetStatusResponse: MessageTypeDefinition<_xlb_v1_GetStatusResponse, _xlb_v1_GetStatusResponse__Output>
      HealthCheck: MessageTypeDefinition<_xlb_v1_HealthCheck, _xlb_v1_HealthCheck__Output>
      HealthCheckStatus: MessageTypeDefinition<_xlb_v1_HealthCheckStatus, _xlb_v1_HealthCheckStatus__Output>
      HealthState: EnumTypeDefinition
      IcmpStats: MessageTypeDefinition<_xlb_v1_IcmpStats, _xlb_v1_IcmpStats__Output>
      InterfaceStatus: MessageTypeDefinition<_xlb_v1_InterfaceStatus, _xlb_v1_InterfaceStatus__Output>
      KubernetesRef: MessageTypeDefinition<_xlb_v1_KubernetesRef, _xlb_v1_KubernetesRef__Output>
      KubernetesStatus: MessageTypeDefinition<_xlb_v1_KubernetesStatus, _xlb_v1_KubernetesStatus__Output>
      ListServicesRequest: MessageTypeDefinition<_xlb_v1_ListServicesRequest, _xlb_v1_ListServicesRequest__Output>
      ListServicesResponse: MessageTypeDefinition<_xlb_v1_ListServicesResponse, _xlb_v1_ListServicesResponse__Output>
      LoadBalancer: SubtypeConstructor<typeof grpc.Client, _xlb_v1_LoadBalancerClient> & { service: _xlb_v1_LoadBalancerDefinition }
      MaglevTableUsage: MessageTypeDefinition<_xlb_v1_MaglevTableUsage, _xlb_v1_MaglevTableUsage__Output>
      NamedCounter: MessageTypeDefinition<_xlb_v1_NamedCounter, _xlb_v1_NamedCounter__Output>
      Protocol: EnumTypeDefinition
      RecordEnd: MessageTypeDefinition<_xlb_v1_RecordEnd, _xlb_v1_RecordEnd__Output>
      RecordEndReason: EnumTypeDefinition
      RecordRequest: MessageTypeDefinition<_xlb_v1_RecordRequest, _xlb_v1_RecordRequest__Output>
      RecordResponse: MessageTypeDefinition<_xlb_v1_RecordResponse, _xlb_v1_RecordResponse__Output>
      RecordStart: MessageTypeDefinition<_xlb_v1_RecordStart, _xlb_v1_RecordStart__Output>
      RecordStarted: MessageTypeDefinition<_xlb_v1_RecordStarted, _xlb_v1_RecordStarted__Output>
      RecordStats: MessageTypeDefinition<_xlb_v1_RecordStats, _xlb_v1_RecordStats__Output>
      RecordStop: MessageTypeDefinition<_xlb_v1_RecordStop, _xlb_v1_RecordStop__Output>
      Recorder: SubtypeConstructor<typeof grpc.Client, _xlb_v1_RecorderClient> & { service: _xlb_v1_RecorderDefinition }
      RemoveBackendRequest: MessageTypeDefinition<_xlb_v1_RemoveBackendRequest, _xlb_v1_RemoveBackendRequest__Output>
      RemoveBackendResponse: MessageTypeDefinition<_xlb_v1_RemoveBackendResponse, _xlb_v1_RemoveBackendResponse__Output>
      Service: MessageTypeDefinition<_xlb_v1_Service, _xlb_v1_Service__Output>
      ServiceFlags: MessageTypeDefinition<_xlb_v1_ServiceFlags, _xlb_v1_ServiceFlags__Output>
      ServiceHealth: MessageTypeDefinition<_xlb_v1_ServiceHealth, _xlb_v1_ServiceHealth__Output>
      ServiceStats: MessageTypeDefinition<_xlb_v1_ServiceStats, _xlb_v1_ServiceStats__Output>
      UpdateBackendRequest: MessageTypeDefinition<_xlb_v1_UpdateBackendRequest, _xlb_v1_UpdateBackendRequest__Output>
      UpdateBackendResponse: MessageTypeDefinition<_xlb_v1_UpdateBackendResponse, _xlb_v1_UpdateBackendResponse__Output>
      UpdateServiceRequest: MessageTypeDefinition<_xlb_v1_UpdateServiceRequest, _xlb_v1_UpdateServiceRequest__Output>
      UpdateServiceResponse: MessageTypeDefinition<_xlb_v1_UpdateServiceResponse, _xlb_v1_UpdateServiceResponse__Output>
      XdpMode: EnumTypeDefinition
    }
  }
}

