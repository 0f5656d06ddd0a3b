package handlers

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"
)

// sqliteType is the registered media type of SQLite database files.
const sqliteType = "application/vnd.sqlite3"

// registerExport mounts the dataset download and the superuser backup download.
func (h *Handlers) registerExport(e *echo.Echo) {
	// No gzip or ETag middleware here: both would buffer or re-read a file of hundreds of MB;
	// ServeContent answers Range and If-Modified-Since from the file itself.
	h.apiGroup(e).GET("/export.sqlite", h.downloadExport, h.apiRead)
	e.GET("/backup", h.downloadBackup, h.requireLogin, h.requireSuperuser)
}

// downloadExport serves the latest dataset export as written by the export job. The file's
// modification time is the export's snapshot time (store.Export sets it), so it gives the
// date in the name, Last-Modified and X-Kubestats-Export-Date.
func (h *Handlers) downloadExport(c echo.Context) error {
	noExport := newAPIError(http.StatusNotFound, "no_export",
		"no export has been built yet; the export job writes one daily, and a superuser can run it now on the jobs page")
	if h.cfg.ExportPath == "" {
		return noExport
	}
	f, err := os.Open(h.cfg.ExportPath)
	if errors.Is(err, fs.ErrNotExist) {
		return noExport
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	at := st.ModTime().UTC()
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, sqliteType)
	hd.Set(echo.HeaderContentDisposition, `attachment; filename="kubestats-`+at.Format(time.DateOnly)+`.sqlite"`)
	hd.Set("X-Kubestats-Export-Date", at.Format(time.RFC3339))
	// Revalidate rather than never store: Last-Modified makes a repeated download of an
	// unchanged export a 304.
	hd.Set("Cache-Control", "private, no-cache")
	http.ServeContent(c.Response(), c.Request(), "", at, f)
	return nil
}

// downloadBackup streams a fresh consistent copy of the whole database (users and all: it is
// a backup, not the public dataset). The copy is made next to the database, where there is
// room for one, and removed as soon as it is open: the download reads the unlinked file.
func (h *Handlers) downloadBackup(c echo.Context) error {
	// One at a time: each is a full copy of the database on its disk, and a second click
	// while the first is written would double the room and the work.
	select {
	case h.backups <- struct{}{}:
		defer func() { <-h.backups }()
	default:
		return echo.NewHTTPError(http.StatusConflict, "A backup is being written or downloaded already: try again when it is done.")
	}
	dir, err := os.MkdirTemp(filepath.Dir(h.store.Path()), ".kubestats-backup-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "backup.db")
	if err := h.store.Backup(c.Request().Context(), path); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_ = os.RemoveAll(dir) // the open file stays readable; a crash mid-download leaves nothing behind
	st, err := f.Stat()
	if err != nil {
		return err
	}
	now := h.cfg.Now().UTC()
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, sqliteType)
	hd.Set(echo.HeaderContentDisposition, `attachment; filename="kubestats-backup-`+now.Format("20060102-150405")+`.db"`)
	http.ServeContent(c.Response(), c.Request(), "", st.ModTime(), f)
	return nil
}
