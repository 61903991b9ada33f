// Package helm_test renders the Helm chart in ghillie/ with Helm's own
// template engine and checks the manifests, so that no helm binary or
// cluster is needed.
package helm_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/ghillie/ghillie/adapters/stack"
)

const (
	chartDir    = "ghillie"
	releaseName = "ghillie"
	nonRootUID  = 65532
)

// secretVariables are the variables whose values are credentials: the
// database URL carries the password.
var secretVariables = []string{
	"GHILLIE_DATABASE_URL",
	"GHILLIE_API_TOKEN",
	"GHILLIE_OPENAI_API_KEY",
	"GHILLIE_GITHUB_TOKEN",
	"GHILLIE_GITHUB_APP_PRIVATE_KEY",
}

// manifests holds the objects of one rendering, by kind and name.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	services    map[string]*corev1.Service
	ingresses   map[string]*networkingv1.Ingress
	text        string
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart %s: %v", chartDir, err)
	}
	return c
}

// render merges overrides into the chart's values, validates them against
// values.schema.json as `helm install` does, and renders the templates.
func render(t *testing.T, overrides map[string]any) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	options := common.ReleaseOptions{Name: releaseName, Namespace: "ghillie", IsInstall: true}
	values, err := chartutil.ToRenderValuesWithSchemaValidation(c, overrides, options, nil, false)
	if err != nil {
		return nil, err
	}
	return engine.Engine{}.RenderWithContext(t.Context(), c, values)
}

// mustRender renders and parses the manifests, failing the test on any
// error. Parsing is strict, so a field name Kubernetes does not know fails.
func mustRender(t *testing.T, overrides map[string]any) manifests {
	t.Helper()
	files, err := render(t, overrides)
	if err != nil {
		t.Fatalf("render with %v: %v", overrides, err)
	}

	m := manifests{
		deployments: map[string]*appsv1.Deployment{},
		configMaps:  map[string]*corev1.ConfigMap{},
		secrets:     map[string]*corev1.Secret{},
		services:    map[string]*corev1.Service{},
		ingresses:   map[string]*networkingv1.Ingress{},
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)

	var text strings.Builder
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		text.WriteString(files[name])
		for _, doc := range strings.Split(files[name], "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var meta struct{ Kind string }
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s is not YAML: %v\n%s", name, err, doc)
			}
			switch meta.Kind {
			case "":
				// A template whose condition is false renders only comments.
			case "Deployment":
				addObject(t, name, doc, m.deployments)
			case "ConfigMap":
				addObject(t, name, doc, m.configMaps)
			case "Secret":
				addObject(t, name, doc, m.secrets)
			case "Service":
				addObject(t, name, doc, m.services)
			case "Ingress":
				addObject(t, name, doc, m.ingresses)
			case "ServiceAccount":
				var sa corev1.ServiceAccount
				if err := yaml.UnmarshalStrict([]byte(doc), &sa); err != nil {
					t.Fatalf("%s: invalid ServiceAccount: %v", name, err)
				}
			default:
				t.Fatalf("%s renders kind %s, which this test does not check", name, meta.Kind)
			}
		}
	}
	m.text = text.String()
	return m
}

// object is a Kubernetes object type that addObject can decode.
type object interface {
	*appsv1.Deployment | *corev1.ConfigMap | *corev1.Secret | *corev1.Service | *networkingv1.Ingress
	GetName() string
}

func addObject[T object](t *testing.T, file, doc string, into map[string]T) {
	t.Helper()
	var obj T
	if err := yaml.UnmarshalStrict([]byte(doc), &obj); err != nil {
		t.Fatalf("%s: invalid object: %v\n%s", file, err, doc)
	}
	if _, ok := into[obj.GetName()]; ok {
		t.Fatalf("%s: a second object named %s", file, obj.GetName())
	}
	into[obj.GetName()] = obj
}

func (m manifests) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, ok := m.deployments[name]
	if !ok {
		t.Fatalf("no Deployment %s; rendered: %v", name, keys(m.deployments))
	}
	return d
}

func keys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// environment returns the variables set in a container: its env entries and
// the data of the ConfigMaps its envFrom names. A variable in both takes
// the env entry, as in Kubernetes.
func (m manifests) environment(t *testing.T, c corev1.Container) map[string]corev1.EnvVar {
	t.Helper()
	vars := map[string]corev1.EnvVar{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Errorf("container %s: envFrom %+v is not a ConfigMap", c.Name, from)
			continue
		}
		cm, ok := m.configMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Fatalf("container %s: envFrom names ConfigMap %s, which the chart does not render",
				c.Name, from.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			vars[k] = corev1.EnvVar{Name: k, Value: v}
		}
	}
	for _, e := range c.Env {
		vars[e.Name] = e
	}
	return vars
}

