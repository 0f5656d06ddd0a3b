package scan

import (
	"cmp"
	"slices"
)

// Result finishes the scan: namespaces are inferred, chart sources resolved, deprecations listed, and
// every list sorted so that the same tree always gives the same Result (and JSON with [] for empty lists).
// Call it once, after the last AddFile; later calls return the same Result.
//
// The Result is a value of its own, and the Scanner drops its working state (the namespace and fact
// indexes, the Options with the caller's Content callback and whatever that closes over): a sync holds
// the Result while it stores it, its longest phase on a big repository, and must not hold the scan too.
func (s *Scanner) Result() *Result {
	if s.final != nil {
		return s.final
	}
	res := &s.res

	s.ns.infer(res.Objects)
	s.facts.finish(res)
	res.Deprecations = append(res.Deprecations, findDeprecations(res.Objects)...)

	// Objects in file order; items of one List document by kind and name.
	slices.SortStableFunc(res.Objects, func(a, b Object) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Doc, b.Doc),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	slices.SortStableFunc(res.Charts, func(a, b Chart) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Chart, b.Chart), cmp.Compare(a.Version, b.Version),
			cmp.Compare(a.SourceURL, b.SourceURL), cmp.Compare(a.ChartURL, b.ChartURL))
	})
	slices.SortStableFunc(res.Images, func(a, b Image) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Image, b.Image))
	})
	slices.SortStableFunc(res.Deprecations, func(a, b Deprecation) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	sortFileErrors(res.Errors)
	sortFileErrors(res.Skipped)

	res.Objects = nonNil(res.Objects)
	res.Charts = nonNil(res.Charts)
	res.Images = nonNil(res.Images)
	res.Deprecations = nonNil(res.Deprecations)
	res.Errors = nonNil(res.Errors)
	res.Skipped = nonNil(res.Skipped)

	s.final = new(Result)
	*s.final, s.res = s.res, Result{}
	s.ns, s.facts, s.opts.Content = nsState{}, factState{}, nil
	return s.final
}

func sortFileErrors(errs []FileError) {
	slices.SortStableFunc(errs, func(a, b FileError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Message, b.Message))
	})
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
