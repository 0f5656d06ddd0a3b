package handlers

import "github.com/labstack/echo/v4"

// Instrument exposes the metrics middleware to BenchmarkInstrument (package handlers_test).
func (h *Handlers) Instrument(next echo.HandlerFunc) echo.HandlerFunc { return h.instrument(next) }