func container(t *testing.T, d *appsv1.Deployment, name string) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container %s", d.Name, name)
	return corev1.Container{}
}

func requireVariables(t *testing.T, where string, env map[string]corev1.EnvVar, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, ok := env[name]; !ok {
			t.Errorf("%s: variable %s missing; has %v", where, name, keys(env))
		}
	}
}

func checkValue(t *testing.T, where string, env map[string]corev1.EnvVar, name, want string) {
	t.Helper()
	got, ok := env[name]
	if !ok {
		t.Errorf("%s: variable %s missing", where, name)
		return
	}
	if got.ValueFrom != nil || got.Value != want {
		t.Errorf("%s: %s = %q (from %+v), want %q", where, name, got.Value, got.ValueFrom, want)
	}
}

// profiles lists each profile's values and whether it runs a worker.
// The empty profile stands for the chart's default values.
var profiles = []struct {
	profile string
	worker  bool
}{
	{"", false},
	{"api-only", false},
	{"ingestion-worker", true},
	{"reporting-worker", true},
}

func profileName(profile string) string {
	if profile == "" {
		return "defaults"
	}
	return profile
}

func profileValues(profile string) map[string]any {
	if profile == "" {
		return nil
	}
	return map[string]any{"profile": profile}
}

func TestServerProbesAndPorts(t *testing.T) {
	for _, p := range profiles {
		t.Run(profileName(p.profile), func(t *testing.T) {
			m := mustRender(t, profileValues(p.profile))
			server := container(t, m.deployment(t, "ghillie-server"), "server")

			if !slices.Equal(server.Args, []string{"serve"}) {
				t.Errorf("server args = %v, want [serve]", server.Args)
			}
			if len(server.Ports) != 1 || server.Ports[0].Name != "http" || server.Ports[0].ContainerPort != 8080 {
				t.Errorf("server ports = %+v, want one port http on 8080", server.Ports)
			}
			http := intstr.FromString("http")
			for _, probe := range []struct {
				kind  string
				probe *corev1.Probe
				path  string
			}{
				{"liveness", server.LivenessProbe, "/health"},
				{"readiness", server.ReadinessProbe, "/ready"},
			} {
				if probe.probe == nil || probe.probe.HTTPGet == nil {
					t.Errorf("%s probe = %+v, want an HTTP GET", probe.kind, probe.probe)
					continue
				}
				if probe.probe.HTTPGet.Path != probe.path {
					t.Errorf("%s probe path = %q, want %q", probe.kind, probe.probe.HTTPGet.Path, probe.path)
				}
				if probe.probe.HTTPGet.Port != http {
					t.Errorf("%s probe port = %v, want the named port http", probe.kind, probe.probe.HTTPGet.Port)
				}
			}

			env := m.environment(t, server)
			checkValue(t, "server", env, "GHILLIE_HOST", "0.0.0.0")
			checkValue(t, "server", env, "GHILLIE_PORT", "8080")

			svc, ok := m.services["ghillie"]
			if !ok {
				t.Fatalf("no Service ghillie; rendered: %v", keys(m.services))
			}
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != http {
				t.Errorf("service ports = %+v, want one port to the named port http", svc.Spec.Ports)
			}
			if svc.Spec.Selector["app.kubernetes.io/component"] != "server" {
				t.Errorf("service selector = %v, want the server pods", svc.Spec.Selector)
			}
		})
	}
}

func TestWorkerPerProfile(t *testing.T) {
	for _, p := range profiles {
		t.Run(profileName(p.profile), func(t *testing.T) {
			m := mustRender(t, profileValues(p.profile))
			_, hasWorker := m.deployments["ghillie-worker"]
			if hasWorker != p.worker {
				t.Fatalf("worker Deployment rendered = %v, want %v", hasWorker, p.worker)
			}
			if _, hasConfig := m.configMaps["ghillie-worker"]; hasConfig != p.worker {
				t.Errorf("worker ConfigMap rendered = %v, want %v", hasConfig, p.worker)
			}
			if !p.worker {
				return
			}
			worker := container(t, m.deployment(t, "ghillie-worker"), "worker")
			if !slices.Equal(worker.Args, []string{"worker"}) {
				t.Errorf("worker args = %v, want [worker]", worker.Args)
			}
			if worker.LivenessProbe != nil || len(worker.Ports) != 0 {
				t.Errorf("worker has ports %v or a probe, but serves no HTTP", worker.Ports)
			}
		})
	}
}

