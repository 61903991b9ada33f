package stack_test

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/stack"
	"github.com/ghillie/ghillie/adapters/stack/stacktest"
)

// TestMain lets the test binary play the tools under their names.
func TestMain(m *testing.M) {
	stacktest.Main()
	os.Exit(m.Run())
}

// sourceDir is the repository root, with the Dockerfile and the chart.
func sourceDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// serve starts a server on a loopback port and returns the port.
func serve(t *testing.T, handler http.HandlerFunc) int {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

func TestParseImage(t *testing.T) {
	tests := []struct {
		image, repository, tag string
	}{
		{"ghillie:local", "ghillie", "local"},
		{"ghillie", "ghillie", "latest"},
		{"registry.local:5000/team/ghillie:v1.2", "registry.local:5000/team/ghillie", "v1.2"},
		{"registry.local:5000/ghillie", "registry.local:5000/ghillie", "latest"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			is := is.New(t)
			repository, tag, err := stack.ParseImage(tt.image)
			is.NoErr(err)
			is.Equal(repository, tt.repository)
			is.Equal(tag, tt.tag)
		})
	}
}

func TestParseImageInvalid(t *testing.T) {
	for _, image := range []string{"", "Ghillie:local", "ghillie@sha256:abc", "ghillie:", "a b", "-x"} {
		t.Run(image, func(t *testing.T) {
			is := is.New(t)
			_, _, err := stack.ParseImage(image)
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), "use NAME:TAG"))
		})
	}
}

func TestConfigValidate(t *testing.T) {
	valid := stack.Config{SourceDir: "/src"}
	tests := []struct {
		name   string
		change func(*stack.Config)
		want   string
	}{
		{"cluster", func(c *stack.Config) { c.ClusterName = strings.Repeat("a", 33) },
			"invalid cluster name"},
		{"namespace", func(c *stack.Config) { c.Namespace = "Ghillie" }, `invalid namespace "Ghillie"`},
		{"profile", func(c *stack.Config) { c.Profile = "worker" }, `invalid profile "worker"`},
		{"port", func(c *stack.Config) { c.IngressPort = 70000 }, "invalid ingress port 70000"},
		{"source", func(c *stack.Config) { c.SourceDir = "" }, "missing source folder"},
		{"timeout", func(c *stack.Config) { c.Timeout = time.Millisecond }, "invalid timeout 1ms"},
		{"github", func(c *stack.Config) { c.Profile = "ingestion-worker" }, "needs GitHub access"},
		{"token", func(c *stack.Config) { c.GitHub.Auth = "token" }, "set GHILLIE_GITHUB_TOKEN"},
		{"app ids", func(c *stack.Config) { c.GitHub = stack.GitHub{Auth: "app", AppID: "x1"} },
			`invalid GitHub App ids "x1"`},
		{"app key", func(c *stack.Config) {
			c.GitHub = stack.GitHub{Auth: "app", AppID: "1", InstallationID: "2"}
		}, "private key is empty"},
		{"auth", func(c *stack.Config) { c.GitHub.Auth = "oauth" }, `invalid GitHub auth "oauth"`},
		{"openai key", func(c *stack.Config) { c.Model.Backend = "openai" }, "set GHILLIE_OPENAI_API_KEY"},
		{"backend", func(c *stack.Config) { c.Model.Backend = "llama" }, `invalid status model backend "llama"`},
	}
	is.New(t).NoErr(valid.Validate()) // the defaults are valid
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			cfg := valid
			tt.change(&cfg)
			err := cfg.Validate()
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want))
		})
	}
}

func TestChartValues(t *testing.T) {
	is := is.New(t)
	temperature, maxTokens := 0.0, 512
	values := stack.ChartValues(stack.Config{
		Profile: "ingestion-worker", Image: "registry.local:5000/ghillie:dev",
		GitHub: stack.GitHub{Auth: "app", AppID: "1", InstallationID: "2"},
		Model: stack.Model{Backend: "openai", Name: "gpt-test", Temperature: &temperature,
			MaxTokens: &maxTokens},
		Secrets: stack.Secrets{GitHubAppPrivateKey: "PEM", OpenAIAPIKey: "sk-key"},
	})

	is.Equal(values["profile"], "ingestion-worker")
	is.Equal(values["image"], map[string]any{"repository": "registry.local:5000/ghillie",
		"tag": "dev", "pullPolicy": "Never"})
	is.Equal(values["github"], map[string]any{"auth": "app", "appID": "1", "installationID": "2"})
	is.Equal(values["statusModel"], map[string]any{"backend": "openai", "openai": map[string]any{
		"model": "gpt-test", "temperature": 0.0, "maxTokens": 512}})
	is.Equal(values["secrets"], map[string]any{"existingSecret": stack.SecretName})
	is.Equal(values["worker"], map[string]any{"inApiOnlyProfile": false})
}

