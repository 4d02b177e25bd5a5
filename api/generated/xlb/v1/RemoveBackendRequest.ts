// Original file: proto/xlb/v1/xlb.proto


export interface RemoveBackendRequest {
  'serviceId'?: (string);
  'address'?: (string);
}

export interface RemoveBackendRequest__Output {
  'serviceId': (string);
  'address': (string);
}
