package handlers

import "github.com/labstack/echo/v4"

// registerAPI mounts the JSON API under /api/v1. (Being built: issue 6.)
func (h *Handlers) registerAPI(e *echo.Echo) {}
