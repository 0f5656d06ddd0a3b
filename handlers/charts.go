package handlers

import "github.com/labstack/echo/v4"

// registerCharts mounts the charts views; read guards them (login unless the site is public).
func (h *Handlers) registerCharts(e *echo.Echo, read []echo.MiddlewareFunc) {}
