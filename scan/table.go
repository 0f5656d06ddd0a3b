package scan

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable writes a summary for people (`kubestats scan DIR`): the counts, then objects by kind,
// charts, images, deprecations, errors and skipped entries. Empty sections are left out.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("%d files (%s), %d documents, %d objects, %d charts, %d images, %d deprecated APIs, %d errors, %d skipped\n",
		r.Files, formatSize(r.Bytes), r.Documents, len(r.Objects), len(r.Charts), len(r.Images),
		len(r.Deprecations), len(r.Errors), len(r.Skipped))

	if len(r.Objects) > 0 {
		type kindCount struct {
			group, kind string
			n           int
		}
		counts := map[[2]string]int{}
		for _, o := range r.Objects {
			counts[[2]string{o.Group, o.Kind}]++
		}
		var kinds []kindCount
		for k, n := range counts {
			kinds = append(kinds, kindCount{k[0], k[1], n})
		}
		slices.SortFunc(kinds, func(a, b kindCount) int {
			return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.kind, b.kind), cmp.Compare(a.group, b.group))
		})
		p("\nOBJECTS BY KIND\nKIND\tGROUP\tCOUNT\n")
		for _, k := range kinds {
			p("%s\t%s\t%d\n", tableCell(k.kind), tableCell(tableDash(k.group)), k.n)
		}
	}

	if len(r.Charts) > 0 {
		p("\nCHARTS\nNAMESPACE\tNAME\tTOOL\tCHART\tVERSION\tSOURCE\tFILE\n")
		for _, c := range r.Charts {
			src := c.ChartURL
			if src == "" {
				src = c.SourceURL
			}
			if src == "" && c.SourceName != "" {
				src = c.SourceKind + "/" + c.SourceName
			}
			if c.Ambiguous {
				src += " (ambiguous)"
			}
			p("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tableCell(tableDash(c.Namespace)), tableCell(c.Name), tableCell(c.Tool),
				tableCell(tableDash(c.Chart)), tableCell(tableDash(c.Version)), tableCell(tableDash(src)), tableCell(c.File))
		}
	}

	if len(r.Images) > 0 {
		counts := map[string]int{}
		for _, im := range r.Images {
			counts[im.Image]++
		}
		images := make([]string, 0, len(counts))
		for im := range counts {
			images = append(images, im)
		}
		slices.Sort(images)
		p("\nIMAGES\nIMAGE\tUSES\n")
		for _, im := range images {
			p("%s\t%d\n", tableCell(im), counts[im])
		}
	}

	if len(r.Deprecations) > 0 {
		p("\nDEPRECATED APIS\nKIND\tNAME\tAPIVERSION\tDEPRECATED\tREMOVED\tUSE\tFILE\n")
		for _, d := range r.Deprecations {
			p("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tableCell(d.Kind), tableCell(tableQualified(d.Namespace, d.Name)), tableCell(d.APIVersion),
				tableCell(d.Project+" "+d.DeprecatedIn), tableCell(tableDash(tableRelease(d.Project, d.RemovedIn))),
				tableCell(tableDash(d.Replacement)), tableCell(d.File))
		}
	}

	if len(r.Errors) > 0 {
		p("\nERRORS\nFILE\tMESSAGE\n")
		for _, e := range r.Errors {
			where := e.File
			if e.Line > 0 {
				where += ":" + strconv.Itoa(e.Line)
			}
			p("%s\t%s\n", tableCell(where), tableCell(e.Message))
		}
	}

	if len(r.Skipped) > 0 {
		p("\nSKIPPED\nFILE\tREASON\n")
		for _, e := range r.Skipped {
			p("%s\t%s\n", tableCell(e.File), tableCell(e.Message))
		}
	}
	return tw.Flush()
}

// cell keeps a value on one table cell: tabs and line breaks would break the columns.
func tableCell(s string) string {
	if !strings.ContainsAny(s, "\t\n\r") {
		return s
	}
	return strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func tableDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tableQualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func tableRelease(project, v string) string {
	if v == "" {
		return ""
	}
	return project + " " + v
}
