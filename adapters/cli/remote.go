package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Version is the ghillie version sent in the User-Agent of API requests.
var Version = "0.1.0"

// DefaultRequestTimeout bounds each request to the HTTP API when neither
// --request-timeout nor GHILLIE_REQUEST_TIMEOUT_S is set.
const DefaultRequestTimeout = 30 * time.Second

// State is the file that 'ghillie stack up' writes to point the command
// at the API of the stack it started.
type State struct {
	APIBaseURL  string `json:"api_base_url"`
	Source      string `json:"source,omitempty"`
	ClusterName string `json:"cluster_name,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Profile     string `json:"profile,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
}

// maxStateFileSize bounds the state file, which is a few hundred bytes.
const maxStateFileSize = 1 << 20

// ReadState reads a state file. A missing file returns nil and no error,
// since the stack may never have been started. A file that is not a JSON
// object, or lacks api_base_url, is an error naming the path.
func ReadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file %s: %w", path, err)
	}
	if len(data) > maxStateFileSize {
		return nil, fmt.Errorf("state file %s has %d bytes, more than %d: "+
			"delete it and run 'ghillie stack up' again", path, len(data), maxStateFileSize)
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("state file %s is not a JSON object: delete it and run "+
			"'ghillie stack up' again, or pass --api-base-url", path)
	}
	var state State
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, fmt.Errorf("state file %s is invalid (%v): delete it and run "+
			"'ghillie stack up' again, or pass --api-base-url", path, err)
	}
	if strings.TrimSpace(state.APIBaseURL) == "" {
		return nil, fmt.Errorf("state file %s has no api_base_url: delete it and run "+
			"'ghillie stack up' again, or pass --api-base-url", path)
	}
	return &state, nil
}

// statePath returns the path of the state file below the user's
// configuration folder: $XDG_CONFIG_HOME/ghillie/state.json, else
// ~/.config/ghillie/state.json on Unix. It reads the variables through
// a.env, so that tests choose the folder, and falls back to
// os.UserConfigDir on other systems.
func (a *app) statePath() (string, error) {
	dir := ""
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		d, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		dir = d
	default:
		dir = a.env("XDG_CONFIG_HOME")
		if dir == "" || !filepath.IsAbs(dir) {
			home := a.env("HOME")
			if home == "" {
				return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
			}
			dir = filepath.Join(home, ".config")
		}
	}
	return filepath.Join(dir, "ghillie", "state.json"), nil
}

// parseAPIBaseURL checks an API base URL: http or https with a host, and
// no credentials, query or fragment. source names where the URL came
// from, for the error.
func parseAPIBaseURL(raw, source string) (*url.URL, error) {
	fix := "use an absolute http or https URL such as http://127.0.0.1:8080"
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, usageError{fmt.Errorf("invalid API base URL from %s, which is not a URL: %s",
			source, fix)}
	}
	quoted := strconv.Quote(u.Redacted())
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, usageError{fmt.Errorf("invalid API base URL %s from %s: the scheme must "+
			"be http or https; %s", quoted, source, fix)}
	case u.Host == "" || u.Hostname() == "":
		return nil, usageError{fmt.Errorf("invalid API base URL %s from %s: it has no host; %s",
			quoted, source, fix)}
	case u.User != nil:
		return nil, usageError{fmt.Errorf("invalid API base URL %s from %s: it contains "+
			"credentials; pass the token with --auth-token or GHILLIE_AUTH_TOKEN instead",
			quoted, source)}
	case u.RawQuery != "" || u.ForceQuery:
		return nil, usageError{fmt.Errorf("invalid API base URL %s from %s: it has a query; "+
			"remove everything from '?'", quoted, source)}
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, usageError{fmt.Errorf("invalid API base URL %s from %s: it has a fragment; "+
			"remove everything from '#'", quoted, source)}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// parseRequestTimeout reads a request timeout: a Go duration such as 30s,
// or a number of seconds such as 12.5.
func parseRequestTimeout(raw, source string) (time.Duration, error) {
	raw = strings.TrimSpace(raw)
	d, err := time.ParseDuration(raw)
	if err != nil {
		seconds, perr := strconv.ParseFloat(raw, 64)
		if perr != nil {
			return 0, usageError{fmt.Errorf("invalid %s %q: use seconds such as 12.5, "+
				"or a Go duration such as 30s", source, raw)}
		}
		d = time.Duration(seconds * float64(time.Second))
	}
	if d <= 0 || d > 24*time.Hour {
		return 0, usageError{fmt.Errorf("invalid %s %q: use a time above 0 and at most 24h",
			source, raw)}
	}
	return d, nil
}

