package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/stack"
	"github.com/ghillie/ghillie/status"
)

// fallbackAPIBaseURL is the API that 'stack status' probes when neither
// GHILLIE_API_BASE_URL nor the state file names one: 'ghillie serve'
// with its defaults.
const fallbackAPIBaseURL = "http://127.0.0.1:8080"

// clusterFlags are the flags that name the preview's cluster and
// namespace.
type clusterFlags struct {
	cluster   string
	namespace string

	// hasNamespace is set when the command takes --namespace.
	hasNamespace bool
}

func (f *clusterFlags) add(cmd *cobra.Command, namespace bool) {
	f.hasNamespace = namespace
	cmd.Flags().StringVar(&f.cluster, "cluster-name", "",
		"k3d cluster (env GHILLIE_K3D_CLUSTER, default "+stack.DefaultClusterName+")")
	if namespace {
		cmd.Flags().StringVar(&f.namespace, "namespace", "",
			"Kubernetes namespace of the release (env GHILLIE_K3D_NAMESPACE, default "+
				stack.DefaultNamespace+")")
	}
}

// resolve applies the environment and the defaults, and checks the
// names. The namespace is empty for a command without --namespace.
func (f *clusterFlags) resolve(a *app) (cluster, namespace string, err error) {
	cluster, source := a.setting(f.cluster, "--cluster-name", "GHILLIE_K3D_CLUSTER",
		stack.DefaultClusterName)
	if err := stack.CheckClusterName(cluster); err != nil {
		return "", "", usageError{fmt.Errorf("%s: %w", source, err)}
	}
	if !f.hasNamespace {
		return cluster, "", nil
	}

	namespace, source = a.setting(f.namespace, "--namespace", "GHILLIE_K3D_NAMESPACE",
		stack.DefaultNamespace)
	if err := stack.CheckNamespace(namespace); err != nil {
		return "", "", usageError{fmt.Errorf("%s: %w", source, err)}
	}
	return cluster, namespace, nil
}

func (a *app) stackCommand() *cobra.Command {
	return group("stack", "Run a local Kubernetes preview of Ghillie on k3d",
		a.stackUpCommand(), a.stackDownCommand(), a.stackStatusCommand(), a.stackLogsCommand())
}

// preview returns the stack driver of a command, with its progress on
// standard error.
func (a *app) preview() (*stack.Preview, error) {
	path, err := stack.StatePath(a.env)
	if err != nil {
		return nil, err
	}
	return &stack.Preview{Progress: a.stderr, Logger: a.logger, StatePath: path}, nil
}

// stackError turns the failure of an external tool into ExitBackend,
// after printing it, and a port that contradicts the cluster into a
// usage error.
func (a *app) stackError(err error) error {
	var missing *stack.MissingToolsError
	var step *stack.StepError
	switch {
	case errors.As(err, &missing), errors.As(err, &step):
		fmt.Fprintf(a.stderr, "ghillie: %v\n", err)
		return &exitError{code: ExitBackend}
	case errors.Is(err, stack.ErrPortMismatch):
		return usageError{err}
	}
	return err
}

// upFlags are the flags of 'stack up'.
type upFlags struct {
	clusterFlags
	profile     string
	ingressPort string
	image       string
	sourceDir   string
	skipBuild   bool
	wait        bool
	noWait      bool
	timeout     time.Duration

	modelBackend      string
	gitHubTokenEnv    string
	openAIKeyEnv      string
	backgroundWorkers bool
}

