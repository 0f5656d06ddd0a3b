package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
)

// Limits of the query parameters every page and API list shares. They are checked once,
// before any handler runs, so no store query ever sees a text past SQLite's LIKE pattern
// limit (50,000 bytes) or a page whose offset overflows.
const (
	maxQueryValue = 512     // bytes of one parameter value: longer than any name, tag or search
	maxPage       = 100_000 // 5,000,000 rows at 50 a page: more than any list holds
)

// checkQuery refuses a query string that no route can use, with a 400 that says why.
func checkQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		// A short query string cannot hold a long value: skip parsing it.
		if len(c.Request().URL.RawQuery) > maxQueryValue {
			for name, values := range c.QueryParams() {
				for _, v := range values {
					if len(v) > maxQueryValue {
						return &store.ValidationError{Field: name,
							Msg: fmt.Sprintf("The %s parameter is too long: at most %d characters.", name, maxQueryValue)}
					}
				}
			}
		}
		if s := c.QueryParam("page"); s != "" {
			if n, err := strconv.Atoi(s); err != nil || n < 1 || n > maxPage {
				return &store.ValidationError{Field: "page",
					Msg: fmt.Sprintf("The page must be a whole number from 1 to at most %d.", maxPage)}
			}
		}
		return next(c)
	}
}

// queryPage is the page number asked for, 1 when none was; checkQuery has validated it.
func queryPage(c echo.Context) int {
	n, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil {
		return 1
	}
	return n
}

// headKey marks, in the request context, a HEAD request that headAsGet handed on as GET.
type headKey struct{}

// headAsGet answers HEAD wherever GET is routed (Echo routes HEAD only where it is
// registered, and routes on the request it was given, so this wraps the router). The router
// sees a GET; net/http still holds the HEAD it received, so it sends the status and headers,
// Content-Length included, without the body.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r = r.WithContext(context.WithValue(r.Context(), headKey{}, true)) // a copy
			r.Method = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

// requestMethod is the method the client sent, HEAD included, for the request log.
func requestMethod(c echo.Context) string {
	if head, _ := c.Request().Context().Value(headKey{}).(bool); head {
		return http.MethodHead
	}
	return c.Request().Method
}
