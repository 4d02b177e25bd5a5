// Original file: proto/xlb/v1/xlb.proto


export interface RecordStop {
}

export interface RecordStop__Output {
}