func (a *app) stackUpCommand() *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create or update the preview: cluster, PostgreSQL, image and release",
		Long: "Create a k3d cluster whose load balancer listens on a loopback port, install the\n" +
			"CloudNativePG operator and a PostgreSQL cluster, build the image with docker\n" +
			"build and import it, write the Secret 'ghillie' and install the chart in\n" +
			"deploy/helm/ghillie. It then waits for the pods and GET /health, prints the URL\n" +
			"and saves it as api_base_url in ghillie/state.json below the user's\n" +
			"configuration folder. Running it again reuses the cluster and its port, and\n" +
			"upgrades the release.\n\n" +
			"It needs docker, k3d, kubectl and helm on PATH, and runs in a clone of the\n" +
			"Ghillie repository.\n\n" +
			"The status model is --provider-model-backend, else GHILLIE_STATUS_MODEL_BACKEND,\n" +
			"else mock. The Secret takes the GitHub token from the variable that\n" +
			"--provider-github-token-env names (GHILLIE_GITHUB_TOKEN by default), or the\n" +
			"GHILLIE_GITHUB_APP_* variables; the OpenAI API key, with backend openai, from\n" +
			"the variable that --provider-openai-key-env names (GHILLIE_OPENAI_API_KEY by\n" +
			"default); GHILLIE_API_TOKEN, generated when unset; and the database URL. A\n" +
			"variable named on the command line must be set. Credentials are never flags,\n" +
			"which ps and shell history would show: they reach kubectl only on standard\n" +
			"input and are never printed.\n\n" +
			"Profile api-only runs the server alone, so runs queued with POST\n" +
			"/ingestion/runs or POST /reports/runs, as 'ghillie --api-base-url URL ingest\n" +
			"run' sends them, wait. --background-workers adds a worker that works them and\n" +
			"schedules nothing. The other profiles run a worker already.\n\n" +
			"It exits with status 2 for an invalid flag or variable, and with status 4 when\n" +
			"a tool is missing or fails.",
		Example: "  ghillie stack up\n" +
			"  GHILLIE_GITHUB_TOKEN=github_pat_... ghillie stack up --profile ingestion-worker\n" +
			"  ghillie stack up --provider-github-token-env GITHUB_TOKEN --background-workers\n" +
			"  ghillie stack up --provider-model-backend openai --provider-openai-key-env OPENAI_API_KEY",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.stackUp(cmd, &f)
		},
	}

	f.add(cmd, true)
	flags := cmd.Flags()
	flags.StringVar(&f.profile, "profile", "",
		"chart profile: api-only, ingestion-worker or reporting-worker\n"+
			"(env GHILLIE_PROFILE, default "+stack.DefaultProfile+")")
	flags.StringVar(&f.ingressPort, "ingress-port", "",
		"loopback port of the cluster's load balancer, for a new cluster\n"+
			"(env GHILLIE_K3D_PORT, default a free port, or the existing cluster's)")
	flags.StringVar(&f.image, "image", "",
		"image to build and import, as NAME:TAG (env GHILLIE_IMAGE, default "+stack.DefaultImage+")")
	flags.StringVar(&f.sourceDir, "source-dir", "",
		"Ghillie source tree with the Dockerfile and the chart\n"+
			"(default the clone that contains the working directory)")
	flags.BoolVar(&f.skipBuild, "skip-build", false,
		"import the image as it is, without docker build")
	flags.BoolVar(&f.wait, "wait", true, "wait for the pods and check GET /health")
	flags.BoolVar(&f.noWait, "no-wait", false,
		"return once the chart is installed, without waiting for the pods")
	flags.DurationVar(&f.timeout, "timeout", stack.DefaultTimeout,
		"time each wait for the operator, PostgreSQL and the pods may take")
	flags.StringVar(&f.modelBackend, flagModelBackend, "",
		"status model of the preview: mock or openai\n"+
			"(env "+status.EnvBackend+", default mock)")
	flags.StringVar(&f.gitHubTokenEnv, flagGitHubTokenEnv, githubapi.EnvToken,
		"environment variable `NAME` to read the GitHub token from, such as\n"+
			"GITHUB_TOKEN; when given, it must be set")
	flags.StringVar(&f.openAIKeyEnv, flagOpenAIKeyEnv, status.EnvOpenAIAPIKey,
		"environment variable `NAME` to read the OpenAI API key from, with\n"+
			"backend openai; when given, it must be set")
	flags.BoolVar(&f.backgroundWorkers, "background-workers", false,
		"with profile api-only, also run a worker with no schedules for the runs\n"+
			"queued through the API (no change with the other profiles, which have one)")
	return cmd
}

