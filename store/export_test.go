package store

import "database/sql"

// Readers and Writer expose the pools to tests that check connection settings.
func (s *Store) Readers() *sql.DB { return s.r }
func (s *Store) Writer() *sql.DB  { return s.w }

// PreparedReads lists the texts of every read statement the store has run through its
// statement cache: what the query-plan tests explain.
func (s *Store) PreparedReads() []string {
	s.stmts.mu.RLock()
	defer s.stmts.mu.RUnlock()
	out := make([]string, 0, len(s.stmts.m))
	for q := range s.stmts.m {
		out = append(out, q)
	}
	return out
}

// StatsUpkeepQueries are the statements the write path runs to keep the totals of the keys a
// write touched: they must read index ranges, never whole usage tables.
func StatsUpkeepQueries() []string {
	out := []string{repoChartUsages, chartTotals, chartGrowthOf, allChartsGrowth}
	for _, t := range []statsTable{imageStatsRefresh, kindStatsRefresh, chartVersionStatsRefresh, chartSourceStatsRefresh, deprecationStatsRefresh} {
		out = append(out, t.stmts...)
	}
	return out
}
