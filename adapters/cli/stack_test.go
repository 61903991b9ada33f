package cli_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/adapters/stack/stacktest"
)

// TestMain lets the test binary play docker, k3d, kubectl and helm when
// a stack test runs it under their names.
func TestMain(m *testing.M) {
	stacktest.Main()
	os.Exit(m.Run())
}

// Fake credentials, which must appear nowhere but in the Secret
// manifest on kubectl's standard input.
const (
	fakeGitHubToken = "ghp_standinGitHubToken0123456789abcdef"
	fakeOpenAIKey   = "sk-standin-openai-key-4f1d2c"
	fakeAPIToken    = "standin-api-token-93b1e0a7"
)

// call is an expected run of a tool: its step, as errors name it, and
// its command line with {port} and {root} to fill in.
type call struct {
	step string
	line string
}

const (
	kube  = "kubectl --context k3d-ghillie-local "
	apply = kube + "apply --server-side --force-conflicts --field-manager ghillie-stack -f -"
)

// upCalls returns the runs of a first 'stack up' with the default names:
// the worker's rollout only in the worker profiles, and the read of an
// existing API token only without GHILLIE_API_TOKEN.
func upCalls(worker, readToken bool) []call {
	calls := []call{
		{"list k3d clusters", "k3d cluster list -o json"},
		{"create the k3d cluster", "k3d cluster create ghillie-local --port " +
			"127.0.0.1:{port}:80@loadbalancer --k3s-arg=--disable=traefik@server:*"},
		{"add the CloudNativePG chart repository",
			"helm repo add cnpg https://cloudnative-pg.github.io/charts --force-update"},
		{"install the CloudNativePG operator", "helm upgrade --install cnpg cnpg/cloudnative-pg " +
			"--namespace cnpg-system --create-namespace --kube-context k3d-ghillie-local " +
			"--wait --timeout 10m0s"},
		{"apply the namespace and the PostgreSQL cluster", apply},
		{"wait for PostgreSQL", kube + "wait --for=condition=Ready " +
			"cluster.postgresql.cnpg.io/pg-ghillie --namespace ghillie --timeout=10m0s"},
		{"read the database URL", kube + "get secret pg-ghillie-app --namespace ghillie " +
			"-o jsonpath={.data.uri}"},
		{"build the image", "docker build -t ghillie:local ."},
		{"import the image", "k3d image import ghillie:local -c ghillie-local"},
	}
	if readToken {
		calls = append(calls, call{"read the existing API token", kube + "get secret ghillie " +
			"--namespace ghillie -o jsonpath={.data.GHILLIE_API_TOKEN} --ignore-not-found"})
	}
	calls = append(calls,
		call{"apply the application Secret", apply},
		call{"install the Ghillie chart", "helm upgrade --install ghillie {root}/deploy/helm/ghillie " +
			"--namespace ghillie --kube-context k3d-ghillie-local --values - --wait --timeout 10m0s"},
		call{"wait for deployment ghillie-server", kube + "rollout status deployment/ghillie-server " +
			"--namespace ghillie --timeout=10m0s"},
	)
	if worker {
		calls = append(calls, call{"wait for deployment ghillie-worker", kube +
			"rollout status deployment/ghillie-worker --namespace ghillie --timeout=10m0s"})
	}
	return calls
}

// lines fills in the command lines of calls.
func lines(t *testing.T, calls []call, port int) []string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = strings.NewReplacer("{port}", strconv.Itoa(port), "{root}", root).Replace(c.line)
	}
	return out
}