func (a *app) stackUp(cmd *cobra.Command, f *upFlags) error {
	cfg, err := a.upConfig(cmd, f)
	if err != nil {
		return err
	}
	p, err := a.preview()
	if err != nil {
		return err
	}

	state, err := p.Up(cmd.Context(), cfg)
	if err != nil {
		return a.stackError(err)
	}

	tokenCommand := stack.APITokenCommand(cfg.ClusterName, cfg.Namespace)
	if a.output != "table" {
		return a.render(upResult{APIBaseURL: state.APIBaseURL, Source: state.Source,
			ClusterName: state.ClusterName, Namespace: state.Namespace, Profile: state.Profile,
			UpdatedAt: state.UpdatedAt, Ready: cfg.Wait, TokenCommand: tokenCommand}, table{})
	}

	if cfg.Wait {
		fmt.Fprintln(a.stdout, "Preview environment ready!")
	} else {
		fmt.Fprintln(a.stdout, "Preview environment deployed; its pods may still be starting "+
			"(see 'ghillie stack status').")
	}
	fmt.Fprintf(a.stdout, "URL: %s/\n", state.APIBaseURL)
	fmt.Fprintf(a.stdout, "API token: %s\n", tokenCommand)
	return nil
}

// upResult is the JSON and YAML output of 'stack up': the fields of the
// state file, whether the pods were waited for, and the command that
// prints the API token.
type upResult struct {
	APIBaseURL   string    `json:"api_base_url"`
	Source       string    `json:"source"`
	ClusterName  string    `json:"cluster_name"`
	Namespace    string    `json:"namespace"`
	Profile      string    `json:"profile"`
	UpdatedAt    time.Time `json:"updated_at"`
	Ready        bool      `json:"ready"`
	TokenCommand string    `json:"api_token_command"`
}

// upConfig reads the flags and the environment into the preview's
// configuration, and checks them before any tool runs.
func (a *app) upConfig(cmd *cobra.Command, f *upFlags) (stack.Config, error) {
	cluster, namespace, err := f.resolve(a)
	if err != nil {
		return stack.Config{}, err
	}
	if cmd.Flags().Changed("wait") && f.noWait {
		return stack.Config{}, usageError{errors.New("--wait and --no-wait are both given: give one")}
	}

	cfg := stack.Config{ClusterName: cluster, Namespace: namespace, SkipBuild: f.skipBuild,
		Wait: f.wait && !f.noWait, Timeout: f.timeout, BackgroundWorkers: f.backgroundWorkers}
	var source string
	cfg.Profile, source = a.setting(f.profile, "--profile", "GHILLIE_PROFILE", stack.DefaultProfile)
	if err := stack.CheckProfile(cfg.Profile); err != nil {
		return cfg, usageError{fmt.Errorf("%s: %w", source, err)}
	}
	if f.backgroundWorkers && cfg.Profile != "api-only" {
		fmt.Fprintf(a.stderr, "Profile %s runs a worker already, which works the queued runs: "+
			"--background-workers changes nothing.\n", cfg.Profile)
	}
	cfg.Image, source = a.setting(f.image, "--image", "GHILLIE_IMAGE", stack.DefaultImage)
	if _, _, err := stack.ParseImage(cfg.Image); err != nil {
		return cfg, usageError{fmt.Errorf("%s: %w", source, err)}
	}
	if cfg.IngressPort, err = a.ingressPort(f.ingressPort); err != nil {
		return cfg, err
	}
	if f.timeout < time.Second {
		return cfg, usageError{fmt.Errorf("invalid --timeout %s: use at least 1s, such as 10m",
			f.timeout)}
	}
	if cfg.SourceDir, err = sourceDir(f.sourceDir); err != nil {
		return cfg, err
	}

	token, err := newCredentialVariable(cmd, flagGitHubTokenEnv, f.gitHubTokenEnv, "GITHUB_TOKEN")
	if err != nil {
		return cfg, err
	}
	key, err := newCredentialVariable(cmd, flagOpenAIKeyEnv, f.openAIKeyEnv, "OPENAI_API_KEY")
	if err != nil {
		return cfg, err
	}
	if err := a.upGitHub(&cfg, token); err != nil {
		return cfg, err
	}
	if err := a.upModel(&cfg, f.modelBackend, key); err != nil {
		return cfg, err
	}
	cfg.Secrets.APIToken = strings.TrimSpace(a.env("GHILLIE_API_TOKEN"))
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// ingressPort reads --ingress-port or GHILLIE_K3D_PORT; 0 when neither
// is set.
func (a *app) ingressPort(flag string) (int, error) {
	raw, source := a.setting(strings.TrimSpace(flag), "--ingress-port", "GHILLIE_K3D_PORT", "")
	if raw == "" {
		return 0, nil
	}
	port, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || port < 1 || port > 65535 {
		return 0, usageError{fmt.Errorf("invalid %s %q: use a port number from 1 to 65535",
			source, raw)}
	}
	return port, nil
}

// sourceDir returns the flag's folder, or the nearest folder at or
// above the working directory that has the chart.
func sourceDir(flag string) (string, error) {
	if flag != "" {
		dir, err := filepath.Abs(flag)
		if err != nil {
			return "", usageError{fmt.Errorf("invalid --source-dir %q: %w", flag, err)}
		}
		if _, err := os.Stat(filepath.Join(dir, stack.ChartPath, "Chart.yaml")); err != nil {
			return "", usageError{fmt.Errorf("invalid --source-dir %q: it has no chart in %s: "+
				"give the folder of a clone of the Ghillie repository", flag, stack.ChartPath)}
		}
		return dir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, stack.ChartPath, "Chart.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", usageError{errors.New("the working directory is not in a clone of the " +
				"Ghillie repository, which has the chart in " + stack.ChartPath +
				": run the command in a clone, or give one with --source-dir")}
		}
		dir = parent
	}
}

