package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fieldManager names the preview as the owner of the objects it applies
// with server-side apply, which, unlike client-side apply, copies no
// Secret data into an annotation.
const fieldManager = "ghillie-stack"

// webhookAttempts bounds the applies of the database manifest, which
// follows the operator's installation: the operator's admission webhook
// can refuse connections for a few seconds after the operator is ready.
const webhookAttempts = 5

// webhookDelay separates those attempts. Tests shorten it.
var webhookDelay = 5 * time.Second

// Up creates the preview described by cfg, or brings an existing one up
// to date, and saves and returns its State. It reuses an existing
// cluster with its port, and installs with helm upgrade --install, so
// that running it again applies only what changed.
//
// A tool that fails or is missing ends Up with a *StepError or a
// *MissingToolsError, and saves no state. An ingress port that differs
// from the existing cluster's is an error wrapping ErrPortMismatch,
// returned before anything changes.
func (p *Preview) Up(ctx context.Context, cfg Config) (State, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return State{}, err
	}
	if p.StatePath == "" {
		return State{}, errors.New("stack: Preview.StatePath is empty")
	}
	chart, err := checkSource(cfg)
	if err != nil {
		return State{}, err
	}

	r, err := p.runner("docker", "k3d", "kubectl", "helm")
	if err != nil {
		return State{}, err
	}
	r.addSecrets(cfg.Secrets.values()...)

	port, err := p.ensureCluster(ctx, r, cfg)
	if err != nil {
		return State{}, err
	}
	databaseURL, err := p.ensureDatabase(ctx, r, cfg)
	if err != nil {
		return State{}, err
	}
	if err := p.loadImage(ctx, r, cfg); err != nil {
		return State{}, err
	}
	if err := p.applySecret(ctx, r, cfg, databaseURL); err != nil {
		return State{}, err
	}
	if err := p.installChart(ctx, r, cfg, chart); err != nil {
		return State{}, err
	}

	baseURL := "http://127.0.0.1:" + strconv.Itoa(port)
	if cfg.Wait {
		if err := p.waitReady(ctx, r, cfg, baseURL); err != nil {
			return State{}, err
		}
	}

	state := State{
		APIBaseURL:  baseURL,
		Source:      StateSource,
		ClusterName: cfg.ClusterName,
		Namespace:   cfg.Namespace,
		Profile:     cfg.Profile,
		UpdatedAt:   p.now().UTC().Truncate(time.Second),
	}
	if err := SaveState(p.StatePath, state); err != nil {
		return State{}, err
	}
	return state, nil
}

// checkSource returns the chart's folder, after checking that the
// source tree has the chart and, for a build, the Dockerfile.
func checkSource(cfg Config) (string, error) {
	fix := "run the command in a clone of the Ghillie repository, or give the clone's folder"

	chart := filepath.Join(cfg.SourceDir, ChartPath)
	if _, err := os.Stat(filepath.Join(chart, "Chart.yaml")); err != nil {
		return "", fmt.Errorf("no Ghillie chart in %s (%w): %s", chart, err, fix)
	}
	if !cfg.SkipBuild {
		dockerfile := filepath.Join(cfg.SourceDir, "Dockerfile")
		if _, err := os.Stat(dockerfile); err != nil {
			return "", fmt.Errorf("no Dockerfile to build the image (%w): %s", err, fix)
		}
	}
	return chart, nil
}

