package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/registry"
)

// remoteImport checks the catalogue file as a local import does, so that
// an invalid one gets the same report, and sends it to the server.
func (a *app) remoteImport(ctx context.Context, estate catalogue.Estate, path,
	commitSHA string) error {
	if _, err := catalogue.LoadFile(path); err != nil {
		var invalid *catalogue.ValidationError
		if errors.As(err, &invalid) {
			return a.reportInvalid(path, invalid)
		}
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read catalogue %s: %w", path, err)
	}

	q := url.Values{}
	if commitSHA != "" {
		q.Set("commit_sha", commitSHA)
	}
	if estate.Name != "" {
		q.Set("estate_name", estate.Name)
	}
	var res catalogue.ImportResult
	err = a.api.do(ctx, request{method: http.MethodPost,
		path: pathEscape("/estates/%s/catalogue-import", estate.Key), query: q, body: data,
		contentType: "application/yaml"}, decodeInto(&res))
	if err != nil {
		return err
	}
	return a.renderImport(res)
}

// syncEstate syncs the estate's repositories through the API or the
// database.
func (a *app) syncEstate(ctx context.Context, key string) (registry.SyncResult, error) {
	var res registry.SyncResult
	if a.remote() {
		err := a.api.sendJSON(ctx, http.MethodPost, pathEscape("/estates/%s/registry-sync", key),
			nil, nil, &res)
		return res, err
	}

	db, err := a.openDB(ctx)
	if err != nil {
		return res, err
	}
	defer db.Close()
	return registry.NewService(db, a.logger).Sync(ctx, key)
}

// remotePageSize is the page size of listings read in pages from the
// API, the largest it allows.
const remotePageSize = 100

// listRepositories lists the registry's repositories through the API or
// the database. A listing without --limit is read in pages.
func (a *app) listRepositories(ctx context.Context, opts registry.ListOptions) ([]registry.Repository, error) {
	if !a.remote() {
		db, err := a.openDB(ctx)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		return registry.NewService(db, a.logger).List(ctx, opts)
	}

	repos := []registry.Repository{}
	offset := opts.Offset
	for {
		size := remotePageSize
		if opts.Limit > 0 {
			size = min(remotePageSize, opts.Limit-len(repos))
		}
		q := url.Values{"limit": {strconv.Itoa(size)}, "offset": {strconv.Itoa(offset)}}
		if opts.EstateKey != "" {
			q.Set("estate_key", opts.EstateKey)
		}
		if opts.Ingestion != nil {
			q.Set("ingestion", onOff(*opts.Ingestion))
		}
		var page struct {
			Repositories []registry.Repository `json:"repositories"`
		}
		if err := a.api.getJSON(ctx, "/repositories", q, &page); err != nil {
			return nil, err
		}

		repos = append(repos, page.Repositories...)
		offset += len(page.Repositories)
		if len(page.Repositories) < size || (opts.Limit > 0 && len(repos) >= opts.Limit) {
			return repos, nil
		}
	}
}

// ingestionResult is the result of 'estate repo set'.
type ingestionResult struct {
	Repository       string `json:"repository" yaml:"repository"`
	IngestionEnabled bool   `json:"ingestion_enabled" yaml:"ingestion_enabled"`
	Changed          bool   `json:"changed" yaml:"changed"`
}

// remoteRepository is the part of the API's repository that the command
// reads.
type remoteRepository struct {
	Owner             string `json:"owner"`
	Name              string `json:"name"`
	IngestionEnabled  bool   `json:"ingestion_enabled"`
	IngestionOverride *bool  `json:"ingestion_override"`
}

// setIngestion enables or disables ingestion of a repository through the
// API or the database.
func (a *app) setIngestion(ctx context.Context, owner, name string, enabled bool) (ingestionResult, error) {
	if a.remote() {
		path := pathEscape("/repositories/%s/%s", owner, name)
		var before, after remoteRepository
		if err := a.api.getJSON(ctx, path, nil, &before); err != nil {
			return ingestionResult{}, err
		}
		err := a.api.sendJSON(ctx, http.MethodPatch, path+"/ingestion", nil,
			map[string]bool{"enabled": enabled}, &after)
		if err != nil {
			return ingestionResult{}, err
		}

		// The registry writes nothing when both columns already hold the
		// choice, and reports that as unchanged.
		unchanged := before.IngestionEnabled == enabled && before.IngestionOverride != nil &&
			*before.IngestionOverride == enabled
		return ingestionResult{Repository: after.Owner + "/" + after.Name,
			IngestionEnabled: after.IngestionEnabled, Changed: !unchanged}, nil
	}

	db, err := a.openDB(ctx)
	if err != nil {
		return ingestionResult{}, err
	}
	defer db.Close()

	service := registry.NewService(db, a.logger)
	changed, err := service.SetIngestion(ctx, owner, name, enabled)
	if err != nil {
		return ingestionResult{}, err
	}
	repo, err := service.Get(ctx, owner, name)
	if err != nil {
		return ingestionResult{}, err
	}
	return ingestionResult{Repository: repo.Slug(), IngestionEnabled: repo.IngestionEnabled,
		Changed: changed}, nil
}
