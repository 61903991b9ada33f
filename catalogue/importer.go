package catalogue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ghillie/ghillie/store"
)

// Estate names the estate a catalogue is imported into. Catalogue files do
// not name their estate, so the caller does.
type Estate struct {
	// Key identifies the estate: a lowercase slug of at most 63
	// characters, such as "wildside".
	Key string

	// Name is the estate's display name. Empty means the key for a new
	// estate and the stored name for an existing one.
	Name string
}

func (e Estate) validate() error {
	if !keyRegexp.MatchString(e.Key) {
		return fmt.Errorf("invalid estate key %q: use 1 to 63 lowercase letters, digits "+
			"and dashes, starting and ending with a letter or digit", e.Key)
	}
	if e.Name == "" {
		return nil
	}
	if strings.TrimSpace(e.Name) == "" {
		return fmt.Errorf("estate name for %q is blank: give a name, or none to keep the stored one", e.Key)
	}
	if n := utf8.RuneCountInString(e.Name); n > maxNameLength {
		return fmt.Errorf("estate name for %q is %d characters long: the maximum is %d",
			e.Key, n, maxNameLength)
	}
	if i := strings.IndexFunc(e.Name, unicode.IsControl); i >= 0 {
		return fmt.Errorf("estate name %q contains the control character %U: remove it",
			e.Name, []rune(e.Name[i:])[0])
	}
	return nil
}

// Counts tallies the rows of one kind that an import changed.
type Counts struct {
	Created int `json:"created" yaml:"created"`
	Updated int `json:"updated" yaml:"updated"`
	Deleted int `json:"deleted" yaml:"deleted"`
}

// ImportResult describes what an import changed.
type ImportResult struct {
	EstateKey string `json:"estate_key" yaml:"estate_key"`
	CommitSHA string `json:"commit_sha" yaml:"commit_sha"`

	// Skipped reports whether the commit had already been imported into
	// the estate, in which case nothing changed.
	Skipped bool `json:"skipped" yaml:"skipped"`

	Projects     Counts `json:"projects" yaml:"projects"`
	Components   Counts `json:"components" yaml:"components"`
	Repositories Counts `json:"repositories" yaml:"repositories"`
	Edges        Counts `json:"edges" yaml:"edges"`

	// Warnings lists changes that affect other estates: a repository
	// shared with another estate whose branch, spelling or documentation
	// paths this import changed.
	Warnings []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// KindCounts names the kind of row that Counts tallies.
type KindCounts struct {
	Kind string
	Counts
}

// ByKind returns the counts in a fixed order: projects, components,
// repositories, edges.
func (r ImportResult) ByKind() []KindCounts {
	return []KindCounts{
		{"projects", r.Projects},
		{"components", r.Components},
		{"repositories", r.Repositories},
		{"edges", r.Edges},
	}
}

// Importer reconciles catalogues into the catalogue tables: estates,
// projects, components, catalogue_repositories, component_edges and
// catalogue_imports. It is safe for concurrent use; imports run one at a
// time.
type Importer struct {
	db     *store.DB
	logger *slog.Logger
	now    func() time.Time
}

// NewImporter returns an importer writing to the catalogue tables of db,
// which live in db.Catalogue(). A nil logger means silent.
func NewImporter(db *store.DB, logger *slog.Logger) *Importer {
	return &Importer{db: db.Catalogue(), logger: logger, now: time.Now}
}

// ImportFile loads and validates the catalogue at path, then imports it
// (see Import). A catalogue with problems returns a *ValidationError and
// changes nothing.
func (im *Importer) ImportFile(ctx context.Context, estate Estate, path, commitSHA string) (ImportResult, error) {
	if err := estate.validate(); err != nil {
		return ImportResult{EstateKey: estate.Key, CommitSHA: commitSHA}, err
	}

	c, err := LoadFile(path)
	if err != nil {
		return ImportResult{EstateKey: estate.Key, CommitSHA: commitSHA}, err
	}
	return im.Import(ctx, estate, c, commitSHA)
}

// Import makes the estate's stored catalogue match c, in one transaction.
//
// Projects, components and edges of the estate that c no longer lists are
// deleted. Repositories are shared by every estate that catalogues them,
// so a repository is deleted only when this estate linked it before and
// no component of any estate links it now. A component moved to another
// project keeps its id and edges.
//
// When commitSHA is not empty the import is recorded. Importing the
// commit that the estate's latest import recorded is skipped and changes
// nothing; an earlier commit, as after a rollback, is imported again. An
// empty commitSHA always imports and records nothing.
//
// c is validated first: a *ValidationError, like any other error, leaves
// the database as it was.
func (im *Importer) Import(ctx context.Context, estate Estate, c *Catalogue, commitSHA string) (ImportResult, error) {
	result := ImportResult{EstateKey: estate.Key, CommitSHA: commitSHA}

	if err := estate.validate(); err != nil {
		return result, err
	}
	if len(commitSHA) > 64 {
		return result, fmt.Errorf("commit SHA %q is longer than 64 characters", commitSHA)
	}
	if err := Validate(c); err != nil {
		return result, err
	}

	started := im.now()
	err := im.db.InTx(ctx, func(tx *store.Tx) error {
		run := &importRun{
			tx:      tx,
			catalog: c,
			now:     store.NewTime(im.now()),
			result:  &result,
		}
		return run.apply(ctx, estate, commitSHA)
	})
	if err != nil {
		return ImportResult{EstateKey: estate.Key, CommitSHA: commitSHA},
			fmt.Errorf("import catalogue into estate %q: %w", estate.Key, err)
	}

	im.log(ctx, result, im.now().Sub(started))
	return result, nil
}

func (im *Importer) log(ctx context.Context, r ImportResult, elapsed time.Duration) {
	if im.logger == nil {
		return
	}
	if r.Skipped {
		im.logger.InfoContext(ctx, "catalogue.import.skipped",
			slog.String("estate_key", r.EstateKey), slog.String("commit_sha", r.CommitSHA))
		return
	}

	for _, warning := range r.Warnings {
		im.logger.WarnContext(ctx, "catalogue.import.shared_repository_changed",
			slog.String("estate_key", r.EstateKey), slog.String("warning", warning))
	}

	attrs := []slog.Attr{
		slog.String("estate_key", r.EstateKey),
		slog.String("commit_sha", r.CommitSHA),
	}
	for _, kind := range r.ByKind() {
		attrs = append(attrs,
			slog.Int(kind.Kind+"_created", kind.Created),
			slog.Int(kind.Kind+"_updated", kind.Updated),
			slog.Int(kind.Kind+"_deleted", kind.Deleted))
	}
	attrs = append(attrs, slog.Duration("duration", elapsed))

	im.logger.LogAttrs(ctx, slog.LevelInfo, "catalogue.import.completed", attrs...)
}

// importLock serializes imports of every estate. Repositories are shared
// across estates, so two estates importing the same new repository at
// once would otherwise both insert it.
const importLock = "ghillie.catalogue.import"

// errSkipped ends an import whose commit was already imported.
var errSkipped = errors.New("commit already imported")
