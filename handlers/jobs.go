package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/views"
)

func (h *Handlers) jobsView(c echo.Context) (views.JobsView, error) {
	runs, err := h.store.ListJobRuns(c.Request().Context(), "", 30)
	if err != nil {
		return views.JobsView{}, err
	}
	infos := h.jobs.Infos()
	rows := make([]views.JobRow, len(infos))
	for i, j := range infos {
		rows[i] = views.JobRow{Name: j.Name, Describe: j.Describe, Every: j.Every, NextRun: j.NextRun, Running: j.Running, Enabled: j.Enabled}
	}
	rl := h.github.RateLimit()
	return views.JobsView{Jobs: rows, Runs: runs, TokenSet: h.cfg.GitHubTokenSet, Now: time.Now(),
		Rate: views.GitHubBudget{Known: rl.Known, Limit: rl.Limit, Remaining: rl.Remaining, ResetAt: rl.ResetAt, WaitingUntil: rl.WaitingUntil}}, nil
}

func (h *Handlers) showJobs(c echo.Context) error {
	v, err := h.jobsView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.JobsPage(h.layout(c, "Jobs", "jobs"), v))
}

// listJobRuns is the polled runs table.
func (h *Handlers) listJobRuns(c echo.Context) error {
	v, err := h.jobsView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.JobRunsPartial(v.Runs, v.Now))
}

// runJob starts a job in the background. A click while it runs says so instead of
// silently doing nothing.
func (h *Handlers) runJob(c echo.Context) error {
	name := c.Param("name")
	if !jobs.Known(name) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	err := h.jobs.RunAsync(name, "manual")
	started, msg := true, "Started: the runs table shows its progress."
	switch {
	case errors.Is(err, jobs.ErrAlreadyRunning):
		started, msg = false, "Already running: this click started nothing."
	case err != nil:
		return err
	default:
		h.log.Info("job started by hand", "job", name, "by", currentUser(c).ID)
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		return render(c, http.StatusOK, views.RunNowResult(name, started, msg))
	}
	kind := "success"
	if !started {
		kind = "info"
	}
	h.addFlash(c, kind, name+": "+msg)
	return c.Redirect(http.StatusSeeOther, "/jobs")
}
