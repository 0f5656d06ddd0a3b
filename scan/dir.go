package scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Dir scans a local checkout (`kubestats scan DIR`). It walks dir in lexical order through an os.Root,
// so nothing outside dir can be opened whatever the tree holds. `.git` directories are not entered.
// Regular .yaml/.yml files up to Limits.MaxFileBytes are read; manifest-named symlinks (never followed)
// and other non-regular entries, bigger files and unreadable entries are listed in Result.Skipped.
// Paths in the Result are slash-separated and relative to dir.
//
// More than Limits.MaxEntries entries returns a *LimitError; a cancelled ctx returns its error; an
// error reading a file or from Options.Content stops the scan with that error.
func Dir(ctx context.Context, dir string, opts Options) (*Result, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	defer root.Close()

	s := New(opts)
	lim := s.opts.Limits
	fsys := root.FS()
	entries := 0
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			if name == "." {
				return err
			}
			s.Skip(name, "not readable: "+errorText(err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if name == "." {
			return nil
		}
		entries++
		if entries > lim.MaxEntries {
			return &LimitError{Msg: fmt.Sprintf("directory has more than %d entries", lim.MaxEntries)}
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !IsManifest(d.Name()) {
			return nil
		}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			s.Skip(name, "symbolic link (not followed)")
			return nil
		case !t.IsRegular():
			s.Skip(name, "not a regular file ("+fileKind(t)+")")
			return nil
		}
		info, err := d.Info()
		if err != nil {
			s.Skip(name, "not readable: "+errorText(err))
			return nil
		}
		if info.Size() > lim.MaxFileBytes {
			s.Skip(name, tooBigReason(lim.MaxFileBytes))
			return nil
		}
		f, err := fsys.Open(name)
		if err != nil {
			s.Skip(name, "not readable: "+errorText(err))
			return nil
		}
		defer f.Close()
		return s.AddFile(name, f)
	})
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, le
		}
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, fmt.Errorf("scan: %w", err)
		}
		return nil, err
	}
	return s.Result(), nil
}

// errorText is an error without the path fs.PathError repeats.
func errorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// fileKind names a non-regular file type.
func fileKind(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeDevice != 0:
		return "device"
	case t.IsDir():
		return "directory"
	}
	return "special file"
}
