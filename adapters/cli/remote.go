package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/adapters/stack"
)

// Version is the ghillie version sent in the User-Agent of API requests.
var Version = "0.1.0"

// DefaultRequestTimeout bounds each request to the HTTP API when neither
// --request-timeout nor GHILLIE_REQUEST_TIMEOUT_S is set.
const DefaultRequestTimeout = 30 * time.Second

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
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, usageError{fmt.Errorf("invalid API base URL %s from %s: the port must be "+
				"a number from 1 to 65535", quoted, source)}
		}
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

// commandMode is the target a command works on: nothing, a database, or
// either a database or the API.
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
		path, err := stack.StatePath(a.env)
		if err != nil {
			// Without a configuration folder there is no state file.
			a.logger.Debug("cli.state.skipped", "reason", err.Error())
			return nil
		}
		state, err := stack.LoadState(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return usageError{err}
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
