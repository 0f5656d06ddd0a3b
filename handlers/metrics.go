package handlers

import "github.com/labstack/echo/v4"

// Metrics holds the Prometheus collectors. (Being built: issue 6.)
type Metrics struct{}

// instrument records each request's route, status and latency.
func (h *Handlers) instrument(next echo.HandlerFunc) echo.HandlerFunc { return next }

// registerMetrics mounts /metrics.
func (h *Handlers) registerMetrics(e *echo.Echo) {}
