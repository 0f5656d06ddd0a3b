package handlers

import "github.com/labstack/echo/v4"

// registerDeprecations mounts the deprecations views; read guards them (login unless the site is public).
func (h *Handlers) registerDeprecations(e *echo.Echo, read []echo.MiddlewareFunc) {}