// ensureCluster reuses the cluster, starting it when it is stopped, or
// creates it, and returns its ingress port.
func (p *Preview) ensureCluster(ctx context.Context, r *runner, cfg Config) (int, error) {
	c, found, err := findCluster(ctx, r, cfg.ClusterName)
	if err != nil {
		return 0, err
	}

	if found {
		port, ok := c.ingressPort()
		if !ok {
			return 0, &StepError{Step: "read the cluster's ingress port",
				Err: fmt.Errorf("k3d cluster %s maps no host port to port 80 of its load "+
					"balancer, so it was not created by 'ghillie stack up': delete it with "+
					"'ghillie stack down --cluster-name %s', or choose another cluster name",
					cfg.ClusterName, cfg.ClusterName)}
		}
		if cfg.IngressPort != 0 && cfg.IngressPort != port {
			return 0, fmt.Errorf("%w: k3d cluster %s serves 127.0.0.1:%d, not the requested "+
				"port %d: leave out the ingress port to reuse %d, or delete the cluster with "+
				"'ghillie stack down' first", ErrPortMismatch, cfg.ClusterName, port,
				cfg.IngressPort, port)
		}
		p.progress("Reusing k3d cluster %s and its port 127.0.0.1:%d.", cfg.ClusterName, port)

		if !c.running() {
			p.progress("Starting the stopped cluster %s...", cfg.ClusterName)
			_, err := r.run(ctx, command{step: "start the k3d cluster", tool: "k3d",
				args: []string{"cluster", "start", cfg.ClusterName}})
			if err != nil {
				return 0, err
			}
		}
		return port, nil
	}

	port := cfg.IngressPort
	if port == 0 {
		if port, err = freePort(); err != nil {
			return 0, err
		}
	}
	p.progress("Creating k3d cluster %s on 127.0.0.1:%d...", cfg.ClusterName, port)
	_, err = r.run(ctx, command{step: "create the k3d cluster", tool: "k3d", args: []string{
		"cluster", "create", cfg.ClusterName,
		"--port", fmt.Sprintf("127.0.0.1:%d:80@loadbalancer", port),
		// The chart's LoadBalancer Service takes port 80, which
		// Traefik would otherwise hold.
		"--k3s-arg=--disable=traefik@server:*",
	}})
	if err != nil {
		return 0, err
	}
	return port, nil
}

// kubectl returns kubectl's arguments for the cluster's context.
func kubectl(cfg Config, args ...string) []string {
	return append([]string{"--context", kubeContext(cfg.ClusterName)}, args...)
}

// applyArgs are kubectl's arguments of a server-side apply of the
// manifests on standard input.
func applyArgs(cfg Config) []string {
	return kubectl(cfg, "apply", "--server-side", "--force-conflicts",
		"--field-manager", fieldManager, "-f", "-")
}

// ensureDatabase installs the CloudNativePG operator and a PostgreSQL
// cluster, waits until it is ready and returns its connection URI.
func (p *Preview) ensureDatabase(ctx context.Context, r *runner, cfg Config) (string, error) {
	kube := kubeContext(cfg.ClusterName)
	timeout := cfg.Timeout.String()

	p.progress("Installing the CloudNativePG operator...")
	_, err := r.run(ctx, command{step: "add the CloudNativePG chart repository", tool: "helm",
		args: []string{"repo", "add", cnpgRepoName, cnpgRepoURL, "--force-update"}})
	if err != nil {
		return "", err
	}
	_, err = r.run(ctx, command{step: "install the CloudNativePG operator", tool: "helm",
		args: []string{"upgrade", "--install", cnpgRelease, cnpgChart,
			"--namespace", cnpgNamespace, "--create-namespace", "--kube-context", kube,
			"--wait", "--timeout", timeout}})
	if err != nil {
		return "", err
	}

	p.progress("Creating PostgreSQL cluster %s in namespace %s...", DatabaseCluster, cfg.Namespace)
	if err := p.applyDatabase(ctx, r, cfg); err != nil {
		return "", err
	}
	p.progress("Waiting for PostgreSQL to be ready...")
	_, err = r.run(ctx, command{step: "wait for PostgreSQL", tool: "kubectl",
		args: kubectl(cfg, "wait", "--for=condition=Ready",
			"cluster.postgresql.cnpg.io/"+DatabaseCluster, "--namespace", cfg.Namespace,
			"--timeout="+timeout)})
	if err != nil {
		return "", err
	}

	const step = "read the database URL"
	secret := DatabaseCluster + "-app"
	uri, err := readSecretKey(ctx, r, cfg, step, secret, "uri", false)
	if err != nil {
		return "", err
	}
	parsed, err := url.Parse(uri)
	if err != nil || (parsed.Scheme != "postgresql" && parsed.Scheme != "postgres") {
		// The error could quote the URI, with its password.
		return "", &StepError{Step: step, Err: fmt.Errorf("key uri of Secret %s in namespace "+
			"%s is not a PostgreSQL URL: delete the namespace and run the command again",
			secret, cfg.Namespace)}
	}
	password, _ := parsed.User.Password()
	r.addSecrets(uri, password)
	return uri, nil
}