func TestWorkerDisabledAndScaled(t *testing.T) {
	m := mustRender(t, map[string]any{"profile": "reporting-worker",
		"worker": map[string]any{"enabled": false}})
	if _, ok := m.deployments["ghillie-worker"]; ok {
		t.Errorf("worker.enabled false still renders the worker Deployment")
	}

	m = mustRender(t, map[string]any{"profile": "reporting-worker",
		"worker": map[string]any{"replicas": 3}})
	replicas := m.deployment(t, "ghillie-worker").Spec.Replicas
	if replicas == nil || *replicas != 3 {
		t.Errorf("worker replicas = %v, want 3", replicas)
	}
}

func TestProfileSchedules(t *testing.T) {
	m := mustRender(t, map[string]any{"profile": "ingestion-worker"})
	env := m.environment(t, container(t, m.deployment(t, "ghillie-worker"), "worker"))
	checkValue(t, "ingestion worker", env, "GHILLIE_INGEST_INTERVAL", "6h")
	checkValue(t, "ingestion worker", env, "GHILLIE_REPORT_SCHEDULE", "off")

	m = mustRender(t, map[string]any{"profile": "reporting-worker"})
	env = m.environment(t, container(t, m.deployment(t, "ghillie-worker"), "worker"))
	checkValue(t, "reporting worker", env, "GHILLIE_INGEST_INTERVAL", "")
	checkValue(t, "reporting worker", env, "GHILLIE_REPORT_SCHEDULE", "0 6 * * 1")

	m = mustRender(t, map[string]any{"profile": "ingestion-worker",
		"worker": map[string]any{"ingestInterval": "30m"}})
	env = m.environment(t, container(t, m.deployment(t, "ghillie-worker"), "worker"))
	checkValue(t, "ingestion worker", env, "GHILLIE_INGEST_INTERVAL", "30m")
}

func TestWorkerInAPIOnlyProfile(t *testing.T) {
	queued := map[string]any{"inApiOnlyProfile": true}
	tests := []struct {
		name     string
		values   map[string]any
		worker   bool
		interval string
		schedule string
	}{
		{"api-only", map[string]any{"worker": queued}, true, "", "off"},
		{"defaults", map[string]any{"profile": "api-only",
			"worker": map[string]any{"inApiOnlyProfile": false}}, false, "", ""},
		{"worker disabled", map[string]any{"worker": map[string]any{"inApiOnlyProfile": true,
			"enabled": false}}, false, "", ""},
		{"ingestion-worker", map[string]any{"profile": "ingestion-worker", "worker": queued},
			true, "6h", "off"},
		{"reporting-worker", map[string]any{"profile": "reporting-worker", "worker": queued},
			true, "", "0 6 * * 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRender(t, tt.values)
			_, hasWorker := m.deployments["ghillie-worker"]
			if hasWorker != tt.worker {
				t.Fatalf("worker Deployment rendered = %v, want %v", hasWorker, tt.worker)
			}
			if _, hasConfig := m.configMaps["ghillie-worker"]; hasConfig != tt.worker {
				t.Errorf("worker ConfigMap rendered = %v, want %v", hasConfig, tt.worker)
			}
			if !tt.worker {
				return
			}

			worker := container(t, m.deployment(t, "ghillie-worker"), "worker")
			if !slices.Equal(worker.Args, []string{"worker"}) {
				t.Errorf("worker args = %v, want [worker]", worker.Args)
			}
			env := m.environment(t, worker)
			checkValue(t, tt.name, env, "GHILLIE_INGEST_INTERVAL", tt.interval)
			checkValue(t, tt.name, env, "GHILLIE_REPORT_SCHEDULE", tt.schedule)
		})
	}
}

// fullValues sets every optional setting, with recognisable secret
// values that must never reach a manifest unless the chart creates the
// Secret.
func fullValues(createSecret bool) map[string]any {
	return map[string]any{
		"profile":  "ingestion-worker",
		"logLevel": "debug",
		"secrets": map[string]any{
			"create": createSecret,
			"values": map[string]any{
				"databaseURL":         "postgres://ghillie:sentinel-password@db/ghillie",
				"apiToken":            "sentinel-api-token",
				"openaiAPIKey":        "sentinel-openai-key",
				"githubToken":         "sentinel-github-token",
				"githubAppPrivateKey": "sentinel-private-key",
			},
		},
		"statusModel": map[string]any{
			"backend": "openai",
			"openai": map[string]any{"endpoint": "https://llm.example.com/v1/chat/completions",
				"model": "gpt-5.1", "temperature": 0, "maxTokens": 4096},
		},
		"reporting": map[string]any{"sinkPath": "/reports", "windowDays": 14, "validationMaxAttempts": 3},
		"github": map[string]any{"auth": "app", "appID": "123456", "installationID": "98765432",
			"apiURL": "https://github.example.com/api/v3"},
		"worker": map[string]any{"concurrency": 8,
			"catalogue": map[string]any{"checkout": "/catalogue/repo", "estate": "wildside"}},
		"extraConfig": map[string]any{"GHILLIE_OPENAI_TIMEOUT": "90s"},
	}
}

