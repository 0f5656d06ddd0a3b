package scan

// nsState collects what namespace inference needs from the whole tree. (Stub: replaced by the scan-core work.)
type nsState struct{}