func (a *app) stackDownCommand() *cobra.Command {
	var f clusterFlags
	var purge bool
	var image string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the preview's cluster and its state file",
		Long: "Delete the k3d cluster with everything in it, and ghillie/state.json when it\n" +
			"names the cluster. A cluster that does not exist is not an error.\n" +
			"--purge-images also removes the image from Docker.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cluster, _, err := f.resolve(a)
			if err != nil {
				return err
			}
			image, source := a.setting(image, "--image", "GHILLIE_IMAGE", stack.DefaultImage)
			if _, _, err := stack.ParseImage(image); err != nil {
				return usageError{fmt.Errorf("%s: %w", source, err)}
			}
			p, err := a.preview()
			if err != nil {
				return err
			}

			result, err := p.Down(cmd.Context(), stack.DownConfig{ClusterName: cluster,
				PurgeImages: purge, Image: image})
			if err != nil {
				return a.stackError(err)
			}
			return a.printDown(result, p.StatePath)
		},
	}
	f.add(cmd, false)
	cmd.Flags().BoolVar(&purge, "purge-images", false, "also remove the image from Docker")
	cmd.Flags().StringVar(&image, "image", "",
		"image that --purge-images removes (env GHILLIE_IMAGE, default "+stack.DefaultImage+")")
	return cmd
}

func (a *app) printDown(result stack.DownResult, statePath string) error {
	if a.output != "table" {
		return a.render(result, table{})
	}
	if result.ClusterDeleted {
		fmt.Fprintf(a.stdout, "Deleted k3d cluster %s.\n", result.ClusterName)
	} else {
		fmt.Fprintf(a.stdout, "k3d cluster %s does not exist; nothing to delete.\n",
			result.ClusterName)
	}
	if result.StateRemoved {
		fmt.Fprintf(a.stdout, "Removed %s.\n", statePath)
	}
	switch {
	case result.ImageRemoved:
		fmt.Fprintf(a.stdout, "Removed image %s.\n", result.Image)
	case result.Image != "":
		fmt.Fprintf(a.stdout, "Image %s was not in Docker.\n", result.Image)
	}
	return nil
}

func (a *app) stackStatusCommand() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the preview's cluster, pods and API health",
		Long: "Show whether the k3d cluster exists and runs, the pods of the namespace, and the\n" +
			"API URL with its source: --api-base-url (flag), else GHILLIE_API_BASE_URL (env),\n" +
			"else api_base_url of ghillie/state.json (state), else " + fallbackAPIBaseURL + "\n" +
			"(fallback). It then\n" +
			"sends GET /health and GET /ready to that URL. It exits with status 1 when the\n" +
			"cluster does not run or a probe does not answer 200 OK.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.stackStatus(cmd.Context(), &f)
		},
	}
	f.add(cmd, true)
	return cmd
}

