package handlers

import (
	"net/http"
	"strings"
)

// apiV1 is the prefix of the versioned JSON API.
const apiV1 = "/api/v1"

// APIError is an error answer of the JSON API, sent as {"error": {"code": ..., "message": ...}}.
// Codes are stable, snake_case and documented in the OpenAPI document; messages are for people.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// newAPIError builds an API error; handlers return it and handleError writes it.
func newAPIError(status int, code, msg string) *APIError {
	return &APIError{Status: status, Code: code, Message: msg}
}

// apiErrorCodes names the codes of errors that were not built as APIError.
var apiErrorCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusServiceUnavailable:    "unavailable",
}

func apiErrorCode(status int) string {
	if c, ok := apiErrorCodes[status]; ok {
		return c
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

func isAPIv1(path string) bool { return path == apiV1 || strings.HasPrefix(path, apiV1+"/") }
