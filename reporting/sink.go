package reporting

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Document is a rendered report and where it belongs.
type Document struct {
	// Folder names the report's folder below a sink's base, one segment
	// per element: owner and name for a repository, "projects" and the
	// key for a project, "estates" and the key for an estate.
	Folder []string

	ReportID  string
	WindowEnd time.Time
	Markdown  string

	// Latest reports whether the report is its subject's latest, whose
	// copy latest.md holds.
	Latest bool

	// Rewrite reports a report run again: its dated copy is written only
	// when missing, so a copy once written never changes.
	Rewrite bool
}

// Sink stores rendered reports.
type Sink interface {
	Write(ctx context.Context, doc Document) error
}

// ArchiveName returns the file name of a report's dated copy.
func ArchiveName(windowEnd time.Time, reportID string) string {
	return day(windowEnd) + "-" + reportID + ".md"
}

// FilesystemSink writes each report to a dated copy in {Base}/{folder}
// that is kept, and the subject's latest report also to latest.md there.
// Files are written to a temporary file first and renamed, so a reader
// never sees half a report.
type FilesystemSink struct {
	Base string
}

var segmentPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// checkSegment rejects a folder or file name that could leave the base:
// only letters, digits, dots, hyphens and underscores, and not "." or
// "..".
func checkSegment(kind, s string) error {
	if !segmentPattern.MatchString(s) || s == "." || s == ".." {
		return fmt.Errorf("invalid %s %q for a report path: use letters, digits, '.', '-' and '_'", kind, s)
	}
	return nil
}

// Contains reports whether the folder of doc contains its dated copy and,
// when doc is its subject's latest report, latest.md. A run with nothing
// new to report calls it to write deleted Markdown again.
func (s FilesystemSink) Contains(doc Document) bool {
	if s.Base == "" || len(doc.Folder) == 0 {
		return false
	}
	dir := filepath.Join(append([]string{s.Base}, doc.Folder...)...)
	names := []string{ArchiveName(doc.WindowEnd, doc.ReportID)}
	if doc.Latest {
		names = append(names, "latest.md")
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// Write stores the document.
func (s FilesystemSink) Write(ctx context.Context, doc Document) error {
	if s.Base == "" {
		return fmt.Errorf("filesystem report sink: the base folder is not set")
	}
	if len(doc.Folder) == 0 {
		return fmt.Errorf("report %s: no folder given", doc.ReportID)
	}
	for _, seg := range doc.Folder {
		if err := checkSegment("folder name", seg); err != nil {
			return err
		}
	}
	if err := checkSegment("report id", doc.ReportID); err != nil {
		return err
	}

	dir := filepath.Join(append([]string{s.Base}, doc.Folder...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report folder: %w", err)
	}
	archive := filepath.Join(dir, ArchiveName(doc.WindowEnd, doc.ReportID))
	if _, err := os.Stat(archive); !doc.Rewrite || err != nil {
		if err := writeAtomic(archive, doc.Markdown); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if doc.Latest {
		return writeAtomic(filepath.Join(dir, "latest.md"), doc.Markdown)
	}
	return nil
}

func writeAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*.tmp")
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed

	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