var sentinels = []string{"sentinel-password", "sentinel-api-token", "sentinel-openai-key",
	"sentinel-github-token", "sentinel-private-key"}

func TestVariablesOfEachDeployment(t *testing.T) {
	serverBase := []string{"GHILLIE_DATABASE_URL", "GHILLIE_HOST", "GHILLIE_PORT", "GHILLIE_LOG_LEVEL",
		"GHILLIE_API_TOKEN", "GHILLIE_API_ALLOW_UNAUTHENTICATED", "GHILLIE_STATUS_MODEL_BACKEND",
		"GHILLIE_REPORTING_WINDOW_DAYS", "GHILLIE_VALIDATION_MAX_ATTEMPTS"}
	workerBase := []string{"GHILLIE_DATABASE_URL", "GHILLIE_LOG_LEVEL", "GHILLIE_STATUS_MODEL_BACKEND",
		"GHILLIE_REPORTING_WINDOW_DAYS", "GHILLIE_VALIDATION_MAX_ATTEMPTS", "GHILLIE_GITHUB_TOKEN",
		"GHILLIE_INGEST_INTERVAL", "GHILLIE_REPORT_SCHEDULE", "GHILLIE_WORKER_CONCURRENCY"}

	t.Run("defaults", func(t *testing.T) {
		for _, p := range profiles {
			m := mustRender(t, profileValues(p.profile))
			server := m.environment(t, container(t, m.deployment(t, "ghillie-server"), "server"))
			requireVariables(t, "server of "+profileName(p.profile), server, serverBase...)
			if !p.worker {
				continue
			}
			worker := m.environment(t, container(t, m.deployment(t, "ghillie-worker"), "worker"))
			requireVariables(t, "worker of "+profileName(p.profile), worker, workerBase...)
		}
	})

	t.Run("every setting", func(t *testing.T) {
		m := mustRender(t, fullValues(false))
		server := m.environment(t, container(t, m.deployment(t, "ghillie-server"), "server"))
		requireVariables(t, "server", server, serverBase...)
		requireVariables(t, "server", server, "GHILLIE_OPENAI_API_KEY", "GHILLIE_OPENAI_ENDPOINT",
			"GHILLIE_OPENAI_MODEL", "GHILLIE_OPENAI_TEMPERATURE", "GHILLIE_OPENAI_MAX_TOKENS",
			"GHILLIE_REPORT_SINK_PATH", "GHILLIE_OPENAI_TIMEOUT")
		checkValue(t, "server", server, "GHILLIE_OPENAI_TEMPERATURE", "0")
		checkValue(t, "server", server, "GHILLIE_OPENAI_MAX_TOKENS", "4096")
		checkValue(t, "server", server, "GHILLIE_REPORTING_WINDOW_DAYS", "14")
		for _, name := range []string{"GHILLIE_GITHUB_TOKEN", "GHILLIE_GITHUB_APP_PRIVATE_KEY"} {
			if _, ok := server[name]; ok {
				t.Errorf("server gets %s, which only the worker needs on PostgreSQL", name)
			}
		}

		worker := m.environment(t, container(t, m.deployment(t, "ghillie-worker"), "worker"))
		requireVariables(t, "worker", worker, "GHILLIE_DATABASE_URL", "GHILLIE_OPENAI_API_KEY",
			"GHILLIE_GITHUB_APP_ID", "GHILLIE_GITHUB_APP_INSTALLATION_ID", "GHILLIE_GITHUB_APP_PRIVATE_KEY",
			"GHILLIE_GITHUB_API_URL", "GHILLIE_REPORT_SINK_PATH", "GHILLIE_CATALOGUE_CHECKOUT",
			"GHILLIE_CATALOGUE_FILE", "GHILLIE_CATALOGUE_BRANCH", "GHILLIE_CATALOGUE_ESTATE")
		checkValue(t, "worker", worker, "GHILLIE_GITHUB_APP_INSTALLATION_ID", "98765432")
		checkValue(t, "worker", worker, "GHILLIE_CATALOGUE_FILE", "catalogue.yaml")
		checkValue(t, "worker", worker, "GHILLIE_WORKER_CONCURRENCY", "8")
		if _, ok := worker["GHILLIE_GITHUB_TOKEN"]; ok {
			t.Errorf("worker gets GHILLIE_GITHUB_TOKEN with github.auth app")
		}
		if _, ok := worker["GHILLIE_API_TOKEN"]; ok {
			t.Errorf("worker gets GHILLIE_API_TOKEN, which only the server reads")
		}
	})

	t.Run("separate catalogue", func(t *testing.T) {
		m := mustRender(t, map[string]any{"profile": "ingestion-worker",
			"catalogueDatabase": map[string]any{"separate": true},
			"secrets":           map[string]any{"existingSecret": "ghillie-db"}})
		for _, name := range []string{"server", "worker"} {
			env := m.environment(t, container(t, m.deployment(t, "ghillie-"+name), name))
			v, ok := env["GHILLIE_CATALOGUE_DATABASE_URL"]
			if !ok || v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil {
				t.Fatalf("%s: GHILLIE_CATALOGUE_DATABASE_URL is not read from a Secret: %+v", name, v)
			}
			ref := v.ValueFrom.SecretKeyRef
			if ref.Name != "ghillie-db" || ref.Key != "GHILLIE_CATALOGUE_DATABASE_URL" {
				t.Errorf("%s: GHILLIE_CATALOGUE_DATABASE_URL from %s/%s, expected "+
					"ghillie-db/GHILLIE_CATALOGUE_DATABASE_URL", name, ref.Name, ref.Key)
			}
		}

		m = mustRender(t, profileValues("ingestion-worker"))
		for _, name := range []string{"server", "worker"} {
			env := m.environment(t, container(t, m.deployment(t, "ghillie-"+name), name))
			if _, ok := env["GHILLIE_CATALOGUE_DATABASE_URL"]; ok {
				t.Errorf("%s gets GHILLIE_CATALOGUE_DATABASE_URL without catalogueDatabase.separate", name)
			}
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		m := mustRender(t, map[string]any{"api": map[string]any{"allowUnauthenticated": true}})
		server := m.environment(t, container(t, m.deployment(t, "ghillie-server"), "server"))
		checkValue(t, "server", server, "GHILLIE_API_ALLOW_UNAUTHENTICATED", "true")
		if _, ok := server["GHILLIE_API_TOKEN"]; ok {
			t.Errorf("server reads GHILLIE_API_TOKEN with api.allowUnauthenticated")
		}
	})
}

// TestVariablesReadByBinary checks that the binary reads every GHILLIE_
// variable the chart sets, so that a misspelt name fails here rather than
// being ignored in a cluster.
func TestVariablesReadByBinary(t *testing.T) {
	source := moduleSource(t)
	m := mustRender(t, fullValues(false))
	for _, d := range m.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			for name := range m.environment(t, c) {
				if !strings.Contains(source, `"`+name+`"`) {
					t.Errorf("Deployment %s sets %s, which no Go file of the module names", d.Name, name)
				}
			}
		}
	}
}

