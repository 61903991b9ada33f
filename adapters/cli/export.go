package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/export"
)

func (a *app) exportCommand() *cobra.Command {
	return group("export", "Export the events, evidence, reports or evidence bundles of a window",
		a.exportEventsCommand(), a.exportEvidenceCommand(), a.exportReportsCommand(),
		a.exportBundleCommand())
}

// exportFlags are the flags every export command takes.
type exportFlags struct {
	scope      scopeFlags
	window     windowFlags
	format     string
	outputPath string
}

// newExportCommand returns an export command of the kind that checks the
// flags, opens the output and writes the export from the API or the
// database. setFlags adds the kind's own flags to the request.
func (a *app) newExportCommand(kind export.Kind, short, long string,
	setFlags func(*export.Request)) *cobra.Command {
	f := &exportFlags{}
	cmd := &cobra.Command{
		Use:   string(kind),
		Short: short,
		Long: long + "\n\nThe window is --window-start to --window-end, or the --window-days days\n" +
			"before --as-of or now. The output goes to --output-path, written to a\n" +
			"temporary file and renamed when complete, or to standard output for \"-\".\n" +
			"--format chooses the encoding; the global --output does not apply.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if err := f.scope.checkRepositoryOrEstate(); err != nil {
				return err
			}
			start, end, err := f.window.window(cmd, time.Now())
			if err != nil {
				return err
			}
			format, err := exportFormat(f.format, export.FormatsOf(kind))
			if err != nil {
				return err
			}
			if err := checkOutputPath(f.outputPath); err != nil {
				return err
			}
			req := export.Request{Kind: kind, Start: start, End: end, Format: format}
			if setFlags != nil {
				setFlags(&req)
			}

			if a.remote() {
				return a.writeOutput(f.outputPath, func(out io.Writer) error {
					return a.remoteExport(ctx, f.scope, req, out)
				})
			}
			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			sub, err := a.resolveSubject(ctx, db, f.scope)
			if err != nil {
				return err
			}
			req.Repository = export.Repository{ID: sub.repository.ID, Slug: sub.repository.Slug()}
			req.EstateID = sub.estateID

			return a.writeOutput(f.outputPath, func(out io.Writer) error {
				return export.Write(ctx, db, req, out)
			})
		},
	}

	f.scope.addRepositoryOrEstate(cmd, "what to export")
	f.window.add(cmd)
	flags := cmd.Flags()
	flags.StringVar(&f.format, "format", string(export.JSON), "output format: "+
		formatList(export.FormatsOf(kind)))
	flags.StringVar(&f.outputPath, "output-path", "-", "file to write, or - for standard output")
	return cmd
}

// remoteExport streams the export from the API to out.
func (a *app) remoteExport(ctx context.Context, sf scopeFlags, req export.Request,
	out io.Writer) error {
	q := runQuery(sf.scope, sf.owner, sf.name, sf.estateKey)
	q.Set("window_start", req.Start.Format(time.RFC3339Nano))
	q.Set("window_end", req.End.Format(time.RFC3339Nano))
	q.Set("format", string(req.Format))
	if req.IncludeCoverage {
		q.Set("include_coverage", "true")
	}
	return a.api.do(ctx, request{method: http.MethodPost, path: "/exports/" + string(req.Kind),
		query: q, accept: "*/*"}, func(resp *http.Response) error {
		_, err := io.Copy(out, resp.Body)
		return err
	})
}

func formatList(formats []export.Format) string {
	text := ""
	for i, f := range formats {
		switch {
		case i == 0:
		case i == len(formats)-1:
			text += " or "
		default:
			text += ", "
		}
		text += string(f)
	}
	return text
}

// exportFormat returns the format named text when the command accepts
// it.
func exportFormat(text string, accepted []export.Format) (export.Format, error) {
	for _, f := range accepted {
		if string(f) == text {
			return f, nil
		}
	}
	return "", usageError{fmt.Errorf("invalid --format %q: use %s", text, formatList(accepted))}
}

// checkOutputPath rejects an output path that is a directory, which the
// rename at the end would otherwise fail on after the whole export.
func checkOutputPath(path string) error {
	if path == "-" {
		return nil
	}
	if path == "" {
		return usageError{errors.New("--output-path is empty: give a file, or - for standard output")}
	}
	info, err := os.Stat(path)
	if err == nil && info.IsDir() {
		return usageError{fmt.Errorf("--output-path %s is a directory: give a file path", path)}
	}
	return nil
}

// writeOutput calls write with a buffered writer to path, or to standard
// output for "-". A file is written to a temporary file in the same
// folder and renamed over path only when write succeeds, so readers never
// see a partial export and a failed export leaves path as it was.
func (a *app) writeOutput(path string, write func(io.Writer) error) error {
	if path == "-" {
		w := bufio.NewWriter(a.stdout)
		if err := write(w); err != nil {
			_ = w.Flush()
			return err
		}
		return w.Flush()
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create the export file next to %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()

	w := bufio.NewWriter(tmp)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file readable by its owner only; an export is
	// a regular file that others on the machine may read.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("replace %s with the export: %w", path, err)
	}
	done = true
	return nil
}

func (a *app) exportEventsCommand() *cobra.Command {
	return a.newExportCommand(export.KindEvents, "Export the event facts of a window with their lineage",
		"Write each event fact of the window, oldest first within each repository, with\n"+
			"its raw event's id, source system and source event id, its type, repository,\n"+
			"time and payload. In CSV the payload is a column of JSON text.", nil)
}

func (a *app) exportEvidenceCommand() *cobra.Command {
	return a.newExportCommand(export.KindEvidence,
		"Export the commits, pull requests, issues and documentation changes of a window",
		"Write one row per evidence item of the window, oldest first within each\n"+
			"repository: its kind, key (sha, number or path), title or message, author and\n"+
			"state (a documentation change's state is its change type), with the newest\n"+
			"event fact of the window that names it and that fact's lineage and payload.", nil)
}

func (a *app) exportReportsCommand() *cobra.Command {
	var includeCoverage bool
	cmd := a.newExportCommand(export.KindReports,
		"Export the stored reports whose windows overlap a window",
		"Write each stored report whose window overlaps the window: a repository's\n"+
			"reports, or an estate's with those of its projects and repositories. Each row\n"+
			"has the report's id, scope, subject, window, generation time, status, model\n"+
			"and summary; --include-coverage adds the event facts it covered and their raw\n"+
			"events, as JSON arrays in CSV.",
		func(req *export.Request) { req.IncludeCoverage = includeCoverage })
	cmd.Flags().BoolVar(&includeCoverage, "include-coverage", false,
		"add the event facts each report covered and their raw events")
	return cmd
}

func (a *app) exportBundleCommand() *cobra.Command {
	return a.newExportCommand(export.KindBundle, "Export the evidence bundles the status model receives",
		"Write the repository evidence bundle of the window as the status model\n"+
			"receives it: the window's event facts that no report covered yet, as\n"+
			"'ghillie report run' would build them. --scope estate writes one bundle per\n"+
			"repository of the estate, as a JSON array or as JSON Lines.", nil)
}
