// Original file: proto/xlb/v1/xlb.proto


export interface GetStatusRequest {
}

export interface GetStatusRequest__Output {
}