// moduleSource returns the non-test Go source of the module, joined.
func moduleSource(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b.Write(data)
		return nil
	})
	if err != nil {
		t.Fatalf("read the module's Go files: %v", err)
	}
	return b.String()
}

func TestSecretsOnlyFromSecretKeyRef(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
	}{
		{"defaults", nil},
		{"reporting worker", map[string]any{"profile": "reporting-worker"}},
		{"api-only worker", map[string]any{"worker": map[string]any{"inApiOnlyProfile": true}}},
		{"every setting", fullValues(false)},
		{"chart-created secret", fullValues(true)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustRender(t, tc.values)
			for name, cm := range m.configMaps {
				for _, secret := range secretVariables {
					if _, ok := cm.Data[secret]; ok {
						t.Errorf("ConfigMap %s contains %s", name, secret)
					}
				}
			}
			for _, d := range m.deployments {
				for _, c := range d.Spec.Template.Spec.Containers {
					for _, e := range c.Env {
						if !slices.Contains(secretVariables, e.Name) {
							continue
						}
						if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
							t.Errorf("Deployment %s sets %s other than by secretKeyRef: %+v", d.Name, e.Name, e)
							continue
						}
						if ref := e.ValueFrom.SecretKeyRef; ref.Name != "ghillie" || ref.Key != e.Name {
							t.Errorf("Deployment %s reads %s from %s/%s, want ghillie/%s",
								d.Name, e.Name, ref.Name, ref.Key, e.Name)
						}
					}
				}
			}
		})
	}
}

