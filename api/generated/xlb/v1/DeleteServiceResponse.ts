// Original file: proto/xlb/v1/xlb.proto


export interface DeleteServiceResponse {
}

export interface DeleteServiceResponse__Output {
}
