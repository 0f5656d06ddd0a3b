//go:build race

package store_test

// raceEnabled reports whether the race detector is on: it makes SQLite ~50x slower.
const raceEnabled = true
