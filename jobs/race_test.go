//go:build race

package jobs_test

// raceEnabled reports whether the race detector is on: it makes SQLite ~50x slower.
const raceEnabled = true
