package stack

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Defaults of Config and of the commands' flags.
const (
	DefaultClusterName = "ghillie-local"
	DefaultNamespace   = "ghillie"
	DefaultProfile     = "api-only"
	DefaultImage       = "ghillie:local"
	DefaultTimeout     = 10 * time.Minute
)

// Profiles lists the chart profiles a preview can run, as the chart's
// values.yaml describes them.
var Profiles = []string{"api-only", "ingestion-worker", "reporting-worker"}

// Names of what Up creates in the cluster.
const (
	// ReleaseName is the Helm release of the Ghillie chart. Its
	// Deployments are ReleaseName-server and ReleaseName-worker.
	ReleaseName = "ghillie"

	// SecretName is the Secret with the application's credentials,
	// which the chart reads as its existingSecret.
	SecretName = "ghillie"

	// DatabaseCluster is the CloudNativePG Cluster of the preview's
	// PostgreSQL. The operator keeps its connection URI in the Secret
	// DatabaseCluster-app.
	DatabaseCluster = "pg-ghillie"

	// ChartPath is the chart's folder below the source tree.
	ChartPath = "deploy/helm/ghillie"
)

// The CloudNativePG operator chart and where it is installed.
const (
	cnpgRepoName  = "cnpg"
	cnpgRepoURL   = "https://cloudnative-pg.github.io/charts"
	cnpgChart     = "cnpg/cloudnative-pg"
	cnpgRelease   = "cnpg"
	cnpgNamespace = "cnpg-system"
)

// Keys of the application Secret, which are the chart's default
// secrets.keys and the variables the pods read.
const (
	keyDatabaseURL     = "GHILLIE_DATABASE_URL"
	keyAPIToken        = "GHILLIE_API_TOKEN"
	keyOpenAIAPIKey    = "GHILLIE_OPENAI_API_KEY"
	keyGitHubToken     = "GHILLIE_GITHUB_TOKEN"
	keyGitHubAppKeyPEM = "GHILLIE_GITHUB_APP_PRIVATE_KEY"
)

// Forms of names that reach the tools' arguments. A cluster name
// becomes part of Docker container names and the kube context
// k3d-NAME, and k3d rejects names longer than 32 characters. A
// namespace is a DNS label. An image is a reference without a digest.
var (
	clusterNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)
	namespacePattern   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	imagePattern       = regexp.MustCompile(
		`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$`)
	numericPattern = regexp.MustCompile(`^[0-9]+$`)
)

// ErrPortMismatch is returned by Up when an ingress port was requested
// for a cluster that exists with another port.
var ErrPortMismatch = errors.New("ingress port differs from the existing cluster's")

// Config describes the preview that Up creates or updates.
type Config struct {
	// ClusterName is the k3d cluster, DefaultClusterName when empty.
	ClusterName string

	// Namespace holds the database, the Secret and the release,
	// DefaultNamespace when empty.
	Namespace string

	// Profile is the chart's profile, DefaultProfile when empty.
	Profile string

	// BackgroundWorkers adds to profile api-only a worker with no
	// schedules, so that the runs queued through the API are worked. The
	// other profiles run a worker already, so it changes nothing there.
	BackgroundWorkers bool

	// Image is the image built and imported, as NAME:TAG;
	// DefaultImage when empty, and tag latest when it has none.
	Image string

	// IngressPort is the loopback port of the cluster's load balancer.
	// Zero reuses the existing cluster's port or picks a free one.
	IngressPort int

	// SourceDir is the Ghillie source tree, with the Dockerfile and the
	// chart in ChartPath. Required.
	SourceDir string

	// SkipBuild skips docker build. The image, already built, is still
	// imported into the cluster.
	SkipBuild bool

	// Wait waits for the release's Deployments and checks GET /health.
	// The database is waited for either way, because the application
	// Secret needs its connection URI.
	Wait bool

	// Timeout bounds each wait for the operator, the database and the
	// release; DefaultTimeout when zero.
	Timeout time.Duration

	// GitHub and Model are the non-secret settings of GitHub access and
	// the status model.
	GitHub GitHub
	Model  Model

	// Secrets are the credentials that go into the application Secret.
	Secrets Secrets
}

