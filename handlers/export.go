package handlers

import "github.com/labstack/echo/v4"

// registerExport mounts the dataset download and the superuser backup download. (Being built: issue 6.)
func (h *Handlers) registerExport(e *echo.Echo) {}
