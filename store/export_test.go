package store

import "database/sql"

// Readers and Writer expose the pools to tests that check connection settings.
func (s *Store) Readers() *sql.DB { return s.r }
func (s *Store) Writer() *sql.DB  { return s.w }
