package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/export"
	"github.com/ghillie/ghillie/store"
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

// exportRun writes an export of the subject's window to out. repos lists
// the subject's repositories.
type exportRun func(ctx context.Context, db *store.DB, sub subject, repos []export.Repository,
	start, end time.Time, out io.Writer, format export.Format) error

// newExportCommand returns an export command that checks the flags,
// opens the output and calls run. formats lists the formats it accepts.
func (a *app) newExportCommand(use, short, long string, formats []export.Format,
	run exportRun) *cobra.Command {
	f := &exportFlags{}
	cmd := &cobra.Command{
		Use:   use,
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
			format, err := exportFormat(f.format, formats)
			if err != nil {
				return err
			}
			if err := checkOutputPath(f.outputPath); err != nil {
				return err
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
			repos := []export.Repository{{ID: sub.repository.ID, Slug: sub.repository.Slug()}}
			if sub.isEstate() {
				if repos, err = export.EstateRepositories(ctx, db, sub.estateID); err != nil {
					return err
				}
			}

			return a.writeOutput(f.outputPath, func(out io.Writer) error {
				return run(ctx, db, sub, repos, start, end, out, format)
			})
		},
	}

	f.scope.addRepositoryOrEstate(cmd, "what to export")
	f.window.add(cmd)
	flags := cmd.Flags()
	flags.StringVar(&f.format, "format", string(export.JSON), "output format: "+formatList(formats))
	flags.StringVar(&f.outputPath, "output-path", "-", "file to write, or - for standard output")
	return cmd
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
	cmd := a.newExportCommand("events", "Export the event facts of a window with their lineage",
		"Write each event fact of the window, oldest first within each repository, with\n"+
			"its raw event's id, source system and source event id, its type, repository,\n"+
			"time and payload. In CSV the payload is a column of JSON text.",
		export.Formats,
		func(ctx context.Context, db *store.DB, _ subject, repos []export.Repository,
			start, end time.Time, out io.Writer, format export.Format) error {
			enc, err := export.NewEncoder(out, format, export.Event{})
			if err != nil {
				return err
			}
			for _, repo := range repos {
				err := export.Events(ctx, db, repo, start, end, func(e export.Event) error {
					return enc.Encode(e)
				})
				if err != nil {
					return err
				}
			}
			return enc.Close()
		})
	return cmd
}

func (a *app) exportEvidenceCommand() *cobra.Command {
	cmd := a.newExportCommand("evidence",
		"Export the commits, pull requests, issues and documentation changes of a window",
		"Write one row per evidence item of the window, oldest first within each\n"+
			"repository: its kind, key (sha, number or path), title or message, author and\n"+
			"state (a documentation change's state is its change type), with the newest\n"+
			"event fact of the window that names it and that fact's lineage and payload.",
		export.Formats,
		func(ctx context.Context, db *store.DB, _ subject, repos []export.Repository,
			start, end time.Time, out io.Writer, format export.Format) error {
			enc, err := export.NewEncoder(out, format, evidence.Item{})
			if err != nil {
				return err
			}
			builder := evidence.NewBuilder(db)
			for _, repo := range repos {
				err := builder.Items(ctx, repo.ID, start, end, func(item evidence.Item) error {
					return enc.Encode(item)
				})
				if err != nil {
					return err
				}
			}
			return enc.Close()
		})
	return cmd
}

func (a *app) exportReportsCommand() *cobra.Command {
	var includeCoverage bool
	cmd := a.newExportCommand("reports", "Export the stored reports whose windows overlap a window",
		"Write each stored report whose window overlaps the window: a repository's\n"+
			"reports, or an estate's with those of its projects and repositories. Each row\n"+
			"has the report's id, scope, subject, window, generation time, status, model\n"+
			"and summary; --include-coverage adds the event facts it covered and their raw\n"+
			"events, as JSON arrays in CSV.",
		export.Formats,
		func(ctx context.Context, db *store.DB, sub subject, _ []export.Repository,
			start, end time.Time, out io.Writer, format export.Format) error {
			prototype := export.Report{}
			if includeCoverage {
				prototype.Coverage = &export.Coverage{}
			}
			enc, err := export.NewEncoder(out, format, prototype)
			if err != nil {
				return err
			}
			selected := export.ReportSubject{RepositoryID: sub.repository.ID}
			if sub.isEstate() {
				selected = export.ReportSubject{EstateID: sub.estateID}
			}
			err = export.Reports(ctx, db, selected, start, end, includeCoverage,
				func(r export.Report) error { return enc.Encode(r) })
			if err != nil {
				return err
			}
			return enc.Close()
		})
	cmd.Flags().BoolVar(&includeCoverage, "include-coverage", false,
		"add the event facts each report covered and their raw events")
	return cmd
}

func (a *app) exportBundleCommand() *cobra.Command {
	cmd := a.newExportCommand("bundle", "Export the evidence bundles the status model receives",
		"Write the repository evidence bundle of the window as the status model\n"+
			"receives it: the window's event facts that no report covered yet, as\n"+
			"'ghillie report run' would build them. --scope estate writes one bundle per\n"+
			"repository of the estate, as a JSON array or as JSON Lines.",
		[]export.Format{export.JSON, export.JSONLines},
		func(ctx context.Context, db *store.DB, sub subject, repos []export.Repository,
			start, end time.Time, out io.Writer, format export.Format) error {
			builder := evidence.NewBuilder(db)
			if !sub.isEstate() && format == export.JSON {
				bundle, err := builder.Repository(ctx, sub.repository.ID, start, end)
				if err != nil {
					return err
				}
				data, err := json.Marshal(bundle)
				if err != nil {
					return fmt.Errorf("encode the bundle of %s: %w", sub.repository.Slug(), err)
				}
				_, err = out.Write(append(data, '\n'))
				return err
			}

			enc, err := export.NewEncoder(out, format, nil)
			if err != nil {
				return err
			}
			for _, repo := range repos {
				bundle, err := builder.Repository(ctx, repo.ID, start, end)
				if err != nil {
					return err
				}
				if err := enc.Encode(bundle); err != nil {
					return err
				}
			}
			return enc.Close()
		})
	return cmd
}