func TestSecretValuesStayOutOfManifests(t *testing.T) {
	m := mustRender(t, fullValues(false))
	if len(m.secrets) != 0 {
		t.Errorf("secrets.create false renders Secrets %v", keys(m.secrets))
	}
	for _, s := range sentinels {
		if strings.Contains(m.text, s) {
			t.Errorf("secrets.create false: the manifests contain the secret value %q", s)
		}
	}

	m = mustRender(t, fullValues(true))
	secret, ok := m.secrets["ghillie"]
	if !ok {
		t.Fatalf("secrets.create true renders no Secret ghillie; rendered: %v", keys(m.secrets))
	}
	if got := secret.StringData["GHILLIE_OPENAI_API_KEY"]; got != "sentinel-openai-key" {
		t.Errorf("created Secret has GHILLIE_OPENAI_API_KEY = %q, want the value from secrets.values", got)
	}
	for _, d := range m.deployments {
		out, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sentinels {
			if strings.Contains(string(out), s) {
				t.Errorf("Deployment %s contains the secret value %q", d.Name, s)
			}
		}
	}
}

func TestExistingSecretName(t *testing.T) {
	m := mustRender(t, map[string]any{"profile": "reporting-worker",
		"secrets": map[string]any{"existingSecret": "ghillie-credentials"}})
	for _, d := range m.deployments {
		for _, e := range container(t, d, d.Spec.Template.Spec.Containers[0].Name).Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef.Name != "ghillie-credentials" {
				t.Errorf("Deployment %s reads %s from Secret %s, want ghillie-credentials",
					d.Name, e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
}

func checkPodSecurity(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec.SecurityContext
	if pod == nil {
		t.Errorf("Deployment %s: no pod securityContext", d.Name)
		return
	}
	if pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
		t.Errorf("Deployment %s: pod runAsNonRoot = %v, want true", d.Name, pod.RunAsNonRoot)
	}
	if pod.RunAsUser == nil || *pod.RunAsUser != nonRootUID {
		t.Errorf("Deployment %s: pod runAsUser = %v, want %d", d.Name, pod.RunAsUser, nonRootUID)
	}
	if pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("Deployment %s: pod seccompProfile = %+v, want RuntimeDefault", d.Name, pod.SeccompProfile)
	}

	spec := d.Spec.Template.Spec
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		where := "Deployment " + d.Name + " container " + c.Name
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", where)
			continue
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: runAsNonRoot = %v, want true", where, sc.RunAsNonRoot)
		}
		if sc.RunAsUser == nil || *sc.RunAsUser != nonRootUID {
			t.Errorf("%s: runAsUser = %v, want %d", where, sc.RunAsUser, nonRootUID)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem = %v, want true", where, sc.ReadOnlyRootFilesystem)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation = %v, want false", where, sc.AllowPrivilegeEscalation)
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
			len(sc.Capabilities.Add) != 0 {
			t.Errorf("%s: capabilities = %+v, want drop [ALL] and no add", where, sc.Capabilities)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: seccompProfile = %+v, want RuntimeDefault", where, sc.SeccompProfile)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", where)
		}
	}
}

func TestSecurityContextEveryPod(t *testing.T) {
	for _, p := range profiles {
		t.Run(profileName(p.profile), func(t *testing.T) {
			m := mustRender(t, profileValues(p.profile))
			for _, d := range m.deployments {
				checkPodSecurity(t, d)
			}
		})
	}
	t.Run("every setting", func(t *testing.T) {
		m := mustRender(t, fullValues(false))
		for _, d := range m.deployments {
			checkPodSecurity(t, d)
		}
	})
}

// mountedVolume returns the volume mounted at path in container c of d.
func mountedVolume(t *testing.T, d *appsv1.Deployment, c corev1.Container, path string) *corev1.Volume {
	t.Helper()
	for _, mount := range c.VolumeMounts {
		if mount.MountPath != path {
			continue
		}
		for i, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == mount.Name {
				return &d.Spec.Template.Spec.Volumes[i]
			}
		}
		t.Fatalf("Deployment %s mounts volume %s, which the pod does not define", d.Name, mount.Name)
	}
	return nil
}