// applyDatabase applies the namespace and the PostgreSQL cluster, and
// tries again while the operator's webhook rejects connections.
func (p *Preview) applyDatabase(ctx context.Context, r *runner, cfg Config) error {
	c := command{step: "apply the namespace and the PostgreSQL cluster", tool: "kubectl",
		args: applyArgs(cfg), stdin: []byte(databaseManifest(cfg.Namespace))}
	for attempt := 1; ; attempt++ {
		_, err := r.run(ctx, c)
		var step *StepError
		if err == nil || attempt == webhookAttempts || !errors.As(err, &step) ||
			!strings.Contains(step.Output, "webhook") {
			return err
		}

		p.progress("The CloudNativePG webhook is not ready yet; trying again in %s...", webhookDelay)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(webhookDelay):
		}
	}
}

// databaseManifest returns the namespace and the PostgreSQL cluster as
// YAML. The namespace is a checked DNS label, so it needs no quoting.
func databaseManifest(namespace string) string {
	return `apiVersion: v1
kind: Namespace
metadata:
  name: ` + namespace + `
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ` + DatabaseCluster + `
  namespace: ` + namespace + `
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: ghillie
      owner: ghillie
`
}

// readSecretKey returns the decoded value of a key of a Secret in the
// preview's namespace. With ignoreMissing, a missing Secret or key is
// the empty string.
func readSecretKey(ctx context.Context, r *runner, cfg Config, step, secret, key string,
	ignoreMissing bool) (string, error) {
	args := kubectl(cfg, "get", "secret", secret, "--namespace", cfg.Namespace,
		"-o", "jsonpath={.data."+key+"}")
	if ignoreMissing {
		args = append(args, "--ignore-not-found")
	}
	out, err := r.run(ctx, command{step: step, tool: "kubectl", args: args, secretStdout: true})
	if err != nil {
		return "", err
	}

	encoded := strings.TrimSpace(string(out))
	if encoded == "" && ignoreMissing {
		return "", nil
	}
	value, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(value) == 0 {
		return "", &StepError{Step: step, Err: fmt.Errorf("key %s of Secret %s in namespace "+
			"%s has no base64 value", key, secret, cfg.Namespace)}
	}
	return string(value), nil
}

// loadImage builds the image, unless cfg.SkipBuild, and imports it into
// the cluster.
func (p *Preview) loadImage(ctx context.Context, r *runner, cfg Config) error {
	if cfg.SkipBuild {
		p.progress("Skipping docker build; importing the existing image %s.", cfg.Image)
	} else {
		p.progress("Building image %s...", cfg.Image)
		_, err := r.run(ctx, command{step: "build the image", tool: "docker",
			args: []string{"build", "-t", cfg.Image, "."}, dir: cfg.SourceDir})
		if err != nil {
			return err
		}
	}

	p.progress("Importing image %s into the cluster...", cfg.Image)
	_, err := r.run(ctx, command{step: "import the image", tool: "k3d",
		args: []string{"image", "import", cfg.Image, "-c", cfg.ClusterName}})
	return err
}

