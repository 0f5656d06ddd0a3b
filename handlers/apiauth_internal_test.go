package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// MountAPIProbes adds test-only API routes guarded by apiWrite and apiSuperuser, so the
// guards are tested through the real middleware chain before real routes use them.
func (h *Handlers) MountAPIProbes(e *echo.Echo) {
	g := h.apiGroup(e)
	probe := func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"auth": apiAuthKind(c)})
	}
	g.POST("/test-probe/write", probe, h.apiWrite)
	g.GET("/test-probe/admin", probe, h.apiSuperuser)
}