func TestWritableVolumes(t *testing.T) {
	m := mustRender(t, map[string]any{"profile": "reporting-worker"})
	for _, d := range m.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		if v := mountedVolume(t, d, c, "/tmp"); v == nil || v.EmptyDir == nil {
			t.Errorf("Deployment %s: /tmp is %+v, want an emptyDir", d.Name, v)
		}
		if len(c.VolumeMounts) != 1 {
			t.Errorf("Deployment %s: mounts %+v without a report sink, want /tmp only", d.Name, c.VolumeMounts)
		}
	}

	m = mustRender(t, fullValues(false))
	for _, d := range m.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		if v := mountedVolume(t, d, c, "/reports"); v == nil || v.EmptyDir == nil {
			t.Errorf("Deployment %s: the report sink /reports is %+v, want an emptyDir", d.Name, v)
		}
	}

	m = mustRender(t, map[string]any{"reporting": map[string]any{"sinkPath": "/reports",
		"existingClaim": "ghillie-reports"}})
	d := m.deployment(t, "ghillie-server")
	v := mountedVolume(t, d, d.Spec.Template.Spec.Containers[0], "/reports")
	if v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "ghillie-reports" {
		t.Errorf("report sink with existingClaim is %+v, want the claim ghillie-reports", v)
	}
}

func TestResourcesFromValues(t *testing.T) {
	m := mustRender(t, map[string]any{
		"profile": "ingestion-worker",
		"server":  map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": "1Gi"}}},
		"worker":  map[string]any{"resources": map[string]any{"requests": map[string]any{"cpu": "2"}}},
	})
	server := container(t, m.deployment(t, "ghillie-server"), "server")
	if got := server.Resources.Limits.Memory().String(); got != "1Gi" {
		t.Errorf("server memory limit = %s, want 1Gi", got)
	}
	if got := server.Resources.Requests.Cpu().String(); got != "100m" {
		t.Errorf("server cpu request = %s, want the default 100m", got)
	}
	worker := container(t, m.deployment(t, "ghillie-worker"), "worker")
	if got := worker.Resources.Requests.Cpu().String(); got != "2" {
		t.Errorf("worker cpu request = %s, want 2", got)
	}
}

