package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/ghillie/ghillie/store"
)

// DefaultWatchInterval is how often a watcher looks at its branch.
const DefaultWatchInterval = time.Minute

// Watch names a catalogue file in a git checkout whose branch a process
// outside Ghillie keeps up to date, such as a git-sync sidecar or a cron
// job running git fetch. Each new commit of the branch is imported into
// the estate and its repositories synced into the registry.
type Watch struct {
	EstateKey string

	// Checkout is the folder of the git checkout.
	Checkout string

	// File is the catalogue's path in the repository, such as
	// "estate/catalogue.yaml".
	File string

	// Branch is the revision to follow, such as "main" or "origin/main".
	Branch string

	// Interval is how often the branch is read, DefaultWatchInterval when
	// zero.
	Interval time.Duration
}

// watcher queues an import job whenever its branch names a commit that
// the estate has not imported.
type watcher struct {
	q     *Queue
	watch Watch

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newWatcher(q *Queue, w Watch) (*watcher, error) {
	w, err := CheckWatch(w)
	if err != nil {
		return nil, err
	}
	return &watcher{q: q, watch: w}, nil
}

// CheckWatch checks a Watch before a queue starts with it: the estate key
// is set, the file is a path inside the checkout, the checkout is a git
// checkout and the branch names a commit. It returns the Watch with its
// defaults filled in.
func CheckWatch(w Watch) (Watch, error) {
	if w.EstateKey == "" {
		return w, errors.New("catalogue watch: set the estate key the catalogue is imported into")
	}
	if w.Branch == "" {
		w.Branch = "main"
	}
	if w.Interval <= 0 {
		w.Interval = DefaultWatchInterval
	}
	clean := path.Clean(w.File)
	if w.File == "" || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return w, fmt.Errorf("catalogue watch: file %q must be a path inside the checkout, "+
			"such as catalogue.yaml", w.File)
	}
	w.File = clean

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := git(ctx, w.Checkout, "rev-parse", "--git-dir"); err != nil {
		return w, fmt.Errorf("catalogue watch: %s is not a git checkout: %w", w.Checkout, err)
	}
	if _, err := headOf(ctx, w.Checkout, w.Branch); err != nil {
		return w, fmt.Errorf("catalogue watch: %w", err)
	}
	return w, nil
}

func (w *watcher) start() {
	w.mu.Lock()
	defer w.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go w.loop(ctx)
}

func (w *watcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()

	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel = nil
	}
}

func (w *watcher) loop(ctx context.Context) {
	defer close(w.done)

	var queued string
	for {
		head, err := w.check(ctx, queued)
		switch {
		case err != nil && ctx.Err() == nil:
			w.q.log.WarnContext(ctx, "worker.catalogue.watch_failed", "estate_key", w.watch.EstateKey,
				"checkout", w.watch.Checkout, "branch", w.watch.Branch, "err", err)
		case err == nil:
			queued = head
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(w.watch.Interval):
		}
	}
}

// check queues an import of the branch's commit unless it was queued
// before or is the estate's latest import, and returns the commit.
func (w *watcher) check(ctx context.Context, queued string) (string, error) {
	head, err := headOf(ctx, w.watch.Checkout, w.watch.Branch)
	if err != nil || head == queued {
		return head, err
	}

	latest, err := w.latestImport(ctx)
	if err != nil {
		return "", err
	}
	if latest == head {
		return head, nil
	}

	args := ImportCatalogueArgs{EstateKey: w.watch.EstateKey, Checkout: w.watch.Checkout,
		File: w.watch.File, Branch: w.watch.Branch, CommitSHA: head, Sync: true}
	id, err := w.q.ImportCatalogue(ctx, args)
	if err != nil {
		return "", err
	}
	w.q.log.InfoContext(ctx, "worker.catalogue.changed", "estate_key", w.watch.EstateKey,
		"branch", w.watch.Branch, "commit_sha", head, "previous_sha", latest, "job_id", id)
	return head, nil
}

// latestImport returns the commit of the estate's latest recorded import,
// or "" when there is none.
func (w *watcher) latestImport(ctx context.Context) (string, error) {
	var sha sql.NullString
	cat := w.q.db.Catalogue()
	err := cat.GetContext(ctx, &sha, cat.Rebind(`SELECT i.commit_sha FROM catalogue_imports i
		JOIN estates e ON e.id = i.estate_id
		WHERE e.key = ? AND i.commit_sha IS NOT NULL
		ORDER BY i.imported_at DESC, i.id DESC LIMIT 1`), w.watch.EstateKey)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the latest import of estate %s: %w", w.watch.EstateKey,
			store.Classify(err))
	}
	return sha.String, nil
}
