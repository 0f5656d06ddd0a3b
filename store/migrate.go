package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migration upgrades the schema by one version inside its own transaction.
type migration struct {
	why string // why the step exists, for whoever reads the list years later
	sql string
}

// baseVersion is the schema version that the first release of schema.sql created.
const baseVersion = 1

// migrations[i] upgrades version baseVersion+i to baseVersion+i+1. Append only: a step
// that has shipped is never edited. schema.sql must always equal the result of all
// steps (TestMigratedEqualsFresh checks it against the frozen store/testdata/schema-vN.sql).
var migrations = []migration{}

// LatestVersion is the schema version this binary creates and understands.
func LatestVersion() int { return baseVersion + len(migrations) }

func (s *Store) migrate(ctx context.Context, schema string) error {
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	latest := LatestVersion()
	switch {
	case v > latest:
		return fmt.Errorf("store: %s is at schema version %d but this binary knows only up to %d (was it opened by a newer Kubestats?): %w",
			s.path, v, latest, ErrSchemaTooNew)
	case v == latest:
		return nil
	case v == 0:
		return s.createFresh(ctx, schema)
	}
	for ; v < latest; v++ {
		step := migrations[v-baseVersion]
		err := s.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, step.sql); err != nil {
				return err
			}
			// PRAGMA takes no placeholders; v is an int we computed, not input.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate to version %d (%s): %w", v+1, step.why, err)
		}
	}
	return nil
}

// createFresh applies schema.sql to an empty database. A file with tables but no
// version is someone else's database: refuse rather than mix schemas.
func (s *Store) createFresh(ctx context.Context, schema string) error {
	if schema == "" {
		return fmt.Errorf("store: no schema given to create %s", s.path)
	}
	var tables int
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table'").Scan(&tables); err != nil {
		return fmt.Errorf("store: inspect %s: %w", s.path, err)
	}
	if tables > 0 {
		return fmt.Errorf("store: %s has tables but no Kubestats schema version; it is not a Kubestats database", s.path)
	}
	return s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("store: create schema: %w", err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", LatestVersion())); err != nil {
			return fmt.Errorf("store: set schema version: %w", err)
		}
		return nil
	})
}
