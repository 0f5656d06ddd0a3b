package handlers

import "github.com/labstack/echo/v4"

// apiAuth authenticates an API request by bearer token or session cookie. (Being built: issue 6.)
func (h *Handlers) apiAuth(next echo.HandlerFunc) echo.HandlerFunc { return next }

// apiRead lets a request read the API: any authenticated user, or anyone on a public site.
func (h *Handlers) apiRead(next echo.HandlerFunc) echo.HandlerFunc { return next }

// apiWrite lets an authenticated user change state: token requests as they are, session requests with CSRF.
func (h *Handlers) apiWrite(next echo.HandlerFunc) echo.HandlerFunc { return next }

// apiSuperuser lets superusers only.
func (h *Handlers) apiSuperuser(next echo.HandlerFunc) echo.HandlerFunc { return next }