// apiServer serves GET /health and /ready on a loopback port, where the
// stand-in cluster's load balancer would listen, and returns the port.
func apiServer(t *testing.T) int {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			fmt.Fprint(w, `{"status": "ok"}`)
		case "/ready":
			fmt.Fprint(w, `{"status": "ready"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

// stackEnv returns an environment with its own configuration folder.
func stackEnv(t *testing.T, extra map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{"XDG_CONFIG_HOME": t.TempDir()}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func statePath(env map[string]string) string {
	return filepath.Join(env["XDG_CONFIG_HOME"], "ghillie", "state.json")
}

// stdinOf returns the standard input of the calls to tool whose first
// arguments are args.
func stdinOf(calls []stacktest.Call, line string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c.Line(), line) {
			out = append(out, c.Stdin)
		}
	}
	return out
}

// secretData decodes the data of the Secret manifest given to kubectl.
func secretData(t *testing.T, manifest string) map[string]string {
	t.Helper()
	var secret struct {
		Kind string            `json:"kind"`
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal([]byte(manifest), &secret); err != nil || secret.Kind != "Secret" {
		t.Fatalf("not a Secret manifest (%v): %s", err, manifest)
	}
	data := map[string]string{}
	for k, v := range secret.Data {
		decoded, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("Secret key %s is not base64: %v", k, err)
		}
		data[k] = string(decoded)
	}
	return data
}

// assertNoSecrets fails when a secret appears in an argument of a tool,
// in the command's output or in the state file.
func assertNoSecrets(t *testing.T, fake *stacktest.Fake, r result, env map[string]string,
	secrets ...string) {
	t.Helper()
	state, _ := os.ReadFile(statePath(env))
	secrets = append(secrets, stacktest.DatabasePassword, stacktest.ClusterToken,
		stacktest.DatabaseURL("ghillie"))
	// The Secret manifest holds the values in base64, which must not
	// leak either.
	for _, secret := range secrets {
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(secret)))
	}
	for _, secret := range secrets {
		for _, c := range fake.Calls(t) {
			if strings.Contains(strings.Join(c.Args, " "), secret) {
				t.Errorf("secret %.6s... in the arguments of %s", secret, c.Tool)
			}
		}
		if strings.Contains(r.stdout, secret) {
			t.Errorf("secret %.6s... in stdout:\n%s", secret, r.stdout)
		}
		if strings.Contains(r.stderr, secret) {
			t.Errorf("secret %.6s... in stderr:\n%s", secret, r.stderr)
		}
		if strings.Contains(string(state), secret) {
			t.Errorf("secret %.6s... in state.json", secret)
		}
	}
}

// upPreview runs a successful 'stack up' on stand-ins and returns them,
// the environment and the port of the API.
func upPreview(t *testing.T) (*stacktest.Fake, map[string]string, int) {
	t.Helper()
	fake := stacktest.Install(t)
	port := apiServer(t)
	env := stackEnv(t, nil)
	if r := run(t, env, "stack", "up", "--ingress-port", strconv.Itoa(port)); r.code != cli.ExitOK {
		t.Fatalf("stack up exited with %d:\n%s", r.code, r.stderr)
	}
	return fake, env, port
}

func TestStackUpProfiles(t *testing.T) {
	tests := []struct {
		profile string
		env     map[string]string
		worker  bool
		github  string
	}{
		{"api-only", nil, false, "none"},
		{"ingestion-worker", map[string]string{"GHILLIE_GITHUB_TOKEN": fakeGitHubToken}, true, "token"},
		{"reporting-worker", map[string]string{
			"GHILLIE_STATUS_MODEL_BACKEND": "openai", "GHILLIE_OPENAI_API_KEY": fakeOpenAIKey,
			"GHILLIE_OPENAI_MODEL": "gpt-test", "GHILLIE_API_TOKEN": fakeAPIToken,
		}, true, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			is := is.New(t)
			fake := stacktest.Install(t)
			port := apiServer(t)
			env := stackEnv(t, tt.env)

			r := run(t, env, "--log-level", "debug", "stack", "up", "--profile", tt.profile,
				"--ingress-port", strconv.Itoa(port))
			is.Equal(r.code, cli.ExitOK) // stack up succeeds
			_, apiToken := tt.env["GHILLIE_API_TOKEN"]
			is.Equal(fake.Lines(t), lines(t, upCalls(tt.worker, !apiToken), port))
			is.True(strings.Contains(r.stdout, "Preview environment ready!\n"))
			is.True(strings.Contains(r.stdout, fmt.Sprintf("URL: http://127.0.0.1:%d/\n", port)))

			root, _ := filepath.Abs("../..")
			for _, c := range fake.Calls(t) {
				if c.Tool == "docker" {
					is.Equal(c.Dir, root) // docker build runs in the source tree
				}
			}

			var values struct {
				Profile string `json:"profile"`
				Image   struct {
					Repository, Tag, PullPolicy string
				} `json:"image"`
				Secrets     struct{ ExistingSecret string } `json:"secrets"`
				Service     struct{ Type string }           `json:"service"`
				GitHub      struct{ Auth string }           `json:"github"`
				StatusModel struct {
					Backend string
					OpenAI  struct{ Model string } `json:"openai"`
				} `json:"statusModel"`
			}
			helmInput := stdinOf(fake.Calls(t), "helm upgrade --install ghillie ")
			is.Equal(len(helmInput), 1)
			is.NoErr(json.Unmarshal([]byte(helmInput[0]), &values))
			is.Equal(values.Profile, tt.profile)
			is.Equal(values.Image.Repository, "ghillie")
			is.Equal(values.Image.Tag, "local")
			is.Equal(values.Image.PullPolicy, "Never")
			is.Equal(values.Secrets.ExistingSecret, "ghillie")
			is.Equal(values.Service.Type, "LoadBalancer")
			is.Equal(values.GitHub.Auth, tt.github)

			secret := fake.Secret(t, "ghillie", "ghillie")
			is.Equal(secret["GHILLIE_DATABASE_URL"], stacktest.DatabaseURL("ghillie"))
			if token, ok := tt.env["GHILLIE_API_TOKEN"]; ok {
				is.Equal(secret["GHILLIE_API_TOKEN"], token)
			} else {
				is.Equal(len(secret["GHILLIE_API_TOKEN"]), 64) // generated: 32 bytes in hex
			}
			if token, ok := tt.env["GHILLIE_GITHUB_TOKEN"]; ok {
				is.Equal(secret["GHILLIE_GITHUB_TOKEN"], token)
			}
			if key, ok := tt.env["GHILLIE_OPENAI_API_KEY"]; ok {
				is.Equal(secret["GHILLIE_OPENAI_API_KEY"], key)
				is.Equal(values.StatusModel.Backend, "openai")
				is.Equal(values.StatusModel.OpenAI.Model, "gpt-test")
			}
			assertNoSecrets(t, fake, r, env, fakeGitHubToken, fakeOpenAIKey, fakeAPIToken,
				secret["GHILLIE_API_TOKEN"])
		})
	}
}

func TestStackUpSecretsOnlyOnStdin(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		github string
		openai string
	}{
		{"standard variables", map[string]string{
			"GHILLIE_GITHUB_TOKEN": fakeGitHubToken, "GHILLIE_API_TOKEN": fakeAPIToken,
			"GHILLIE_STATUS_MODEL_BACKEND": "openai", "GHILLIE_OPENAI_API_KEY": fakeOpenAIKey,
		}, nil, fakeGitHubToken, fakeOpenAIKey},
		{"named variables", map[string]string{
			"GITHUB_TOKEN": fakeOtherGitHubToken, "GHILLIE_API_TOKEN": fakeAPIToken,
			"OPENAI_API_KEY": fakeOtherOpenAIKey,
		}, []string{"--provider-github-token-env", "GITHUB_TOKEN", "--provider-model-backend",
			"openai", "--provider-openai-key-env", "OPENAI_API_KEY", "--background-workers"},
			fakeOtherGitHubToken, fakeOtherOpenAIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			fake := stacktest.Install(t)
			port := apiServer(t)
			env := stackEnv(t, tt.env)
			args := append([]string{"--log-level", "debug", "stack", "up", "--ingress-port",
				strconv.Itoa(port)}, tt.args...)

			r := run(t, env, args...)
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stderr, "stack.command.started")) // debug lines were logged

			manifests := stdinOf(fake.Calls(t), apply)
			is.Equal(len(manifests), 2) // the database, then the Secret
			data := secretData(t, manifests[1])
			is.Equal(data["GHILLIE_GITHUB_TOKEN"], tt.github)
			is.Equal(data["GHILLIE_OPENAI_API_KEY"], tt.openai)
			is.Equal(data["GHILLIE_API_TOKEN"], fakeAPIToken)
			is.Equal(data["GHILLIE_DATABASE_URL"], stacktest.DatabaseURL("ghillie"))
			assertNoSecrets(t, fake, r, env, tt.github, tt.openai, fakeAPIToken)
		})
	}
}

// TestStackUpRedactsNamedVariables checks that a credential read from a
// variable that a --provider-*-env flag names is redacted from a failed
// tool's output, like one read from the standard variables.
func TestStackUpRedactsNamedVariables(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	port := apiServer(t)
	env := stackEnv(t, map[string]string{"GITHUB_TOKEN": fakeOtherGitHubToken,
		"OPENAI_API_KEY": fakeOtherOpenAIKey})
	fake.Fail(t, stacktest.Failure{Call: "helm upgrade --install ghillie ", Output: fmt.Sprintf(
		"stand-in error: token %s and key %s rejected", fakeOtherGitHubToken, fakeOtherOpenAIKey)})

	r := run(t, env, "stack", "up", "--ingress-port", strconv.Itoa(port),
		"--provider-github-token-env", "GITHUB_TOKEN", "--provider-model-backend", "openai",
		"--provider-openai-key-env", "OPENAI_API_KEY")
	is.Equal(r.code, cli.ExitBackend)
	is.True(strings.Contains(r.stderr, `step "install the Ghillie chart" failed`))
	is.True(strings.Contains(r.stderr, "| stand-in error: token [REDACTED] and key [REDACTED] rejected"))
	assertNoSecrets(t, fake, r, env, fakeOtherGitHubToken, fakeOtherOpenAIKey)
}

func TestStackUpGitHubApp(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	port := apiServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	is.NoErr(err)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	dir := t.TempDir()
	keyPath := writeFile(t, dir, "app.pem", keyPEM)
	env := stackEnv(t, map[string]string{"GHILLIE_GITHUB_APP_ID": "1234",
		"GHILLIE_GITHUB_APP_INSTALLATION_ID": "5678", "GHILLIE_GITHUB_APP_PRIVATE_KEY_PATH": keyPath})

	r := run(t, env, "stack", "up", "--profile", "ingestion-worker", "--ingress-port",
		strconv.Itoa(port))
	is.Equal(r.code, cli.ExitOK)

	manifests := stdinOf(fake.Calls(t), apply)
	is.Equal(len(manifests), 2)
	is.Equal(secretData(t, manifests[1])["GHILLIE_GITHUB_APP_PRIVATE_KEY"], keyPEM)
	var values struct {
		GitHub struct{ Auth, AppID, InstallationID string } `json:"github"`
	}
	is.NoErr(json.Unmarshal([]byte(stdinOf(fake.Calls(t), "helm upgrade --install ghillie ")[0]), &values))
	is.Equal(values.GitHub.Auth, "app")
	is.Equal(values.GitHub.AppID, "1234")
	is.Equal(values.GitHub.InstallationID, "5678")

	// Any line of the key's body is a secret.
	body := strings.Split(keyPEM, "\n")[3]
	assertNoSecrets(t, fake, r, env, body)
}

func TestStackUpRerunReusesCluster(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	port := apiServer(t)
	env := stackEnv(t, nil)

	first := run(t, env, "stack", "up", "--ingress-port", strconv.Itoa(port))
	is.Equal(first.code, cli.ExitOK)
	firstCalls := len(fake.Calls(t))
	token := fake.Secret(t, "ghillie", "ghillie")["GHILLIE_API_TOKEN"]
	is.True(strings.Contains(first.stderr, "Generated an API token"))

	second := run(t, env, "stack", "up")
	is.Equal(second.code, cli.ExitOK)
	calls := fake.Lines(t)[firstCalls:]
	want := lines(t, upCalls(false, true), port)
	is.Equal(calls, append(want[:1:1], want[2:]...)) // the same calls without cluster create
	is.Equal(len(fake.Clusters(t)), 1)
	is.True(strings.Contains(second.stderr,
		fmt.Sprintf("Reusing k3d cluster ghillie-local and its port 127.0.0.1:%d.", port)))
	is.True(strings.Contains(second.stderr, "Keeping the API token of Secret ghillie."))
	is.Equal(fake.Secret(t, "ghillie", "ghillie")["GHILLIE_API_TOKEN"], token) // token kept
	is.True(strings.Contains(second.stdout, fmt.Sprintf("URL: http://127.0.0.1:%d/", port)))
	assertNoSecrets(t, fake, second, env, token)
}

func TestStackUpStartsStoppedCluster(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	port := apiServer(t)
	fake.AddCluster(t, stacktest.Cluster{Name: "ghillie-local", Port: port, Running: false})
	fake.AddImage(t, "ghillie:local")

	r := run(t, stackEnv(t, nil), "stack", "up", "--skip-build")
	is.Equal(r.code, cli.ExitOK)
	got := fake.Lines(t)
	is.Equal(got[1], "k3d cluster start ghillie-local")
	for _, line := range got {
		is.True(!strings.HasPrefix(line, "docker ")) // --skip-build runs no docker build
	}
	is.True(strings.Contains(strings.Join(got, "\n"), "k3d image import ghillie:local"))
}

func TestStackUpPortMismatch(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	fake.AddCluster(t, stacktest.Cluster{Name: "ghillie-local", Port: 40123, Running: true})

	r := run(t, stackEnv(t, nil), "stack", "up", "--ingress-port", "40124")
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, "serves 127.0.0.1:40123, not the requested port 40124"))
	is.Equal(fake.Lines(t), []string{"k3d cluster list -o json"}) // nothing changed
}

func TestStackUpMissingTools(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t, "kubectl")

	r := run(t, stackEnv(t, nil), "stack", "up")
	is.Equal(r.code, cli.ExitBackend)
	is.True(strings.Contains(r.stderr, "docker, k3d, helm not found on PATH"))
	for _, page := range []string{
		"docker: https://docs.docker.com/get-started/get-docker/",
		"k3d: https://k3d.io/stable/#installation",
		"helm: https://helm.sh/docs/intro/install/",
	} {
		is.True(strings.Contains(r.stderr, "\n  "+page+"\n")) // one line per missing tool
	}
	is.True(!strings.Contains(r.stderr, "kubectl:")) // kubectl was found
	is.Equal(len(fake.Calls(t)), 0)                  // nothing ran
}

func TestStackUpStepFailures(t *testing.T) {
	calls := upCalls(false, true)
	for i, c := range calls {
		t.Run(c.step, func(t *testing.T) {
			is := is.New(t)
			fake := stacktest.Install(t)
			port := apiServer(t)
			env := stackEnv(t, map[string]string{"GHILLIE_GITHUB_TOKEN": fakeGitHubToken})
			want := lines(t, calls[:i+1], port)
			occurrence := 0
			for _, line := range want {
				if line == want[i] {
					occurrence++
				}
			}
			// The tool's output repeats a secret, which must be redacted.
			output := fmt.Sprintf("stand-in error %d: token %s rejected", i, fakeGitHubToken)
			fake.Fail(t, stacktest.Failure{Call: want[i], Occurrence: occurrence, Output: output})

			r := run(t, env, "stack", "up", "--ingress-port", strconv.Itoa(port))
			is.Equal(r.code, cli.ExitBackend)
			is.Equal(fake.Lines(t), want) // no step after the failed one ran
			is.True(strings.Contains(r.stderr, fmt.Sprintf("step %q failed", c.step)))
			if !strings.Contains(want[i], "jsonpath=") {
				is.True(strings.Contains(r.stderr,
					fmt.Sprintf("| stand-in error %d: token [REDACTED] rejected", i)))
			}
			is.Equal(r.stdout, "")
			_, err := os.Stat(statePath(env))
			is.True(os.IsNotExist(err)) // no state for a failed preview
			assertNoSecrets(t, fake, r, env, fakeGitHubToken)
		})
	}
}

func TestStackUpNoWait(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	env := stackEnv(t, nil)

	r := run(t, env, "stack", "up", "--no-wait", "-o", "json")
	is.Equal(r.code, cli.ExitOK)
	for _, line := range fake.Lines(t) {
		is.True(!strings.Contains(line, "rollout status")) // no wait for the pods
		is.True(!strings.HasPrefix(line, "helm upgrade --install ghillie ") ||
			!strings.Contains(line, "--wait"))
	}

	clusters := fake.Clusters(t)
	is.Equal(len(clusters), 1)
	is.True(clusters[0].Port > 0) // a free port was picked
	var out struct {
		APIBaseURL   string `json:"api_base_url"`
		Ready        bool   `json:"ready"`
		TokenCommand string `json:"api_token_command"`
	}
	is.NoErr(json.Unmarshal([]byte(r.stdout), &out))
	is.Equal(out.APIBaseURL, fmt.Sprintf("http://127.0.0.1:%d", clusters[0].Port))
	is.Equal(out.Ready, false)
	is.True(strings.Contains(out.TokenCommand, "get secret ghillie"))
}

func TestStackUpState(t *testing.T) {
	is := is.New(t)
	stacktest.Install(t)
	port := apiServer(t)
	env := stackEnv(t, map[string]string{"GHILLIE_K3D_CLUSTER": "demo", "GHILLIE_K3D_NAMESPACE": "preview",
		"GHILLIE_PROFILE": "reporting-worker", "GHILLIE_K3D_PORT": strconv.Itoa(port)})

	before := time.Now().UTC().Truncate(time.Second)
	r := run(t, env, "stack", "up")
	is.Equal(r.code, cli.ExitOK)

	info, err := os.Stat(statePath(env))
	is.NoErr(err)
	is.Equal(info.Mode().Perm(), os.FileMode(0o600))
	dirInfo, err := os.Stat(filepath.Dir(statePath(env)))
	is.NoErr(err)
	is.Equal(dirInfo.Mode().Perm(), os.FileMode(0o700))

	data, err := os.ReadFile(statePath(env))
	is.NoErr(err)
	var state map[string]string
	is.NoErr(json.Unmarshal(data, &state))
	updated, err := time.Parse(time.RFC3339, state["updated_at"])
	is.NoErr(err)
	is.True(strings.HasSuffix(state["updated_at"], "Z")) // UTC
	is.True(!updated.Before(before))
	delete(state, "updated_at")
	is.Equal(state, map[string]string{
		"api_base_url": fmt.Sprintf("http://127.0.0.1:%d", port),
		"source":       "stack_up",
		"cluster_name": "demo",
		"namespace":    "preview",
		"profile":      "reporting-worker",
	})
	entries, err := os.ReadDir(filepath.Dir(statePath(env)))
	is.NoErr(err)
	is.Equal(len(entries), 1) // no temporary file left behind
}

func TestStackUpInvalidFlags(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"profile", nil, []string{"--profile", "everything"}, `invalid profile "everything"`},
		{"port", nil, []string{"--ingress-port", "99999"}, `invalid --ingress-port "99999"`},
		{"port env", map[string]string{"GHILLIE_K3D_PORT": "http"}, nil, `invalid GHILLIE_K3D_PORT "http"`},
		{"image", nil, []string{"--image", "Ghillie@sha256:00"}, `invalid image "Ghillie@sha256:00"`},
		{"cluster", map[string]string{"GHILLIE_K3D_CLUSTER": "My_Cluster"}, nil,
			`GHILLIE_K3D_CLUSTER: invalid cluster name "My_Cluster"`},
		{"namespace", nil, []string{"--namespace", "-x"}, `invalid namespace "-x"`},
		{"wait twice", nil, []string{"--wait", "--no-wait"}, "--wait and --no-wait are both given"},
		{"no github", nil, []string{"--profile", "ingestion-worker"}, "needs GitHub access"},
		{"backend", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "llama"}, nil,
			`invalid GHILLIE_STATUS_MODEL_BACKEND "llama"`},
		{"source", nil, []string{"--source-dir", "/nonexistent"},
			`invalid --source-dir "/nonexistent": it has no chart in`},
		{"openai without key", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "openai"}, nil,
			"GHILLIE_OPENAI_API_KEY"},
		{"app without key", map[string]string{"GHILLIE_GITHUB_APP_ID": "12",
			"GHILLIE_GITHUB_APP_INSTALLATION_ID": "34"}, nil, "GHILLIE_GITHUB_APP_PRIVATE_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			fake := stacktest.Install(t)

			r := run(t, stackEnv(t, tt.env), append([]string{"stack", "up"}, tt.args...)...)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, tt.want))
			is.Equal(len(fake.Calls(t)), 0) // checked before any tool ran
		})
	}
}

func TestStackDown(t *testing.T) {
	is := is.New(t)
	fake, env, _ := upPreview(t)
	upCalls := len(fake.Calls(t))

	r := run(t, env, "stack", "down", "--purge-images")
	is.Equal(r.code, cli.ExitOK)
	is.Equal(fake.Lines(t)[upCalls:], []string{
		"k3d cluster list -o json",
		"k3d cluster delete ghillie-local",
		"docker image rm ghillie:local",
	})
	is.Equal(len(fake.Clusters(t)), 0)
	_, err := os.Stat(statePath(env))
	is.True(os.IsNotExist(err)) // state.json removed
	is.True(strings.Contains(r.stdout, "Deleted k3d cluster ghillie-local.\n"))
	is.True(strings.Contains(r.stdout, "Removed image ghillie:local.\n"))

	again := run(t, env, "stack", "down", "--purge-images")
	is.Equal(again.code, cli.ExitOK) // nothing left to delete is no error
	is.True(strings.Contains(again.stdout, "k3d cluster ghillie-local does not exist; nothing to delete."))
	is.True(strings.Contains(again.stdout, "Image ghillie:local was not in Docker."))
}

func TestStackDownKeepsOtherState(t *testing.T) {
	is := is.New(t)
	fake, env, _ := upPreview(t)
	fake.AddCluster(t, stacktest.Cluster{Name: "other", Port: 40999, Running: true})

	r := run(t, env, "stack", "down", "--cluster-name", "other")
	is.Equal(r.code, cli.ExitOK)
	_, err := os.Stat(statePath(env))
	is.NoErr(err) // the state of ghillie-local stays
	is.Equal(len(fake.Clusters(t)), 1)
}

func TestStackDownMissingTool(t *testing.T) {
	is := is.New(t)
	stacktest.Install(t, "k3d")

	r := run(t, stackEnv(t, nil), "stack", "down", "--purge-images")
	is.Equal(r.code, cli.ExitBackend)
	is.True(strings.Contains(r.stderr, "docker not found on PATH; install it"))
}

func TestStackStatus(t *testing.T) {
	is := is.New(t)
	_, env, port := upPreview(t)

	r := run(t, env, "stack", "status")
	is.Equal(r.code, cli.ExitOK)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	is.True(strings.Contains(r.stdout, fmt.Sprintf("ghillie-local (running, port %d)", port)))
	is.True(strings.Contains(r.stdout, "API URL:      "+url+" (state)\n"))
	is.True(strings.Contains(r.stdout, `GET /health:  200 OK {"status": "ok"}`))
	is.True(strings.Contains(r.stdout, `GET /ready:   200 OK {"status": "ready"}`))
	is.True(strings.Contains(r.stdout, "ghillie-server-7d4b9c-x2x9q  1/1    Running  1\n"))

	env["GHILLIE_API_BASE_URL"] = url + "/"
	r = run(t, env, "stack", "status", "-o", "json")
	is.Equal(r.code, cli.ExitOK)
	var report struct {
		APIBaseURL string `json:"api_base_url"`
		Source     string `json:"api_base_url_source"`
		Health     struct {
			StatusCode int `json:"status_code"`
		} `json:"health"`
		Pods []struct{ Name string } `json:"pods"`
	}
	is.NoErr(json.Unmarshal([]byte(r.stdout), &report))
	is.Equal(report.APIBaseURL, url)
	is.Equal(report.Source, "env")
	is.Equal(report.Health.StatusCode, 200)
	is.Equal(len(report.Pods), 1)
}

func TestStackStatusNoCluster(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)

	r := run(t, stackEnv(t, nil), "stack", "status")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stdout, "ghillie-local (does not exist; create it with 'ghillie stack up')"))
	is.True(strings.Contains(r.stdout, "API URL:      http://127.0.0.1:8080 (fallback)"))
	is.Equal(fake.Lines(t), []string{"k3d cluster list -o json"}) // no kubectl without a cluster
}

func TestStackLogs(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	fake.AddCluster(t, stacktest.Cluster{Name: "ghillie-local", Port: 40123, Running: true})

	r := run(t, stackEnv(t, nil), "stack", "logs", "--follow", "--since", "15m", "--namespace", "demo")
	is.Equal(r.code, cli.ExitOK)
	is.Equal(fake.Lines(t)[1], kube+"logs --namespace demo --selector app.kubernetes.io/instance=ghillie "+
		"--all-containers --prefix --tail=-1 --follow --since=15m")
	is.True(strings.Contains(r.stdout, "[pod/ghillie-server-7d4b9c-x2x9q/server]"))
}

func TestStackLogsErrors(t *testing.T) {
	is := is.New(t)
	stacktest.Install(t)

	r := run(t, stackEnv(t, nil), "stack", "logs", "--since", "yesterday")
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, `invalid --since "yesterday"`))

	r = run(t, stackEnv(t, nil), "stack", "logs")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stderr, "ghillie-local does not exist: create it with 'ghillie stack up'"))
}

// More fake credentials, in the variables that the --provider-*-env
// flags name.
const (
	fakeOtherGitHubToken = "ghp_standinOtherToken9876543210fedcba"
	fakeOtherOpenAIKey   = "sk-standin-other-openai-key-8e2a71"
)

// previewValues are the chart values of 'stack up' that the provider
// and worker flags set.
type previewValues struct {
	GitHub      struct{ Auth string }    `json:"github"`
	StatusModel struct{ Backend string } `json:"statusModel"`
	Worker      struct {
		InAPIOnlyProfile *bool `json:"inApiOnlyProfile"`
	} `json:"worker"`
}

// upRun is a successful 'stack up' on stand-ins.
type upRun struct {
	fake *stacktest.Fake
	env  map[string]string
	result

	// values are the chart values on helm's standard input, and secret
	// the data of the application Secret.
	values previewValues
	secret map[string]string
}

// upWith runs 'stack up' with env and args on stand-ins, and fails the
// test unless it succeeds.
func upWith(t *testing.T, env map[string]string, args ...string) upRun {
	t.Helper()
	u := upRun{fake: stacktest.Install(t), env: stackEnv(t, env)}
	port := apiServer(t)
	args = append([]string{"stack", "up", "--ingress-port", strconv.Itoa(port)}, args...)

	u.result = run(t, u.env, args...)
	if u.code != cli.ExitOK {
		t.Fatalf("stack up exited with %d:\n%s", u.code, u.stderr)
	}
	helmInput := stdinOf(u.fake.Calls(t), "helm upgrade --install ghillie ")
	if len(helmInput) != 1 {
		t.Fatalf("helm install of the chart ran %d times, want once", len(helmInput))
	}
	if err := json.Unmarshal([]byte(helmInput[0]), &u.values); err != nil {
		t.Fatalf("chart values are not JSON: %v", err)
	}
	u.secret = u.fake.Secret(t, "ghillie", "ghillie")
	return u
}

func TestStackUpModelBackend(t *testing.T) {
	key := map[string]string{"GHILLIE_OPENAI_API_KEY": fakeOpenAIKey}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		backend string
		unset   bool
	}{
		{"default", nil, nil, "mock", true},
		{"env mock", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "mock"}, nil, "mock", false},
		{"env openai", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "openai",
			"GHILLIE_OPENAI_API_KEY": fakeOpenAIKey}, nil, "openai", false},
		{"flag openai", key, []string{"--provider-model-backend", "openai"}, "openai", false},
		{"flag upper case", key, []string{"--provider-model-backend", "OpenAI"}, "openai", false},
		// openai from the environment would fail without a key.
		{"flag beats env", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "openai"},
			[]string{"--provider-model-backend", "mock"}, "mock", false},
		{"flag beats invalid env", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "llama",
			"GHILLIE_OPENAI_API_KEY": fakeOpenAIKey},
			[]string{"--provider-model-backend", "openai"}, "openai", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			u := upWith(t, tt.env, tt.args...)

			is.Equal(u.values.StatusModel.Backend, tt.backend)
			is.Equal(strings.Contains(u.stderr, "Neither --provider-model-backend nor "+
				"GHILLIE_STATUS_MODEL_BACKEND is set"), tt.unset)
			_, hasKey := u.secret["GHILLIE_OPENAI_API_KEY"]
			is.Equal(hasKey, tt.backend == "openai") // the key goes in only for openai
			if hasKey {
				is.Equal(u.secret["GHILLIE_OPENAI_API_KEY"], fakeOpenAIKey)
			}
			assertNoSecrets(t, u.fake, u.result, u.env, fakeOpenAIKey)
		})
	}
}

func TestStackUpGitHubTokenEnv(t *testing.T) {
	both := map[string]string{"GHILLIE_GITHUB_TOKEN": fakeGitHubToken,
		"GITHUB_TOKEN": fakeOtherGitHubToken}
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		token string
	}{
		{"default unset", nil, nil, ""},
		{"default", map[string]string{"GHILLIE_GITHUB_TOKEN": fakeGitHubToken}, nil,
			fakeGitHubToken},
		{"other variable", map[string]string{"GITHUB_TOKEN": fakeOtherGitHubToken},
			[]string{"--provider-github-token-env", "GITHUB_TOKEN"}, fakeOtherGitHubToken},
		{"flag beats env", both, []string{"--provider-github-token-env", "GITHUB_TOKEN"},
			fakeOtherGitHubToken},
		{"default ignores other", both, nil, fakeGitHubToken},
		{"ingestion worker", map[string]string{"GITHUB_TOKEN": fakeOtherGitHubToken},
			[]string{"--provider-github-token-env=GITHUB_TOKEN", "--profile", "ingestion-worker"},
			fakeOtherGitHubToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			u := upWith(t, tt.env, tt.args...)

			token, hasToken := u.secret["GHILLIE_GITHUB_TOKEN"]
			is.Equal(hasToken, tt.token != "") // the Secret has a token only when one is set
			is.Equal(token, tt.token)
			if tt.token == "" {
				is.Equal(u.values.GitHub.Auth, "none")
			} else {
				is.Equal(u.values.GitHub.Auth, "token")
			}
			assertNoSecrets(t, u.fake, u.result, u.env, fakeGitHubToken, fakeOtherGitHubToken)
		})
	}
}

func TestStackUpOpenAIKeyEnv(t *testing.T) {
	openai := []string{"--provider-model-backend", "openai"}
	custom := append([]string{"--provider-openai-key-env", "OPENAI_API_KEY"}, openai...)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		key  string
		note bool
	}{
		{"default", map[string]string{"GHILLIE_OPENAI_API_KEY": fakeOpenAIKey}, openai,
			fakeOpenAIKey, false},
		{"other variable", map[string]string{"OPENAI_API_KEY": fakeOtherOpenAIKey}, custom,
			fakeOtherOpenAIKey, false},
		{"flag beats env", map[string]string{"GHILLIE_OPENAI_API_KEY": fakeOpenAIKey,
			"OPENAI_API_KEY": fakeOtherOpenAIKey}, custom, fakeOtherOpenAIKey, false},
		{"mock reads no key", map[string]string{"OPENAI_API_KEY": fakeOtherOpenAIKey},
			[]string{"--provider-openai-key-env", "OPENAI_API_KEY"}, "", true},
		{"mock with unset variable", nil,
			[]string{"--provider-openai-key-env", "OPENAI_API_KEY"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			u := upWith(t, tt.env, tt.args...)

			key, hasKey := u.secret["GHILLIE_OPENAI_API_KEY"]
			is.Equal(hasKey, tt.key != "") // the Secret has a key only for openai
			is.Equal(key, tt.key)
			if tt.key == "" {
				is.Equal(u.values.StatusModel.Backend, "mock")
			} else {
				is.Equal(u.values.StatusModel.Backend, "openai")
			}
			is.Equal(strings.Contains(u.stderr, "The mock status model needs no API key, so "+
				"OPENAI_API_KEY is not read"), tt.note)
			assertNoSecrets(t, u.fake, u.result, u.env, fakeOpenAIKey, fakeOtherOpenAIKey)
		})
	}
}

func TestStackUpBackgroundWorkers(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		profile string
		worker  bool
		flag    bool
	}{
		{"default", nil, nil, "api-only", false, false},
		{"api-only", nil, []string{"--background-workers"}, "api-only", true, true},
		{"api-only env", map[string]string{"GHILLIE_PROFILE": "api-only"},
			[]string{"--background-workers=true"}, "api-only", true, true},
		{"explicit false", nil, []string{"--background-workers=false"}, "api-only", false,
			false},
		{"reporting-worker", nil, []string{"--profile", "reporting-worker",
			"--background-workers"}, "reporting-worker", true, true},
		{"reporting-worker alone", nil, []string{"--profile", "reporting-worker"},
			"reporting-worker", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			u := upWith(t, tt.env, tt.args...)

			port := u.fake.Clusters(t)[0].Port
			is.Equal(u.fake.Lines(t), lines(t, upCalls(tt.worker, true), port))
			is.True(u.values.Worker.InAPIOnlyProfile != nil) // set either way
			is.Equal(*u.values.Worker.InAPIOnlyProfile, tt.flag)

			is.Equal(strings.Contains(u.stderr, "and a worker for queued runs..."),
				tt.flag && tt.profile == "api-only")
			is.Equal(strings.Contains(u.stderr, "--background-workers changes nothing"),
				tt.flag && tt.profile != "api-only")
		})
	}
}

func TestStackUpProviderErrors(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		want   string
		absent string
	}{
		{"backend flag", nil, []string{"--provider-model-backend", "llama"},
			`invalid --provider-model-backend "llama": use mock or openai`, ""},
		{"backend env", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "gpt"}, nil,
			`invalid GHILLIE_STATUS_MODEL_BACKEND "gpt": use mock or openai`, ""},
		{"backend flag over env", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "mock"},
			[]string{"--provider-model-backend", "claude"},
			`invalid --provider-model-backend "claude": use mock or openai`, ""},
		{"openai flag without key", nil, []string{"--provider-model-backend", "openai"},
			"GHILLIE_OPENAI_API_KEY: missing API key", ""},
		{"token env digit", nil, []string{"--provider-github-token-env", "1TOKEN"},
			`invalid --provider-github-token-env "1TOKEN": give the name of an environment ` +
				"variable", ""},
		{"token env hyphen", nil, []string{"--provider-github-token-env", "GITHUB-TOKEN"},
			`invalid --provider-github-token-env "GITHUB-TOKEN"`, ""},
		{"token env empty", nil, []string{"--provider-github-token-env", ""},
			`invalid --provider-github-token-env ""`, ""},
		{"token env unset", nil, []string{"--provider-github-token-env", "GITHUB_TOKEN"},
			"--provider-github-token-env names GITHUB_TOKEN, which is empty or unset: set " +
				"GITHUB_TOKEN to the GitHub token, or leave out the flag to read " +
				"GHILLIE_GITHUB_TOKEN", ""},
		{"token env blank", map[string]string{"GITHUB_TOKEN": "  "},
			[]string{"--provider-github-token-env", "GITHUB_TOKEN"},
			"--provider-github-token-env names GITHUB_TOKEN, which is empty or unset", ""},
		{"token env default unset", nil,
			[]string{"--provider-github-token-env", "GHILLIE_GITHUB_TOKEN"},
			"--provider-github-token-env names GHILLIE_GITHUB_TOKEN, which is empty or unset: " +
				"set GHILLIE_GITHUB_TOKEN to the GitHub token\n", ""},
		{"token env unset with app", map[string]string{"GHILLIE_GITHUB_APP_ID": "12"},
			[]string{"--provider-github-token-env", "GITHUB_TOKEN"},
			"--provider-github-token-env names GITHUB_TOKEN, which is empty or unset", ""},
		{"token with a space", map[string]string{"GITHUB_TOKEN": "ghp_pasted token"},
			[]string{"--provider-github-token-env", "GITHUB_TOKEN"},
			"GITHUB_TOKEN: contains whitespace", "GHILLIE_GITHUB_TOKEN"},
		{"token and app", map[string]string{"GITHUB_TOKEN": fakeOtherGitHubToken,
			"GHILLIE_GITHUB_APP_ID": "12"}, []string{"--provider-github-token-env", "GITHUB_TOKEN"},
			"GITHUB_TOKEN: set together with GHILLIE_GITHUB_APP_ID", "GHILLIE_GITHUB_TOKEN"},
		{"ingestion without token", map[string]string{"GHILLIE_GITHUB_TOKEN": fakeGitHubToken},
			[]string{"--provider-github-token-env", "GITHUB_TOKEN", "--profile", "ingestion-worker"},
			"--provider-github-token-env names GITHUB_TOKEN, which is empty or unset", ""},
		{"key env invalid", nil, []string{"--provider-openai-key-env", "OPENAI KEY"},
			`invalid --provider-openai-key-env "OPENAI KEY": give the name of an environment ` +
				"variable, made of letters, digits and underscores and not starting with a " +
				"digit, such as OPENAI_API_KEY", ""},
		{"token given as its name", nil,
			[]string{"--provider-github-token-env", "ghp_FAKETOKEN0123456789abcdef"},
			`invalid --provider-github-token-env "ghp_"... (shortened, because it looks like ` +
				"a token", "FAKETOKEN"},
		{"key given as its name", nil,
			[]string{"--provider-openai-key-env", "sk-proj-FAKEKEY0123456789"},
			`invalid --provider-openai-key-env "sk-p"... (shortened`, "FAKEKEY"},
		{"endpoint with credentials", map[string]string{"OPENAI_API_KEY": fakeOpenAIKey,
			"GHILLIE_OPENAI_ENDPOINT": "https://u:p@127.0.0.1/v1/chat/completions"},
			[]string{"--provider-model-backend", "openai", "--provider-openai-key-env",
				"OPENAI_API_KEY"}, `GHILLIE_OPENAI_ENDPOINT="https://REDACTED@127.0.0.1/v1/chat/` +
				`completions": invalid endpoint: contains credentials: set the key in OPENAI_API_KEY`,
			"in GHILLIE_OPENAI_API_KEY"},
		{"key env invalid with mock", nil, []string{"--provider-model-backend", "mock",
			"--provider-openai-key-env", "$KEY"}, `invalid --provider-openai-key-env "$KEY"`, ""},
		{"key env unset", map[string]string{"GHILLIE_OPENAI_API_KEY": fakeOpenAIKey},
			[]string{"--provider-model-backend", "openai", "--provider-openai-key-env",
				"OPENAI_API_KEY"},
			"--provider-openai-key-env names OPENAI_API_KEY, which is empty or unset: set " +
				"OPENAI_API_KEY to the OpenAI API key, or leave out the flag to read " +
				"GHILLIE_OPENAI_API_KEY", ""},
		{"key env unset from env backend", map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "openai"},
			[]string{"--provider-openai-key-env", "OPENAI_API_KEY"},
			"--provider-openai-key-env names OPENAI_API_KEY, which is empty or unset", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			fake := stacktest.Install(t)

			r := run(t, stackEnv(t, tt.env), append([]string{"stack", "up"}, tt.args...)...)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, "ghillie: "+tt.want))
			if tt.absent != "" {
				is.True(!strings.Contains(r.stderr, tt.absent)) // names the variable read
			}
			is.Equal(len(fake.Calls(t)), 0) // checked before any tool ran
			for _, secret := range []string{fakeGitHubToken, fakeOtherGitHubToken, fakeOpenAIKey,
				"ghp_pasted token"} {
				is.True(!strings.Contains(r.stderr, secret)) // no credential in the message
			}
		})
	}
}
