package handlers

import "github.com/labstack/echo/v4"

// registerImages mounts the images views; read guards them (login unless the site is public).
func (h *Handlers) registerImages(e *echo.Echo, read []echo.MiddlewareFunc) {}