func TestChartValuesBackgroundWorkers(t *testing.T) {
	tests := []struct {
		name   string
		cfg    stack.Config
		worker bool
	}{
		{"default", stack.Config{}, false},
		{"api-only", stack.Config{Profile: "api-only", BackgroundWorkers: true}, true},
		{"reporting-worker", stack.Config{Profile: "reporting-worker", BackgroundWorkers: true},
			true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			values := stack.ChartValues(tt.cfg)
			is.Equal(values["worker"], map[string]any{"inApiOnlyProfile": tt.worker})
		})
	}
}

func TestStatePath(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
		err  string
	}{
		{"xdg", map[string]string{"XDG_CONFIG_HOME": "/cfg", "HOME": "/home/u"},
			"/cfg/ghillie/state.json", ""},
		{"home", map[string]string{"HOME": "/home/u"}, "/home/u/.config/ghillie/state.json", ""},
		{"relative xdg", map[string]string{"XDG_CONFIG_HOME": "cfg"}, "", `invalid XDG_CONFIG_HOME "cfg"`},
		{"neither", nil, "", "neither XDG_CONFIG_HOME nor HOME is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			path, err := stack.StatePath(func(key string) string { return tt.env[key] })
			if tt.err != "" {
				is.True(err != nil)
				is.True(strings.Contains(err.Error(), tt.err))
				return
			}
			is.NoErr(err)
			is.Equal(path, tt.want)
		})
	}
}

func TestSaveStateReplacesFile(t *testing.T) {
	is := is.New(t)
	dir := filepath.Join(t.TempDir(), "ghillie")
	is.NoErr(os.Mkdir(dir, 0o755))
	path := filepath.Join(dir, "state.json")
	is.NoErr(os.WriteFile(path, []byte(`{"api_base_url": "http://127.0.0.1:1"}`), 0o644))
	updated := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	state := stack.State{APIBaseURL: "http://127.0.0.1:49213", Source: stack.StateSource,
		ClusterName: "ghillie-local", Namespace: "ghillie", Profile: "api-only", UpdatedAt: updated}

	is.NoErr(stack.SaveState(path, state))

	loaded, err := stack.LoadState(path)
	is.NoErr(err)
	is.Equal(loaded, state)
	data, err := os.ReadFile(path)
	is.NoErr(err)
	is.True(strings.Contains(string(data), `"updated_at": "2026-03-04T05:06:07Z"`))
	info, err := os.Stat(path)
	is.NoErr(err)
	is.Equal(info.Mode().Perm(), os.FileMode(0o600)) // the old file's 0644 is gone
	dirInfo, err := os.Stat(dir)
	is.NoErr(err)
	is.Equal(dirInfo.Mode().Perm(), os.FileMode(0o700))
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 1) // no temporary file left
}

func TestSaveStateKeepsOldFileOnFailure(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	// A folder in the file's place makes the final rename fail.
	path := filepath.Join(dir, "state.json")
	is.NoErr(os.Mkdir(path, 0o700))
	is.NoErr(os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o600))

	err := stack.SaveState(path, stack.State{APIBaseURL: "http://127.0.0.1:1"})
	is.True(err != nil)
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 1) // the temporary file was removed
}

func TestLoadStateErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name, path, want string
	}{
		{"array", write("array.json", `[1, 2]`), "is not a JSON object"},
		{"no url", write("empty.json", `{"source": "stack_up"}`), "has no api_base_url"},
		{"text", write("text.json", `api_base_url = "x"`), "is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := stack.LoadState(tt.path)
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want))
			is.True(strings.Contains(err.Error(), "delete it and run 'ghillie stack up' again"))
		})
	}

	_, err := stack.LoadState(filepath.Join(dir, "missing.json"))
	is.New(t).True(errors.Is(err, fs.ErrNotExist))
}

// upConfig is a preview on the stand-ins with a port of its own.
func upConfig(t *testing.T, port int) stack.Config {
	t.Helper()
	return stack.Config{SourceDir: sourceDir(t), IngressPort: port, Wait: true}
}

