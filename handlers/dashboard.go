package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

// dashboardFigures is what the dashboard shows to everyone; it is cached (see Handlers.community).
type dashboardFigures struct {
	community store.Community
	statuses  map[string]int // repositories by status
}

// dashboardLists is how many charts, repositories and events each dashboard list shows.
const dashboardLists = 8

// operatorFigures are the dashboard's figures for logged-in users: four small queries that
// were half of the page's cost, kept for operatorTTL.
type operatorFigures struct {
	users, active int
	dbSize        int64
	schema        int
	runs          []store.JobRun
}

// operatorTTL bounds how old the operator figures (users, database size, last job runs) may be.
const operatorTTL = 5 * time.Second

func (h *Handlers) loadOperatorFigures(ctx context.Context) (operatorFigures, error) {
	var op operatorFigures
	counts, err := h.store.CountUsers(ctx)
	if err != nil {
		return op, err
	}
	op.users, op.active = counts.Total, counts.Active
	if op.dbSize, err = h.store.Size(ctx); err != nil {
		return op, err
	}
	if op.schema, err = h.store.SchemaVersion(ctx); err != nil {
		return op, err
	}
	op.runs, err = h.store.ListJobRuns(ctx, "", 5)
	return op, err
}

func (h *Handlers) showDashboard(c echo.Context) error {
	ctx := c.Request().Context()
	now := h.cfg.Now()
	fig, err := h.community.get(ctx, "", func(ctx context.Context) (dashboardFigures, error) {
		c, err := h.store.CommunitySummary(ctx, now, dashboardLists)
		if err != nil {
			return dashboardFigures{}, err
		}
		statuses, err := h.store.RepositoryCounts(ctx)
		return dashboardFigures{c, statuses}, err
	})
	if err != nil {
		return err
	}
	d := views.Dashboard{
		Community: fig.community, Repositories: fig.statuses, Now: now,
		Version: h.cfg.Version, GitHubToken: h.cfg.GitHubTokenSet,
		StartedAt: h.cfg.StartedAt.UTC().Format("2006-01-02 15:04 UTC"), Operator: currentUser(c) != nil,
	}
	if d.Operator {
		op, err := h.operator.get(ctx, "", h.loadOperatorFigures)
		if err != nil {
			return err
		}
		d.Users, d.ActiveUsers, d.DBSize, d.SchemaVersion, d.LastRuns = op.users, op.active, op.dbSize, op.schema, op.runs
		d.DBPath = h.store.Path()
	}
	return render(c, http.StatusOK, views.DashboardPage(h.layout(c, "Dashboard", "dashboard"), d))
}

func (h *Handlers) health(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": h.cfg.Version})
}

// healthDB answers 503 when the database does not answer within two seconds.
func (h *Handlers) healthDB(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		h.log.Error("health: database", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "the database did not answer"})
	}
	v, err := h.store.SchemaVersion(ctx)
	if err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "the database did not answer"})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "schema_version": v, "latest_schema_version": store.LatestVersion()})
}
