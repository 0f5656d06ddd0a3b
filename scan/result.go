package scan

// Result finishes the scan. (Stub: replaced by the scan-core work.)
func (s *Scanner) Result() *Result {
	s.facts.finish(&s.res)
	return &s.res
}
