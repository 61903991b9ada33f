package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/store"
)

func (a *app) eventsCommand() *cobra.Command {
	return group("events", "Load raw events into Bronze", a.eventsImportCommand())
}

// maxEnvelopeLine bounds one line of an events file; GitHub payloads are
// far smaller. A longer line is rejected, and the import goes on.
var maxEnvelopeLine = 64 << 20

// eventsBatchSize is how many envelopes one transaction writes.
const eventsBatchSize = 1000

// rejectedLine is an input line that was not stored, and why.
type rejectedLine struct {
	Line   int    `json:"line" yaml:"line"`
	Reason string `json:"reason" yaml:"reason"`
}

// eventsReport is the result of an events import.
type eventsReport struct {
	New       int            `json:"new" yaml:"new"`
	Duplicate int            `json:"duplicate" yaml:"duplicate"`
	Rejected  int            `json:"rejected" yaml:"rejected"`
	Rejects   []rejectedLine `json:"rejected_lines" yaml:"rejected_lines"`
}

func (a *app) eventsImportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE|-",
		Short: "Append raw events from a JSON Lines file, for replays and backfills",
		Long: "Read one event envelope per line, as JSON with source_system, event_type,\n" +
			"occurred_at (RFC 3339 with an offset), payload, and optionally source_event_id\n" +
			"and repo_external_id, and append them to Bronze. \"-\" reads standard input.\n" +
			"Events already stored are counted as duplicates and left untouched. Lines that\n" +
			"are not valid envelopes are rejected with their line number and reason while\n" +
			"the others are stored; any rejected line makes the exit status 1.",
		Args: exactArgs("FILE|-"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()

			input, closeInput, err := a.openInput(args[0])
			if err != nil {
				return err
			}
			defer closeInput()

			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()

			report, err := importEvents(ctx, db, input)
			for _, r := range report.Rejects {
				fmt.Fprintf(a.stderr, "%s: line %d: %s\n", args[0], r.Line, r.Reason)
			}
			if err != nil {
				// Batches written before the failure stay stored.
				if stored := report.New + report.Duplicate; stored > 0 {
					fmt.Fprintf(a.stderr, "%s: %d events were stored before the failure (%d new, "+
						"%d duplicate); importing the file again counts them as duplicates\n",
						args[0], stored, report.New, report.Duplicate)
				}
				return err
			}

			renderErr := a.render(report, table{
				header: []string{"NEW", "DUPLICATE", "REJECTED"},
				rows: [][]string{{strconv.Itoa(report.New), strconv.Itoa(report.Duplicate),
					strconv.Itoa(report.Rejected)}},
			})
			if renderErr != nil {
				return renderErr
			}
			if report.Rejected > 0 {
				return &exitError{code: ExitFailure}
			}
			return nil
		},
	}
}

// readLine returns the next line without its end, or, for a line longer
// than maxEnvelopeLine, nil and tooLong after skipping the rest of it. It
// returns io.EOF with a nil line at the end of the input.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxEnvelopeLine {
			tooLong = true
			buf = nil
		} else if !tooLong {
			buf = append(buf, chunk...)
		}

		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) == 0 && !tooLong:
			return nil, false, io.EOF
		case err != nil && !errors.Is(err, io.EOF):
			return nil, false, err
		}
		if tooLong {
			return nil, true, nil
		}
		return bytes.TrimRight(buf, "\r\n"), false, nil
	}
}

func (a *app) openInput(path string) (io.Reader, func(), error) {
	if path == "-" {
		return a.stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open events file: %w", err)
	}
	if info, err := f.Stat(); err == nil && info.IsDir() {
		_ = f.Close()
		return nil, nil, usageError{fmt.Errorf("%q is a folder: give a JSON Lines file of "+
			"envelopes, or - for standard input", path)}
	}
	return f, func() { _ = f.Close() }, nil
}

// importEvents reads envelopes line by line and writes the valid ones in
// batches, so memory stays bounded whatever the size of the input.
func importEvents(ctx context.Context, db *store.DB, input io.Reader) (eventsReport, error) {
	report := eventsReport{Rejects: []rejectedLine{}}
	reject := func(line int, reason string) {
		report.Rejected++
		report.Rejects = append(report.Rejects, rejectedLine{Line: line, Reason: reason})
	}
	writer := bronze.NewWriter(db)
	batch := make([]bronze.Envelope, 0, eventsBatchSize)
	batchLines := make([]int, 0, eventsBatchSize)

	// flush writes the batch. The writer validates each payload while it
	// writes, so a payload it rejects is reported by its line and the
	// rest of the batch is written again without it.
	flush := func() error {
		for len(batch) > 0 {
			results, err := writer.WriteBatch(ctx, batch)
			var invalid *bronze.BatchError
			if errors.As(err, &invalid) {
				reject(batchLines[invalid.Index], invalid.Err.Error())
				batch = slices.Delete(batch, invalid.Index, invalid.Index+1)
				batchLines = slices.Delete(batchLines, invalid.Index, invalid.Index+1)
				continue
			}
			if err != nil {
				return err
			}

			for _, r := range results {
				if r.Duplicate {
					report.Duplicate++
				} else {
					report.New++
				}
			}
			batch, batchLines = batch[:0], batchLines[:0]
		}
		return nil
	}

	reader := bufio.NewReaderSize(input, 64<<10)
	line := 0
	for {
		text, tooLong, err := readLine(reader)
		if errors.Is(err, io.EOF) && text == nil {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return report, fmt.Errorf("read events after line %d: %w", line, err)
		}
		line++
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\uFEFF"))
		}

		switch {
		case tooLong:
			reject(line, fmt.Sprintf("line is longer than the maximum of %d bytes", maxEnvelopeLine))
			continue
		case len(bytes.TrimSpace(text)) == 0:
			continue
		}

		envelope, parseErr := bronze.ParseEnvelope(text)
		if parseErr != nil {
			reject(line, parseErr.Error())
			continue
		}

		batch = append(batch, envelope)
		batchLines = append(batchLines, line)
		if len(batch) == eventsBatchSize {
			if err := flush(); err != nil {
				return report, fmt.Errorf("write events before line %d: %w", line+1, err)
			}
		}
	}
	if err := flush(); err != nil {
		return report, fmt.Errorf("write events: %w", err)
	}
	// Payloads rejected while writing are found after later lines.
	slices.SortFunc(report.Rejects, func(a, b rejectedLine) int { return cmp.Compare(a.Line, b.Line) })
	return report, nil
}
