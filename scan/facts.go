package scan

// factState collects chart and image facts per object. (Stub: replaced by the facts work.)
type factState struct{}

// add is called for every object right after it is parsed and redacted; idx is its index in Result.Objects.
func (f *factState) add(o *Object, idx int, obj map[string]any) {}

// finish resolves chart sources (namespaces are final by then) and appends Charts and Images to res.
func (f *factState) finish(res *Result) {}