func TestIngress(t *testing.T) {
	m := mustRender(t, nil)
	if len(m.ingresses) != 0 {
		t.Errorf("default values render Ingresses %v", keys(m.ingresses))
	}

	m = mustRender(t, map[string]any{"ingress": map[string]any{"enabled": true, "className": "nginx",
		"tls": []any{map[string]any{"secretName": "ghillie-tls", "hosts": []any{"ghillie.example.com"}}}}})
	ing, ok := m.ingresses["ghillie"]
	if !ok {
		t.Fatalf("ingress.enabled renders no Ingress ghillie; rendered: %v", keys(m.ingresses))
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingressClassName = %v, want nginx", ing.Spec.IngressClassName)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "ghillie-tls" {
		t.Errorf("tls = %+v, want the ghillie-tls secret", ing.Spec.TLS)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "ghillie.example.com" {
		t.Fatalf("rules = %+v, want one for ghillie.example.com", ing.Spec.Rules)
	}
	backend := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if backend == nil || backend.Name != "ghillie" || backend.Port.Name != "http" {
		t.Errorf("backend = %+v, want Service ghillie port http", backend)
	}
}

func TestInvalidValuesRejected(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"replicas as string", map[string]any{"server": map[string]any{"replicas": "two"}}, "replicas"},
		{"unknown profile", map[string]any{"profile": "batch"}, "profile"},
		{"unknown top-level key", map[string]any{"replica": 2}, "replica"},
		{"unknown nested key", map[string]any{"worker": map[string]any{"schedule": "0 6 * * 1"}}, "schedule"},
		{"unknown log level", map[string]any{"logLevel": "verbose"}, "logLevel"},
		{"unknown backend", map[string]any{"statusModel": map[string]any{"backend": "gpt"}}, "backend"},
		{"window out of range", map[string]any{"reporting": map[string]any{"windowDays": 0}}, "windowDays"},
		{"interval not a duration", map[string]any{"worker": map[string]any{"ingestInterval": "6 hours"}},
			"ingestInterval"},
		{"concurrency too high", map[string]any{"worker": map[string]any{"concurrency": 65}}, "concurrency"},
		{"api-only worker as string", map[string]any{"worker": map[string]any{"inApiOnlyProfile": "yes"}},
			"inApiOnlyProfile"},
		{"numeric app id", map[string]any{"github": map[string]any{"appID": 123456}}, "appID"},
		{"other variable in extraConfig", map[string]any{"extraConfig": map[string]any{"OPENAI_KEY": "x"}},
			"OPENAI_KEY"},
		{"secret in extraConfig", map[string]any{"extraConfig": map[string]any{"GHILLIE_API_TOKEN": "x"}},
			"GHILLIE_API_TOKEN"},
		{"relative sink path", map[string]any{"reporting": map[string]any{"sinkPath": "reports"}}, "sinkPath"},
		{"ingestion without GitHub", map[string]any{"profile": "ingestion-worker",
			"github": map[string]any{"auth": "none"}}, "needs GitHub access"},
		{"both secret sources", map[string]any{"secrets": map[string]any{"create": true,
			"existingSecret": "x", "values": map[string]any{"databaseURL": "postgres://db/ghillie"}}},
			"both set"},
		{"created secret without database", map[string]any{"secrets": map[string]any{"create": true}},
			"databaseURL is empty"},
		{"app without ids", map[string]any{"github": map[string]any{"auth": "app"}}, "github.appID"},
		{"catalogue without estate", map[string]any{"profile": "reporting-worker",
			"worker": map[string]any{"catalogue": map[string]any{"checkout": "/catalogue"}}},
			"worker.catalogue.estate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, tc.values)
			if err == nil {
				t.Fatalf("values %v rendered, want an error", tc.values)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// previewValues returns the values 'ghillie stack up' passes to helm, as
// helm reads them from JSON on its standard input.
func previewValues(t *testing.T, cfg stack.Config) map[string]any {
	t.Helper()
	data, err := json.Marshal(stack.ChartValues(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := json.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	return values
}

func TestLocalPreviewValues(t *testing.T) {
	temperature, maxTokens := 0.2, 1024
	cases := []struct {
		name       string
		cfg        stack.Config
		wantWorker bool
		// worker lists variables the worker must have, with values.
		worker map[string]string
	}{
		{"api-only", stack.Config{Profile: "api-only"}, false, nil},
		{"api-only background", stack.Config{Profile: "api-only", BackgroundWorkers: true}, true,
			map[string]string{"GHILLIE_INGEST_INTERVAL": "", "GHILLIE_REPORT_SCHEDULE": "off",
				"GHILLIE_STATUS_MODEL_BACKEND": "mock"}},
		{"reporting background", stack.Config{Profile: "reporting-worker", BackgroundWorkers: true},
			true, map[string]string{"GHILLIE_INGEST_INTERVAL": "",
				"GHILLIE_REPORT_SCHEDULE": "0 6 * * 1"}},
		{"ingestion-worker", stack.Config{Profile: "ingestion-worker",
			GitHub: stack.GitHub{Auth: "token"}}, true,
			map[string]string{"GHILLIE_STATUS_MODEL_BACKEND": "mock"}},
		{"reporting-worker", stack.Config{Profile: "reporting-worker",
			GitHub: stack.GitHub{Auth: "app", AppID: "12", InstallationID: "34"},
			Model: stack.Model{Backend: "openai", Name: "gpt-test", Temperature: &temperature,
				MaxTokens: &maxTokens}}, true,
			map[string]string{"GHILLIE_GITHUB_APP_ID": "12", "GHILLIE_GITHUB_APP_INSTALLATION_ID": "34",
				"GHILLIE_STATUS_MODEL_BACKEND": "openai", "GHILLIE_OPENAI_MODEL": "gpt-test",
				"GHILLIE_OPENAI_TEMPERATURE": "0.2", "GHILLIE_OPENAI_MAX_TOKENS": "1024"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Image = "ghillie:preview"
			m := mustRender(t, previewValues(t, tc.cfg))

			if len(m.secrets) != 0 {
				t.Errorf("the preview's values render Secrets %v, want none", keys(m.secrets))
			}
			server := m.deployment(t, stack.ReleaseName+"-server")
			if r := server.Spec.Replicas; r == nil || *r != 1 {
				t.Errorf("server replicas = %v, want 1", r)
			}
			worker, hasWorker := m.deployments[stack.ReleaseName+"-worker"]
			if hasWorker != tc.wantWorker {
				t.Fatalf("worker Deployment rendered = %v, want %v", hasWorker, tc.wantWorker)
			}
			if hasWorker {
				env := m.environment(t, container(t, worker, "worker"))
				for name, want := range tc.worker {
					checkValue(t, "worker", env, name, want)
				}
			}

			svc := m.services[stack.ReleaseName]
			if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer ||
				len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 {
				t.Errorf("service = %+v, want a LoadBalancer on port 80", svc)
			}
			for _, d := range m.deployments {
				for _, c := range d.Spec.Template.Spec.Containers {
					if c.Image != "ghillie:preview" || c.ImagePullPolicy != corev1.PullNever {
						t.Errorf("Deployment %s runs %s with pull policy %s, want ghillie:preview, Never",
							d.Name, c.Image, c.ImagePullPolicy)
					}
					for _, e := range c.Env {
						if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil &&
							ref.SecretKeyRef.Name != stack.SecretName {
							t.Errorf("Deployment %s reads %s from Secret %s, want %s", d.Name, e.Name,
								ref.SecretKeyRef.Name, stack.SecretName)
						}
					}
				}
			}
		})
	}
}
