package jobs

import (
	"context"
	"fmt"
)

// Aggregate writes the ecosystem_daily rows: every day from the first repository's discovery
// that has no row yet, plus the most recent days again (today is still moving, and commits
// detected late land on the days they were committed). It runs hourly: a missed run or a
// stopped server leaves gaps that the next run fills, computed as of each day's end.
//
// It also recounts every chart's growth: scans keep it exact as of each write, but the
// 30-day window slides without one, so an adoption leaves the count only when this runs.
func (r *Runner) Aggregate(ctx context.Context) (Counts, error) {
	res, err := r.store.AggregateMissing(ctx, r.now(), false)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	grown, err := r.store.RefreshChartGrowth(ctx)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	return Counts{"days_written": res.Written, "days_total": res.Days, "charts_growth_changed": grown}, nil
}