func (a *app) stackStatus(ctx context.Context, f *clusterFlags) error {
	cluster, namespace, err := f.resolve(a)
	if err != nil {
		return err
	}
	p, err := a.preview()
	if err != nil {
		return err
	}
	apiURL, source, err := a.effectiveAPIURL(p.StatePath)
	if err != nil {
		return err
	}

	report, err := p.Status(ctx, stack.StatusConfig{ClusterName: cluster, Namespace: namespace,
		APIBaseURL: apiURL, APIBaseURLSource: source})
	if err != nil {
		return a.stackError(err)
	}
	if err := a.printStatus(report); err != nil {
		return err
	}
	if !report.Healthy() {
		return &exitError{code: ExitFailure}
	}
	return nil
}

// effectiveAPIURL returns the API URL that commands calling the API
// use, and its source: flag, env, state or fallback.
func (a *app) effectiveAPIURL(statePath string) (string, string, error) {
	raw, source := strings.TrimSpace(a.apiBaseURL), "flag"
	if raw == "" {
		raw, source = strings.TrimSpace(a.env("GHILLIE_API_BASE_URL")), "env"
	}
	if raw == "" {
		state, err := stack.LoadState(statePath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			raw, source = fallbackAPIBaseURL, "fallback"
		case err != nil:
			return "", "", err
		default:
			raw, source = state.APIBaseURL, "state"
		}
	}

	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", usageError{fmt.Errorf("invalid API base URL %q from %s: use an http or "+
			"https URL such as %s", raw, source, fallbackAPIBaseURL)}
	}
	return strings.TrimRight(raw, "/"), source, nil
}

func (a *app) printStatus(r stack.Report) error {
	if a.output != "table" {
		return a.render(r, table{})
	}

	clusterState := "does not exist; create it with 'ghillie stack up'"
	switch {
	case r.ClusterRunning:
		clusterState = fmt.Sprintf("running, port %d", r.IngressPort)
	case r.ClusterExists:
		clusterState = "stopped; start it with 'ghillie stack up'"
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Cluster:\t%s (%s)\n", r.ClusterName, clusterState)
	fmt.Fprintf(tw, "Namespace:\t%s\n", r.Namespace)
	fmt.Fprintf(tw, "API URL:\t%s (%s)\n", r.APIBaseURL, r.APIBaseURLSource)
	fmt.Fprintf(tw, "GET /health:\t%s\n", r.Health)
	fmt.Fprintf(tw, "GET /ready:\t%s\n", r.Ready)
	if err := tw.Flush(); err != nil {
		return err
	}
	if !r.ClusterRunning {
		return nil
	}

	fmt.Fprintln(a.stdout)
	if len(r.Pods) == 0 {
		_, err := fmt.Fprintf(a.stdout, "No pods in namespace %s.\n", r.Namespace)
		return err
	}
	pods := table{header: []string{"POD", "READY", "STATUS", "RESTARTS"}}
	for _, pod := range r.Pods {
		pods.rows = append(pods.rows, []string{pod.Name, pod.Ready, pod.Status,
			strconv.Itoa(pod.Restarts)})
	}
	return writeTable(a.stdout, pods)
}

func (a *app) stackLogsCommand() *cobra.Command {
	var f clusterFlags
	var follow bool
	var since string
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Print the logs of the release's pods",
		Long: "Print the logs of every container of the release's pods with kubectl logs, each\n" +
			"line prefixed with its pod and container.",
		Example: "  ghillie stack logs --since 15m --follow",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cluster, namespace, err := f.resolve(a)
			if err != nil {
				return err
			}
			if since != "" {
				if d, err := time.ParseDuration(since); err != nil || d <= 0 {
					return usageError{fmt.Errorf("invalid --since %q: use a positive duration "+
						"such as 10m or 2h", since)}
				}
			}
			// The logs need no state file, so a missing HOME is no error.
			p := &stack.Preview{Progress: a.stderr, Logger: a.logger}
			err = p.Logs(cmd.Context(), stack.LogsConfig{ClusterName: cluster,
				Namespace: namespace, Follow: follow, Since: since}, a.stdout, a.stderr)
			return a.stackError(err)
		},
	}
	f.add(cmd, true)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream new lines until interrupted")
	cmd.Flags().StringVar(&since, "since", "",
		"only lines newer than this duration, such as 10m (default all)")
	return cmd
}
