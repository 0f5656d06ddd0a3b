package handlers

import (
	"slices"
	"testing"
)

// TestWindow: API pages larger than the store's pages are read as several store pages and cut
// to exactly the requested items, for every alignment.
func TestWindow(t *testing.T) {
	const total, max = 1234, 200
	all := make([]int, total)
	for i := range all {
		all[i] = i
	}
	calls := 0
	fetch := func(page, perPage int) ([]int, int, error) {
		calls++
		if perPage > max {
			t.Fatalf("store page of %d, above its maximum %d", perPage, max)
		}
		off := (page - 1) * perPage
		if off >= total {
			return nil, total, nil
		}
		return all[off:min(off+perPage, total)], total, nil
	}
	for _, n := range []int{1, 50, 199, 200, 201, 333, 499, 500} {
		for page := 1; (page-1)*n <= total+n; page++ {
			calls = 0
			off := (page - 1) * n
			got, count, err := window(off, n, max, fetch)
			if err != nil {
				t.Fatal(err)
			}
			want := []int{}
			if off < total {
				want = all[off:min(off+n, total)]
			}
			if count != total || !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("per_page %d page %d: got %d items from %v (count %d), want %d from %v",
					n, page, len(got), first(got), count, len(want), first(want))
			}
			if limit := n/max + 2; calls > limit {
				t.Fatalf("per_page %d page %d: %d store calls, want at most %d", n, page, calls, limit)
			}
		}
	}
}

func first(s []int) any {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}