// commandMode is what a command works on.
type commandMode int

const (
	// modeOffline commands touch neither a database nor the API.
	modeOffline commandMode = iota

	// modeDatabase commands only work on a database.
	modeDatabase

	// modeEither commands call the API in remote mode and open the
	// database in local mode.
	modeEither
)

// annotationMode marks a command's mode; subcommands inherit it from
// the nearest annotated parent.
const annotationMode = "ghillie.mode"

// modeOf returns the mode of cmd from its annotations or its parents'.
func modeOf(cmd *cobra.Command) commandMode {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Annotations[annotationMode] {
		case "database":
			return modeDatabase
		case "either":
			return modeEither
		case "offline":
			return modeOffline
		}
	}
	return modeOffline
}

// setMode annotates cmd with its mode and returns it.
func setMode(cmd *cobra.Command, mode string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationMode] = mode
	return cmd
}

// resolveMode chooses between the API and the database for cmd, in this
// order: --api-base-url, GHILLIE_API_BASE_URL, local mode when
// --database-url or GHILLIE_DATABASE_URL is set, the state file's
// api_base_url, then local mode with the default database.
func (a *app) resolveMode(cmd *cobra.Command, databaseURLSet bool) error {
	flagSet := cmd.Flags().Changed("api-base-url")
	switch modeOf(cmd) {
	case modeDatabase:
		if flagSet {
			return usageError{fmt.Errorf("%s works only on a database and takes no "+
				"--api-base-url: run it where the database is, with --database-url",
				cmd.CommandPath())}
		}
		return nil
	case modeOffline:
		return nil
	}

	raw, source := "", ""
	switch {
	case flagSet:
		raw, source = a.apiBaseURL, "--api-base-url"
	case a.env("GHILLIE_API_BASE_URL") != "":
		raw, source = a.env("GHILLIE_API_BASE_URL"), "GHILLIE_API_BASE_URL"
	case databaseURLSet:
		return nil
	default:
		path, err := a.statePath()
		if err != nil {
			// Without a configuration folder there is no state file.
			a.logger.Debug("cli.state.skipped", "reason", err.Error())
			return nil
		}
		state, err := ReadState(path)
		if err != nil {
			return usageError{err}
		}
		if state == nil {
			return nil
		}
		raw, source = state.APIBaseURL, "api_base_url of state file "+path
	}

	base, err := parseAPIBaseURL(raw, source)
	if err != nil {
		return err
	}
	timeout, err := a.requestTimeout()
	if err != nil {
		return err
	}
	token, _ := a.setting(a.authToken, "--auth-token", "GHILLIE_AUTH_TOKEN", "")
	a.api = newAPIClient(base, source, strings.TrimSpace(token), timeout, a.logger)
	a.logger.Debug("cli.mode.remote", "api_base_url", base.String(), "source", source,
		"request_timeout", timeout.String(), "auth_token_set", token != "")
	return nil
}

// requestTimeout returns the timeout of each API request.
func (a *app) requestTimeout() (time.Duration, error) {
	if a.requestTimeoutText != "" {
		return parseRequestTimeout(a.requestTimeoutText, "--request-timeout")
	}
	if raw := a.env("GHILLIE_REQUEST_TIMEOUT_S"); raw != "" {
		seconds, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return 0, usageError{fmt.Errorf("invalid GHILLIE_REQUEST_TIMEOUT_S %q: use a number "+
				"of seconds such as 12.5", raw)}
		}
		return parseRequestTimeout(strconv.FormatFloat(seconds, 'f', -1, 64),
			"GHILLIE_REQUEST_TIMEOUT_S")
	}
	return DefaultRequestTimeout, nil
}

// remote reports whether the command calls the HTTP API.
func (a *app) remote() bool { return a.api != nil }

// localOnly returns a usage error for a flag that cannot work in remote
// mode, with the reason.
func (a *app) localOnly(cmd *cobra.Command, flag, reason string) error {
	if a.remote() && cmd.Flags().Changed(flag) {
		return usageError{fmt.Errorf("%s --%s does not work against the API at %s: %s",
			cmd.CommandPath(), flag, a.api.base, reason)}
	}
	return nil
}