// applySecret creates or updates the application Secret. Without an
// API token in cfg it keeps the existing Secret's token, so that a
// client keeps working, or generates one.
func (p *Preview) applySecret(ctx context.Context, r *runner, cfg Config, databaseURL string) error {
	token := cfg.Secrets.APIToken
	if token == "" {
		existing, err := readSecretKey(ctx, r, cfg, "read the existing API token",
			SecretName, keyAPIToken, true)
		if err != nil {
			return err
		}
		token = existing
		if token == "" {
			if token, err = newToken(); err != nil {
				return err
			}
			p.progress("Generated an API token; read it with: %s",
				APITokenCommand(cfg.ClusterName, cfg.Namespace))
		} else {
			p.progress("Keeping the API token of Secret %s.", SecretName)
		}
		r.addSecrets(token)
	}

	data := map[string]string{keyDatabaseURL: databaseURL, keyAPIToken: token}
	optional := map[string]string{
		keyGitHubToken:     cfg.Secrets.GitHubToken,
		keyGitHubAppKeyPEM: cfg.Secrets.GitHubAppPrivateKey,
		keyOpenAIAPIKey:    cfg.Secrets.OpenAIAPIKey,
	}
	for key, value := range optional {
		if value != "" {
			data[key] = value
		}
	}

	p.progress("Applying Secret %s...", SecretName)
	manifest, err := secretManifest(cfg.Namespace, data)
	if err != nil {
		return err
	}
	_, err = r.run(ctx, command{step: "apply the application Secret", tool: "kubectl",
		args: applyArgs(cfg), stdin: manifest})
	return err
}

// secretManifest returns the Secret as JSON, its values base64-encoded.
func secretManifest(namespace string, values map[string]string) ([]byte, error) {
	data := make(map[string]string, len(values))
	for key, value := range values {
		data[key] = base64.StdEncoding.EncodeToString([]byte(value))
	}
	manifest := map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"type":       "Opaque",
		"metadata":   map[string]any{"name": SecretName, "namespace": namespace},
		"data":       data,
	}
	out, err := json.Marshal(manifest)
	if err != nil {
		return nil, fmt.Errorf("encode the Secret manifest: %w", err)
	}
	return out, nil
}

// newToken returns 32 random bytes as hex, like openssl rand -hex 32.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate an API token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// APITokenCommand returns the shell command that prints the API token
// of the preview's Secret.
func APITokenCommand(cluster, namespace string) string {
	return fmt.Sprintf("kubectl --context %s --namespace %s get secret %s "+
		"-o jsonpath='{.data.%s}' | base64 -d", kubeContext(cluster), namespace, SecretName,
		keyAPIToken)
}

// installChart installs or upgrades the Ghillie release, with the
// values of ChartValues on helm's standard input.
func (p *Preview) installChart(ctx context.Context, r *runner, cfg Config, chart string) error {
	values, err := json.Marshal(ChartValues(cfg))
	if err != nil {
		return fmt.Errorf("encode the chart values: %w", err)
	}

	args := []string{"upgrade", "--install", ReleaseName, chart, "--namespace", cfg.Namespace,
		"--kube-context", kubeContext(cfg.ClusterName), "--values", "-"}
	if cfg.Wait {
		args = append(args, "--wait", "--timeout", cfg.Timeout.String())
	}
	if cfg.Profile == "api-only" && cfg.BackgroundWorkers {
		p.progress("Installing the Ghillie chart with profile %s and a worker for queued "+
			"runs...", cfg.Profile)
	} else {
		p.progress("Installing the Ghillie chart with profile %s...", cfg.Profile)
	}
	_, err = r.run(ctx, command{step: "install the Ghillie chart", tool: "helm", args: args,
		stdin: values})
	return err
}

// waitReady waits for the release's Deployments and then for GET
// /health through the load balancer.
func (p *Preview) waitReady(ctx context.Context, r *runner, cfg Config, baseURL string) error {
	for _, name := range deployments(cfg) {
		p.progress("Waiting for deployment %s...", name)
		_, err := r.run(ctx, command{step: "wait for deployment " + name, tool: "kubectl",
			args: kubectl(cfg, "rollout", "status", "deployment/"+name,
				"--namespace", cfg.Namespace, "--timeout="+cfg.Timeout.String())})
		if err != nil {
			return err
		}
	}

	p.progress("Checking %s/health...", baseURL)
	return p.waitHealthy(ctx, baseURL+"/health")
}
