// Original file: proto/xlb/v1/xlb.proto


export interface ListServicesRequest {
}

export interface ListServicesRequest__Output {
}
