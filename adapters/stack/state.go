package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// StateSource is the source of a State that Up writes.
const StateSource = "stack_up"

// State is the content of state.json: where the API of the last preview
// that Up created listens, for commands that call the API.
type State struct {
	// APIBaseURL is the API's root, without a trailing slash, such as
	// http://127.0.0.1:49213. Required.
	APIBaseURL string `json:"api_base_url"`

	// Source names the writer of the state: StateSource.
	Source string `json:"source"`

	ClusterName string `json:"cluster_name,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Profile     string `json:"profile,omitempty"`

	// UpdatedAt is the time of the write, in UTC to the second.
	UpdatedAt time.Time `json:"updated_at"`
}

// StatePath returns the path of state.json in the user's configuration
// folder, reading the environment through getenv (os.Getenv in the
// command): $XDG_CONFIG_HOME/ghillie/state.json, else
// $HOME/.config/ghillie/state.json, as os.UserConfigDir finds the
// folder on Linux and the other Unix systems. On macOS, Windows and
// Plan 9 it returns the folder of os.UserConfigDir.
func StatePath(getenv func(string) string) (string, error) {
	var dir string
	switch runtime.GOOS {
	case "darwin", "ios", "windows", "plan9":
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the configuration folder: %w", err)
		}
		dir = d
	default:
		dir = getenv("XDG_CONFIG_HOME")
		switch {
		case dir != "" && !filepath.IsAbs(dir):
			return "", fmt.Errorf("invalid XDG_CONFIG_HOME %q: use an absolute path", dir)
		case dir == "":
			home := getenv("HOME")
			if home == "" {
				return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set: set one of " +
					"them to find the configuration folder")
			}
			dir = filepath.Join(home, ".config")
		}
	}
	return filepath.Join(dir, "ghillie", "state.json"), nil
}

// maxStateFileSize bounds the state file, which is a few hundred bytes.
const maxStateFileSize = 1 << 20

// LoadState reads the state file at path. A missing file is an error
// that wraps fs.ErrNotExist. A file that is not a JSON object, has
// fields of the wrong type or has no api_base_url is an error that names
// the path and the fix.
func LoadState(path string) (State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return State{}, fmt.Errorf("read state file: %w", err)
	}
	if len(data) > maxStateFileSize {
		return State{}, fmt.Errorf("state file %s has %d bytes, more than %d: "+
			"delete it and run 'ghillie stack up' again", path, len(data), maxStateFileSize)
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return State{}, fmt.Errorf("state file %s is not a JSON object: delete it and run "+
			"'ghillie stack up' again, or pass --api-base-url", path)
	}
	var state State
	if err := json.Unmarshal(data, &state); err != nil {
		return State{}, fmt.Errorf("state file %s is invalid (%v): delete it and run "+
			"'ghillie stack up' again, or pass --api-base-url", path, err)
	}
	if strings.TrimSpace(state.APIBaseURL) == "" {
		return State{}, fmt.Errorf("state file %s has no api_base_url: delete it and run "+
			"'ghillie stack up' again, or pass --api-base-url", path)
	}
	return state, nil
}

// SaveState writes state to path through a temporary file in the same
// folder, renamed over path once complete, so that a reader never sees
// half a file. The file has mode 0600 and its folder 0700.
func SaveState(path string, state State) (err error) {
	data, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	data = append(data, '\n')

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	// MkdirAll leaves an existing folder's mode as it was.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict state folder: %w", err)
	}

	tmp, err := os.CreateTemp(dir, ".state-*.json")
	if err != nil {
		return fmt.Errorf("create state file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()

	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("restrict state file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace state file %s: %w", path, err)
	}
	return nil
}

// removeState deletes the state file at path when it names cluster, and
// reports whether it did. A missing or unreadable file is left alone.
func removeState(path, cluster string) (bool, error) {
	state, err := LoadState(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil || state.ClusterName != cluster {
		return false, nil
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("remove state file: %w", err)
	}
	return true, nil
}
