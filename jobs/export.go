package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// exportEvery is how old the export may grow before the schedule rebuilds it: it is a daily
// snapshot, and writing one reads every community table (20 s for 5,000 repositories).
// The schedule checks hourly, so the file's age rather than the process's uptime decides.
const exportEvery = 24 * time.Hour

// errNoExportPath explains a run without somewhere to write.
var errNoExportPath = errors.New("export: no export path configured (set KUBESTATS_EXPORT_PATH)")

// Export writes the public dataset (see store.Export) to Config.ExportPath, replacing the
// previous file atomically, so GET /api/v1/export.sqlite always serves a whole file.
func (r *Runner) Export(ctx context.Context) (Counts, error) {
	if r.cfg.ExportPath == "" {
		return nil, errNoExportPath
	}
	info, err := r.store.Export(ctx, r.cfg.ExportPath, r.now())
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	c := Counts{"bytes": int(info.Bytes)}
	for _, t := range []string{"repositories", "resources", "resource_events", "chart_usages", "image_usages"} {
		c[t] = int(info.Rows[t])
	}
	return c, nil
}

// exportDue reports whether the scheduled export should run: no file yet, or one at least
// a day old (a few minutes early, so an hourly check never slips a whole hour).
func (r *Runner) exportDue() bool {
	st, err := os.Stat(r.cfg.ExportPath)
	if err != nil {
		return true
	}
	return r.now().Sub(st.ModTime()) >= exportEvery-5*time.Minute
}
