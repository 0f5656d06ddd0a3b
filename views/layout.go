// Package views renders Kubestats' HTML with templ: full pages, htmx partials and components.
package views

import (
	"fmt"

	"github.com/kubestats/kubestats/store"
)

// Layout is what every full page needs; handlers build it in one place.
type Layout struct {
	Title        string
	Active       string      // nav entry to highlight
	User         *store.User // nil when anonymous
	CSRF         string      // token for forms and htmx requests
	Flashes      []Flash
	Version      string
	AssetVersion string // cache-busting suffix for unversioned static files
	Charts       bool   // the page draws uPlot charts
	Public       bool   // anonymous visitors may read the read-only views
}

// Flash is a one-time message shown on the next page.
type Flash struct {
	Kind string // success, error, info
	Msg  string
}

// FormErrors holds a message per field name; "" is the form-wide message.
type FormErrors map[string]string

func (l Layout) csrfHeaders() string {
	return fmt.Sprintf(`{"X-CSRF-Token":%q}`, l.CSRF)
}

func (l Layout) isSuperuser() bool { return l.User != nil && l.User.IsSuperuser }

func asset(l Layout, path string) string { return path + "?v=" + l.AssetVersion }

// HumanBytes formats a byte count with binary units.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