// GitHub is the worker's GitHub access, as the chart's github values.
type GitHub struct {
	// Auth is token, app or none; none when empty.
	Auth string

	// AppID and InstallationID identify a GitHub App, for Auth app.
	AppID          string
	InstallationID string

	// APIURL is the API root; empty is the chart's default.
	APIURL string
}

// Model is the status model, as the chart's statusModel values. Empty
// and nil fields take the chart's defaults.
type Model struct {
	// Backend is mock or openai; mock when empty.
	Backend string

	Endpoint    string
	Name        string
	Temperature *float64
	MaxTokens   *int
}

// Secrets are credentials. They reach the cluster only in the Secret
// manifest on kubectl's standard input, and are redacted from every
// output that Up prints or returns.
type Secrets struct {
	// APIToken is the server's bearer token. When empty, Up keeps the
	// token of an existing Secret or generates one.
	APIToken string

	GitHubToken         string
	GitHubAppPrivateKey string
	OpenAIAPIKey        string
}

// values lists the secrets that are set.
func (s Secrets) values() []string {
	return []string{s.APIToken, s.GitHubToken, s.GitHubAppPrivateKey, s.OpenAIAPIKey}
}

// withDefaults returns the configuration with its empty fields filled.
func (c Config) withDefaults() Config {
	if c.ClusterName == "" {
		c.ClusterName = DefaultClusterName
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Profile == "" {
		c.Profile = DefaultProfile
	}
	if c.Image == "" {
		c.Image = DefaultImage
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.GitHub.Auth == "" {
		c.GitHub.Auth = "none"
	}
	if c.Model.Backend == "" {
		c.Model.Backend = "mock"
	}
	return c
}

// Validate checks the configuration, after filling the empty fields
// with their defaults, and returns an error that names the first
// invalid field, its value and the fix.
func (c Config) Validate() error {
	c = c.withDefaults()

	if err := CheckClusterName(c.ClusterName); err != nil {
		return err
	}
	if err := CheckNamespace(c.Namespace); err != nil {
		return err
	}
	if err := CheckProfile(c.Profile); err != nil {
		return err
	}
	if _, _, err := ParseImage(c.Image); err != nil {
		return err
	}
	if c.IngressPort < 0 || c.IngressPort > 65535 {
		return fmt.Errorf("invalid ingress port %d: use a port from 1 to 65535, or 0 to pick a "+
			"free one", c.IngressPort)
	}
	if c.SourceDir == "" {
		return errors.New("missing source folder: give the Ghillie source tree, with its " +
			"Dockerfile and " + ChartPath)
	}
	if c.Timeout < time.Second {
		return fmt.Errorf("invalid timeout %s: use at least 1s", c.Timeout)
	}
	if err := c.checkGitHub(); err != nil {
		return err
	}
	return c.checkModel()
}

func (c Config) checkGitHub() error {
	g := c.GitHub
	switch g.Auth {
	case "none":
		if c.Profile == "ingestion-worker" {
			return errors.New("profile ingestion-worker needs GitHub access: set " +
				"GHILLIE_GITHUB_TOKEN, or the GitHub App variables GHILLIE_GITHUB_APP_ID, " +
				"GHILLIE_GITHUB_APP_INSTALLATION_ID and GHILLIE_GITHUB_APP_PRIVATE_KEY")
		}
	case "token":
		if c.Secrets.GitHubToken == "" {
			return errors.New("GitHub auth is token but the token is empty: set GHILLIE_GITHUB_TOKEN")
		}
	case "app":
		if !numericPattern.MatchString(g.AppID) || !numericPattern.MatchString(g.InstallationID) {
			return fmt.Errorf("invalid GitHub App ids %q and %q: use the numeric app and "+
				"installation ids", g.AppID, g.InstallationID)
		}
		if c.Secrets.GitHubAppPrivateKey == "" {
			return errors.New("GitHub auth is app but the private key is empty: set " +
				"GHILLIE_GITHUB_APP_PRIVATE_KEY or GHILLIE_GITHUB_APP_PRIVATE_KEY_PATH")
		}
	default:
		return fmt.Errorf("invalid GitHub auth %q: use token, app or none", g.Auth)
	}
	return nil
}

func (c Config) checkModel() error {
	switch c.Model.Backend {
	case "mock":
		return nil
	case "openai":
		if c.Secrets.OpenAIAPIKey == "" {
			return errors.New("status model backend openai needs an API key: set GHILLIE_OPENAI_API_KEY")
		}
		return nil
	}
	return fmt.Errorf("invalid status model backend %q: use mock or openai", c.Model.Backend)
}

// CheckClusterName rejects a k3d cluster name that k3d or Docker would
// reject.
func CheckClusterName(name string) error {
	if !clusterNamePattern.MatchString(name) {
		return fmt.Errorf("invalid cluster name %q: use 1 to 32 lowercase letters, digits and "+
			"hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}

// CheckNamespace rejects a name that is not a Kubernetes namespace.
func CheckNamespace(name string) error {
	if !namespacePattern.MatchString(name) {
		return fmt.Errorf("invalid namespace %q: use 1 to 63 lowercase letters, digits and "+
			"hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}

// CheckProfile rejects a profile the chart does not have.
func CheckProfile(profile string) error {
	for _, p := range Profiles {
		if p == profile {
			return nil
		}
	}
	return fmt.Errorf("invalid profile %q: use %s", profile, strings.Join(Profiles, ", "))
}

// ParseImage splits an image reference into the repository and the
// tag, which is latest when the reference has none. A reference with a
// digest is rejected, because k3d imports images by tag.
func ParseImage(image string) (repository, tag string, err error) {
	if !imagePattern.MatchString(image) {
		return "", "", fmt.Errorf("invalid image %q: use NAME:TAG in lowercase, such as %s, "+
			"without a digest", image, DefaultImage)
	}

	// A colon after the last slash starts the tag; one before it
	// belongs to a registry's port.
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image[:colon], image[colon+1:], nil
	}
	return image, "latest", nil
}

// kubeContext is the context k3d adds to the default kubeconfig for a
// cluster.
func kubeContext(cluster string) string { return "k3d-" + cluster }

// runsWorker reports whether the release has a worker Deployment.
func (c Config) runsWorker() bool {
	return c.Profile != "api-only" || c.BackgroundWorkers
}

// deployments lists the Deployments the chart runs for cfg.
func deployments(cfg Config) []string {
	names := []string{ReleaseName + "-server"}
	if cfg.runsWorker() {
		names = append(names, ReleaseName+"-worker")
	}
	return names
}

// ChartValues returns the values that Up passes to the Ghillie chart
// for cfg. They run the imported image, which is never pulled, in one
// server replica behind a LoadBalancer Service on port 80. k3s's service
// load balancer publishes that port on the cluster's load balancer. The
// pods read the Secret SecretName, and no secret is among the values.
// worker.inApiOnlyProfile follows BackgroundWorkers, false included, so
// the values state the choice instead of leaning on the chart's default.
func ChartValues(cfg Config) map[string]any {
	cfg = cfg.withDefaults()
	repository, tag, _ := ParseImage(cfg.Image)

	github := map[string]any{"auth": cfg.GitHub.Auth}
	if cfg.GitHub.Auth == "app" {
		github["appID"] = cfg.GitHub.AppID
		github["installationID"] = cfg.GitHub.InstallationID
	}
	if cfg.GitHub.APIURL != "" {
		github["apiURL"] = cfg.GitHub.APIURL
	}

	model := map[string]any{"backend": cfg.Model.Backend}
	openai := map[string]any{}
	if cfg.Model.Endpoint != "" {
		openai["endpoint"] = cfg.Model.Endpoint
	}
	if cfg.Model.Name != "" {
		openai["model"] = cfg.Model.Name
	}
	if cfg.Model.Temperature != nil {
		openai["temperature"] = *cfg.Model.Temperature
	}
	if cfg.Model.MaxTokens != nil {
		openai["maxTokens"] = *cfg.Model.MaxTokens
	}
	if len(openai) > 0 {
		model["openai"] = openai
	}

	return map[string]any{
		"profile": cfg.Profile,
		"image": map[string]any{
			"repository": repository,
			"tag":        tag,
			"pullPolicy": "Never",
		},
		"secrets":     map[string]any{"existingSecret": SecretName},
		"server":      map[string]any{"replicas": 1},
		"worker":      map[string]any{"inApiOnlyProfile": cfg.BackgroundWorkers},
		"service":     map[string]any{"type": "LoadBalancer", "port": 80},
		"github":      github,
		"statusModel": model,
	}
}
