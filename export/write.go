package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/store"
)

// Kind is the content of an export.
type Kind string

// The kinds of export.
const (
	// KindEvents writes the event facts of the window with their lineage.
	KindEvents Kind = "events"

	// KindEvidence writes one row per evidence item of the window.
	KindEvidence Kind = "evidence"

	// KindReports writes the stored reports whose windows overlap it.
	KindReports Kind = "reports"

	// KindBundle writes the repository evidence bundles of the window.
	KindBundle Kind = "bundle"
)

// Kinds lists every kind of export.
var Kinds = []Kind{KindEvents, KindEvidence, KindReports, KindBundle}

// FormatsOf returns the formats a kind of export accepts. A bundle is
// nested, so it has no CSV form.
func FormatsOf(kind Kind) []Format {
	if kind == KindBundle {
		return []Format{JSON, JSONLines}
	}
	return Formats
}

// Request selects an export: its kind, a repository or an estate, the
// window [Start, End) and the format.
type Request struct {
	Kind Kind

	// Repository is the subject when EstateID is empty.
	Repository Repository

	// EstateID, when set, makes the estate the subject.
	EstateID string

	Start, End time.Time
	Format     Format

	// IncludeCoverage adds to each report, with KindReports, the event
	// facts it covered and their raw events.
	IncludeCoverage bool
}

// Write writes the export that req selects to out.
func Write(ctx context.Context, db *store.DB, req Request, out io.Writer) error {
	repos := []Repository{req.Repository}
	if req.EstateID != "" {
		var err error
		if repos, err = EstateRepositories(ctx, db, req.EstateID); err != nil {
			return err
		}
	}

	switch req.Kind {
	case KindEvents:
		return writeEvents(ctx, db, repos, req, out)
	case KindEvidence:
		return writeEvidence(ctx, db, repos, req, out)
	case KindReports:
		return writeReports(ctx, db, req, out)
	case KindBundle:
		return writeBundles(ctx, db, repos, req, out)
	}
	return fmt.Errorf("invalid export kind %q: use events, evidence, reports or bundle", req.Kind)
}

func writeEvents(ctx context.Context, db *store.DB, repos []Repository, req Request,
	out io.Writer) error {
	enc, err := NewEncoder(out, req.Format, Event{})
	if err != nil {
		return err
	}
	for _, repo := range repos {
		err := Events(ctx, db, repo, req.Start, req.End, func(e Event) error {
			return enc.Encode(e)
		})
		if err != nil {
			return err
		}
	}
	return enc.Close()
}

func writeEvidence(ctx context.Context, db *store.DB, repos []Repository, req Request,
	out io.Writer) error {
	enc, err := NewEncoder(out, req.Format, evidence.Item{})
	if err != nil {
		return err
	}
	builder := evidence.NewBuilder(db)
	for _, repo := range repos {
		err := builder.Items(ctx, repo.ID, req.Start, req.End, func(item evidence.Item) error {
			return enc.Encode(item)
		})
		if err != nil {
			return err
		}
	}
	return enc.Close()
}

func writeReports(ctx context.Context, db *store.DB, req Request, out io.Writer) error {
	prototype := Report{}
	if req.IncludeCoverage {
		prototype.Coverage = &Coverage{}
	}
	enc, err := NewEncoder(out, req.Format, prototype)
	if err != nil {
		return err
	}
	selected := ReportSubject{RepositoryID: req.Repository.ID}
	if req.EstateID != "" {
		selected = ReportSubject{EstateID: req.EstateID}
	}
	err = Reports(ctx, db, selected, req.Start, req.End, req.IncludeCoverage,
		func(r Report) error { return enc.Encode(r) })
	if err != nil {
		return err
	}
	return enc.Close()
}

// writeBundles writes one repository's bundle as a JSON object, and an
// estate's bundles as a JSON array or JSON Lines.
func writeBundles(ctx context.Context, db *store.DB, repos []Repository, req Request,
	out io.Writer) error {
	builder := evidence.NewBuilder(db)
	if req.EstateID == "" && req.Format == JSON {
		bundle, err := builder.Repository(ctx, req.Repository.ID, req.Start, req.End)
		if err != nil {
			return err
		}
		data, err := json.Marshal(bundle)
		if err != nil {
			return fmt.Errorf("encode the bundle of %s: %w", req.Repository.Slug, err)
		}
		_, err = out.Write(append(data, '\n'))
		return err
	}

	enc, err := NewEncoder(out, req.Format, nil)
	if err != nil {
		return err
	}
	for _, repo := range repos {
		bundle, err := builder.Repository(ctx, repo.ID, req.Start, req.End)
		if err != nil {
			return err
		}
		if err := enc.Encode(bundle); err != nil {
			return err
		}
	}
	return enc.Close()
}