func TestUpWaitsForHealth(t *testing.T) {
	is := is.New(t)
	stacktest.Install(t)
	var requests atomic.Int32
	port := serve(t, func(w http.ResponseWriter, r *http.Request) {
		// The load balancer routes nowhere for the first requests.
		if requests.Add(1) < 3 {
			http.Error(w, "no route", http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	p := &stack.Preview{StatePath: filepath.Join(t.TempDir(), "state.json"),
		HealthTimeout: 10 * time.Second}

	state, err := p.Up(t.Context(), upConfig(t, port))
	is.NoErr(err)
	is.Equal(requests.Load(), int32(3)) // it retried until 200 OK
	is.Equal(state.APIBaseURL, "http://127.0.0.1:"+strconv.Itoa(port))
}

func TestUpHealthTimeout(t *testing.T) {
	is := is.New(t)
	stacktest.Install(t)
	port := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
	})
	statePath := filepath.Join(t.TempDir(), "state.json")
	p := &stack.Preview{StatePath: statePath, HealthTimeout: 1500 * time.Millisecond}

	_, err := p.Up(t.Context(), upConfig(t, port))
	var step *stack.StepError
	is.True(errors.As(err, &step))
	is.Equal(step.Step, "check GET /health")
	is.Equal(step.Output, "503 Service Unavailable database unreachable")
	is.True(strings.Contains(err.Error(), "no 200 OK within 1.5s"))
	_, statErr := os.Stat(statePath)
	is.True(errors.Is(statErr, fs.ErrNotExist)) // no state for a preview that is not healthy
}

func TestUpBackgroundWorkers(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		workers bool
		wait    bool
	}{
		{"api-only", "api-only", false, false},
		{"api-only background", "api-only", true, true},
		{"reporting-worker", "reporting-worker", false, true},
		{"reporting-worker background", "reporting-worker", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			fake := stacktest.Install(t)
			port := serve(t, func(w http.ResponseWriter, r *http.Request) {})
			var progress bytes.Buffer
			p := &stack.Preview{Progress: &progress,
				StatePath: filepath.Join(t.TempDir(), "state.json")}
			cfg := upConfig(t, port)
			cfg.Profile, cfg.BackgroundWorkers = tt.profile, tt.workers

			_, err := p.Up(t.Context(), cfg)
			is.NoErr(err)
			waited := false
			for _, line := range fake.Lines(t) {
				if strings.Contains(line, "rollout status deployment/ghillie-worker ") {
					waited = true
				}
			}
			is.Equal(waited, tt.wait) // the worker's rollout is waited for when it runs
			is.Equal(strings.Contains(progress.String(), "and a worker for queued runs"),
				tt.profile == "api-only" && tt.workers)
		})
	}
}

func TestUpClusterWithoutIngress(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	fake.AddCluster(t, stacktest.Cluster{Name: "ghillie-local", Running: true})
	p := &stack.Preview{StatePath: filepath.Join(t.TempDir(), "state.json")}

	_, err := p.Up(t.Context(), upConfig(t, 0))
	var step *stack.StepError
	is.True(errors.As(err, &step))
	is.True(strings.Contains(err.Error(), "maps no host port to port 80"))
	is.True(!strings.Contains(err.Error(), stacktest.ClusterToken))
	is.Equal(fake.Lines(t), []string{"k3d cluster list -o json"})
}

func TestUpProgress(t *testing.T) {
	is := is.New(t)
	stacktest.Install(t)
	port := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	var progress bytes.Buffer
	p := &stack.Preview{Progress: &progress, StatePath: filepath.Join(t.TempDir(), "state.json")}

	_, err := p.Up(t.Context(), upConfig(t, port))
	is.NoErr(err)
	for _, line := range []string{
		"Creating k3d cluster ghillie-local on 127.0.0.1:" + strconv.Itoa(port) + "...",
		"Installing the CloudNativePG operator...",
		"Building image ghillie:local...",
		"Generated an API token; read it with: " + stack.APITokenCommand("ghillie-local", "ghillie"),
		"Installing the Ghillie chart with profile api-only...",
	} {
		is.True(strings.Contains(progress.String(), line+"\n"))
	}
}

func TestDownWithoutState(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	fake.AddCluster(t, stacktest.Cluster{Name: "ghillie-local", Port: 40123, Running: true})
	p := &stack.Preview{}

	result, err := p.Down(t.Context(), stack.DownConfig{})
	is.NoErr(err)
	is.Equal(result, stack.DownResult{ClusterName: "ghillie-local", ClusterDeleted: true})
	is.Equal(len(fake.Clusters(t)), 0)
}

func TestDownImageFailure(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	fake.AddImage(t, "ghillie:local")
	fake.Fail(t, stacktest.Failure{Call: "docker image rm",
		Output: "Error response from daemon: conflict: image is being used by container 3f2a"})
	p := &stack.Preview{}

	_, err := p.Down(t.Context(), stack.DownConfig{PurgeImages: true})
	var step *stack.StepError
	is.True(errors.As(err, &step))
	is.Equal(step.Step, "remove the image")
	is.True(strings.Contains(step.Output, "image is being used by container"))
}

func TestStatusStoppedCluster(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	fake.AddCluster(t, stacktest.Cluster{Name: "ghillie-local", Port: 40123, Running: false})
	port := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	p := &stack.Preview{}

	report, err := p.Status(t.Context(), stack.StatusConfig{
		APIBaseURL: "http://127.0.0.1:" + strconv.Itoa(port), APIBaseURLSource: "env"})
	is.NoErr(err)
	is.True(report.ClusterExists)
	is.True(!report.ClusterRunning)
	is.Equal(report.IngressPort, 40123)
	is.Equal(len(report.Pods), 0)
	is.True(report.Health.OK())
	is.True(!report.Healthy())                                    // a stopped cluster is not healthy
	is.Equal(fake.Lines(t), []string{"k3d cluster list -o json"}) // no kubectl on a stopped cluster
}

func TestLogsRejectsSince(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)

	err := (&stack.Preview{}).Logs(t.Context(), stack.LogsConfig{Since: "-5m"}, nil, nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), `invalid since "-5m"`))
	is.Equal(len(fake.Calls(t)), 0)
}
