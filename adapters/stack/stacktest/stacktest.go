// Package stacktest gives tests stand-ins for docker, k3d, kubectl and
// helm, so that the 'ghillie stack' commands run without a container
// engine or a cluster.
//
// The stand-ins are the test binary itself, linked under the tools'
// names in a temporary folder that Install puts alone on PATH. A test
// package calls Main at the start of its TestMain. When the binary runs
// under a tool's name, Main plays that tool and exits. Each stand-in
// appends its arguments, working folder and standard input to a log.
// Its output comes from a state file in the folder, which lists the
// clusters of k3d, the Secrets that kubectl applied and the images that
// docker built.
package stacktest

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Tools lists the tools that the stand-ins play.
var Tools = []string{"docker", "k3d", "kubectl", "helm"}

// Values that the stand-ins return, which tests look for.
const (
	// DatabasePassword is the password in the URI of the database
	// Secret that the CloudNativePG operator would create.
	DatabasePassword = "standin-pg-password-7Q2x"

	// ClusterToken is the join token in k3d's cluster list.
	ClusterToken = "standin-k3d-join-token-Z9k1"
)

// Files in the stand-ins' folder.
const (
	stateFile = "standin-state.json"
	logFile   = "standin-calls.jsonl"
)

// DatabaseURL returns the database URI of the stand-in operator's Secret
// in namespace.
func DatabaseURL(namespace string) string {
	return "postgresql://ghillie:" + DatabasePassword + "@pg-ghillie-rw." + namespace +
		":5432/ghillie"
}

// Call is one run of a stand-in.
type Call struct {
	Tool  string   `json:"tool"`
	Args  []string `json:"args"`
	Dir   string   `json:"dir"`
	Stdin string   `json:"stdin,omitempty"`
}

// Line returns the tool and its arguments joined by spaces.
func (c Call) Line() string {
	return strings.Join(append([]string{c.Tool}, c.Args...), " ")
}

// Cluster is a cluster that the stand-in k3d lists.
type Cluster struct {
	Name    string `json:"name"`
	Port    int    `json:"port"`
	Running bool   `json:"running"`
}

// Failure makes a stand-in fail: the Occurrence-th call (1 for the
// first) whose Line starts with Call prints Output to standard error
// and exits with status 1.
type Failure struct {
	Call       string `json:"call"`
	Occurrence int    `json:"occurrence"`
	Output     string `json:"output"`
}

// state is the content of the state file.
type state struct {
	Clusters []Cluster                    `json:"clusters"`
	Secrets  map[string]map[string]string `json:"secrets"`
	Images   []string                     `json:"images"`
	Failures []Failure                    `json:"failures"`
}

// Fake is a folder of stand-ins.
type Fake struct {
	Dir string
}

// Install links the stand-ins of tools, all of Tools when none are
// given, into a temporary folder and makes that folder the whole PATH
// for the rest of the test, so that no real tool can run.
func Install(t testing.TB, tools ...string) *Fake {
	t.Helper()
	if len(tools) == 0 {
		tools = Tools
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary: %v", err)
	}
	f := &Fake{Dir: t.TempDir()}
	for _, tool := range tools {
		if !slices.Contains(Tools, tool) {
			t.Fatalf("no stand-in for %s; there are %v", tool, Tools)
		}
		if err := os.Symlink(exe, filepath.Join(f.Dir, tool)); err != nil {
			t.Fatalf("link stand-in %s: %v", tool, err)
		}
	}
	f.update(t, func(*state) {})
	t.Setenv("PATH", f.Dir)

	// A binary built with -race sleeps a second before it exits, by
	// default, which would make every stand-in call take that long.
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return f
}

// AddCluster makes k3d list a cluster that exists already.
func (f *Fake) AddCluster(t testing.TB, c Cluster) {
	t.Helper()
	f.update(t, func(s *state) { s.Clusters = append(s.Clusters, c) })
}

// AddImage makes docker and k3d find an image that was built already.
func (f *Fake) AddImage(t testing.TB, image string) {
	t.Helper()
	f.update(t, func(s *state) { s.Images = append(s.Images, image) })
}

// Fail makes a stand-in fail as failure describes.
func (f *Fake) Fail(t testing.TB, failure Failure) {
	t.Helper()
	if failure.Occurrence == 0 {
		failure.Occurrence = 1
	}
	f.update(t, func(s *state) { s.Failures = append(s.Failures, failure) })
}

// Clusters returns the clusters that k3d lists.
func (f *Fake) Clusters(t testing.TB) []Cluster {
	t.Helper()
	return f.load(t).Clusters
}

// Secret returns the decoded data of a Secret that kubectl applied.
func (f *Fake) Secret(t testing.TB, namespace, name string) map[string]string {
	t.Helper()
	return f.load(t).Secrets[namespace+"/"+name]
}

// Calls returns the runs of the stand-ins, in order.
func (f *Fake) Calls(t testing.TB) []Call {
	t.Helper()

	file, err := os.Open(filepath.Join(f.Dir, logFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("open stand-in log: %v", err)
	}
	defer file.Close()

	var calls []Call
	scanner := bufio.NewScanner(file)
	scanner.Buffer(nil, 1<<24)
	for scanner.Scan() {
		var c Call
		if err := json.Unmarshal(scanner.Bytes(), &c); err != nil {
			t.Fatalf("read stand-in log: %v", err)
		}
		calls = append(calls, c)
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read stand-in log: %v", err)
	}
	return calls
}

// Lines returns the Line of each call, in order.
func (f *Fake) Lines(t testing.TB) []string {
	t.Helper()
	var lines []string
	for _, c := range f.Calls(t) {
		lines = append(lines, c.Line())
	}
	return lines
}

func (f *Fake) load(t testing.TB) state {
	t.Helper()
	s, err := readState(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *Fake) update(t testing.TB, change func(*state)) {
	t.Helper()
	s, err := readState(f.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	change(&s)
	if err := writeState(f.Dir, s); err != nil {
		t.Fatal(err)
	}
}

func readState(dir string) (state, error) {
	var s state
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("read stand-in state: %w", err)
	}
	return s, nil
}

func writeState(dir string, s state) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, stateFile), data, 0o600)
}

// Main plays a tool and exits when the test binary runs as a stand-in,
// and returns otherwise. Call it first in TestMain.
func Main() {
	tool := filepath.Base(os.Args[0])
	dir := filepath.Dir(os.Args[0])
	if !slices.Contains(Tools, tool) {
		return
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err != nil {
		return
	}
	os.Exit(play(dir, tool, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// play runs one call of a stand-in and returns its exit status.
func play(dir, tool string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	call := Call{Tool: tool, Args: args}
	call.Dir, _ = os.Getwd()
	if readsStdin(args) {
		data, err := io.ReadAll(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "stand-in %s: read stdin: %v\n", tool, err)
			return 1
		}
		call.Stdin = string(data)
	}

	s, err := readState(dir)
	if err != nil {
		fmt.Fprintf(stderr, "stand-in %s: %v\n", tool, err)
		return 1
	}
	earlier, err := countCalls(dir, call.Line())
	if err != nil {
		fmt.Fprintf(stderr, "stand-in %s: %v\n", tool, err)
		return 1
	}
	if err := appendCall(dir, call); err != nil {
		fmt.Fprintf(stderr, "stand-in %s: %v\n", tool, err)
		return 1
	}

	for _, failure := range s.Failures {
		if strings.HasPrefix(call.Line(), failure.Call) && earlier[failure.Call]+1 == failure.Occurrence {
			fmt.Fprintln(stderr, failure.Output)
			return 1
		}
	}

	w := &world{state: s, stdout: stdout, stderr: stderr}
	var status int
	switch tool {
	case "docker":
		status = w.docker(args)
	case "k3d":
		status = w.k3d(args)
	case "kubectl":
		status = w.kubectl(args, call.Stdin)
	case "helm":
		status = w.helm(args)
	}
	if err := writeState(dir, w.state); err != nil {
		fmt.Fprintf(stderr, "stand-in %s: %v\n", tool, err)
		return 1
	}
	return status
}

// readsStdin reports whether the arguments name standard input as a file.
func readsStdin(args []string) bool {
	for i := 0; i+1 < len(args); i++ {
		if (args[i] == "-f" || args[i] == "--values") && args[i+1] == "-" {
			return true
		}
	}
	return false
}

// countCalls counts, for each failure prefix, the earlier calls that
// start with it.
func countCalls(dir, line string) (map[string]int, error) {
	s, err := readState(dir)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	data, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, raw := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if raw == "" {
			continue
		}
		var c Call
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			return nil, err
		}
		for _, f := range s.Failures {
			if strings.HasPrefix(c.Line(), f.Call) && strings.HasPrefix(line, f.Call) {
				counts[f.Call]++
			}
		}
	}
	return counts, nil
}

func appendCall(dir string, c Call) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	file, err := os.OpenFile(filepath.Join(dir, logFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := file.Write(append(data, '\n')); err != nil {
		_ = file.Close()
		return err
	}
	return file.Close()
}

// world is the stand-ins' view of Docker and the clusters during a call.
type world struct {
	state          state
	stdout, stderr io.Writer
}

func (w *world) fail(format string, args ...any) int {
	fmt.Fprintf(w.stderr, format+"\n", args...)
	return 1
}

func (w *world) cluster(name string) *Cluster {
	for i := range w.state.Clusters {
		if w.state.Clusters[i].Name == name {
			return &w.state.Clusters[i]
		}
	}
	return nil
}

func (w *world) docker(args []string) int {
	switch {
	case len(args) == 4 && args[0] == "build" && args[1] == "-t" && args[3] == ".":
		if _, err := os.Stat("Dockerfile"); err != nil {
			return w.fail("ERROR: failed to read dockerfile: open Dockerfile: no such file or directory")
		}
		if !slices.Contains(w.state.Images, args[2]) {
			w.state.Images = append(w.state.Images, args[2])
		}
		fmt.Fprintf(w.stdout, "naming to docker.io/library/%s done\n", args[2])
		return 0
	case len(args) == 3 && args[0] == "image" && args[1] == "rm":
		i := slices.Index(w.state.Images, args[2])
		if i < 0 {
			return w.fail("Error response from daemon: No such image: %s", args[2])
		}
		w.state.Images = slices.Delete(w.state.Images, i, i+1)
		fmt.Fprintf(w.stdout, "Untagged: %s\n", args[2])
		return 0
	}
	return w.fail("stand-in docker: unexpected arguments %q", args)
}

func (w *world) k3d(args []string) int {
	switch {
	case slices.Equal(args, []string{"cluster", "list", "-o", "json"}):
		return w.listClusters()
	case len(args) >= 3 && args[0] == "cluster" && args[1] == "create":
		return w.createCluster(args[2], args[3:])
	case len(args) == 3 && args[0] == "cluster" && args[1] == "start":
		c := w.cluster(args[2])
		if c == nil {
			return w.fail("FATA[0000] No nodes found for given cluster")
		}
		c.Running = true
		return 0
	case len(args) == 3 && args[0] == "cluster" && args[1] == "delete":
		w.state.Clusters = slices.DeleteFunc(w.state.Clusters, func(c Cluster) bool {
			return c.Name == args[2]
		})
		fmt.Fprintf(w.stdout, "INFO[0001] Successfully deleted cluster %s!\n", args[2])
		return 0
	case len(args) == 5 && args[0] == "image" && args[1] == "import" && args[3] == "-c":
		if w.cluster(args[4]) == nil {
			return w.fail("FATA[0000] Failed to get cluster %s", args[4])
		}
		if !slices.Contains(w.state.Images, args[2]) {
			return w.fail("ERRO[0000] failed to import image %s: no such image", args[2])
		}
		return 0
	}
	return w.fail("stand-in k3d: unexpected arguments %q", args)
}

// listClusters prints clusters in the form of k3d 5, with a join token
// that must never reach any output.
func (w *world) listClusters() int {
	type binding struct {
		HostIP   string `json:"HostIp"`
		HostPort string `json:"HostPort"`
	}
	type nodeState struct {
		Running bool
		Status  string
	}
	type node struct {
		Name  string               `json:"name"`
		Role  string               `json:"role"`
		Ports map[string][]binding `json:"portMappings,omitempty"`
		State nodeState
	}
	type cluster struct {
		Name  string `json:"name"`
		Token string `json:"clusterToken"`
		Nodes []node `json:"nodes"`
	}

	list := []cluster{}
	for _, c := range w.state.Clusters {
		st := nodeState{Running: c.Running, Status: "running"}
		if !c.Running {
			st.Status = "exited"
		}
		lb := node{Name: "k3d-" + c.Name + "-serverlb", Role: "loadbalancer", State: st,
			Ports: map[string][]binding{"6443/tcp": {{HostIP: "0.0.0.0", HostPort: "41623"}}}}
		if c.Port != 0 {
			lb.Ports["80/tcp"] = []binding{{HostIP: "127.0.0.1", HostPort: fmt.Sprint(c.Port)}}
		}
		list = append(list, cluster{Name: c.Name, Token: ClusterToken, Nodes: []node{
			{Name: "k3d-" + c.Name + "-server-0", Role: "server", State: st}, lb}})
	}
	return w.printJSON(list)
}

func (w *world) createCluster(name string, flags []string) int {
	if w.cluster(name) != nil {
		return w.fail("FATA[0000] Failed to create cluster '%s' because a cluster with that name already exists", name)
	}
	c := Cluster{Name: name, Running: true}
	for i := 0; i+1 < len(flags); i++ {
		if flags[i] == "--port" {
			if _, err := fmt.Sscanf(flags[i+1], "127.0.0.1:%d:80@loadbalancer", &c.Port); err != nil {
				return w.fail("stand-in k3d: unexpected port mapping %q", flags[i+1])
			}
		}
	}
	w.state.Clusters = append(w.state.Clusters, c)
	fmt.Fprintf(w.stdout, "INFO[0020] Cluster '%s' created successfully!\n", name)
	return 0
}

func (w *world) kubectl(args []string, stdin string) int {
	if len(args) < 2 || args[0] != "--context" || !strings.HasPrefix(args[1], "k3d-") {
		return w.fail("stand-in kubectl: expected --context k3d-NAME first, got %q", args)
	}
	if c := w.cluster(strings.TrimPrefix(args[1], "k3d-")); c == nil || !c.Running {
		return w.fail("The connection to the server 0.0.0.0:41623 was refused - did you specify the right host or port?")
	}
	args = args[2:]

	switch {
	case len(args) > 0 && args[0] == "apply":
		return w.apply(stdin)
	case len(args) > 0 && (args[0] == "wait" || args[0] == "rollout"):
		fmt.Fprintln(w.stdout, "condition met")
		return 0
	case len(args) > 2 && args[0] == "get" && args[1] == "secret":
		return w.getSecret(args[2], flagValue(args, "--namespace"), flagValue(args, "-o"),
			slices.Contains(args, "--ignore-not-found"))
	case len(args) > 1 && args[0] == "get" && args[1] == "pods":
		return w.printJSON(map[string]any{"items": []any{map[string]any{
			"metadata": map[string]any{"name": "ghillie-server-7d4b9c-x2x9q"},
			"status": map[string]any{"phase": "Running", "containerStatuses": []any{
				map[string]any{"ready": true, "restartCount": 1, "state": map[string]any{}}}},
		}}})
	case len(args) > 0 && args[0] == "logs":
		fmt.Fprintln(w.stdout, `[pod/ghillie-server-7d4b9c-x2x9q/server] {"msg":"http.server.started"}`)
		return 0
	}
	return w.fail("stand-in kubectl: unexpected arguments %q", args)
}

// apply stores the data of the Secrets in a JSON manifest, and accepts
// YAML manifests as they are.
func (w *world) apply(manifest string) int {
	if strings.TrimSpace(manifest) == "" {
		return w.fail("error: no objects passed to apply")
	}
	var object struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
	}
	if json.Unmarshal([]byte(manifest), &object) != nil || object.Kind != "Secret" {
		fmt.Fprintln(w.stdout, "serverside-applied")
		return 0
	}

	data := map[string]string{}
	for key, value := range object.Data {
		decoded, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return w.fail("Error from server (BadRequest): illegal base64 data for key %s", key)
		}
		data[key] = string(decoded)
	}
	if w.state.Secrets == nil {
		w.state.Secrets = map[string]map[string]string{}
	}
	w.state.Secrets[object.Metadata.Namespace+"/"+object.Metadata.Name] = data
	fmt.Fprintf(w.stdout, "secret/%s serverside-applied\n", object.Metadata.Name)
	return 0
}

func (w *world) getSecret(name, namespace, output string, ignoreMissing bool) int {
	data, ok := w.state.Secrets[namespace+"/"+name]
	if name == "pg-ghillie-app" {
		data, ok = map[string]string{"uri": DatabaseURL(namespace)}, true
	}
	if !ok {
		if ignoreMissing {
			return 0
		}
		return w.fail(`Error from server (NotFound): secrets "%s" not found`, name)
	}

	key, found := strings.CutPrefix(output, "jsonpath={.data.")
	key, closed := strings.CutSuffix(key, "}")
	if !found || !closed {
		return w.fail("stand-in kubectl: unexpected output %q", output)
	}
	if value, ok := data[key]; ok {
		fmt.Fprint(w.stdout, base64.StdEncoding.EncodeToString([]byte(value)))
	}
	return 0
}

func (w *world) helm(args []string) int {
	switch {
	case len(args) > 1 && args[0] == "repo" && args[1] == "add":
		fmt.Fprintf(w.stdout, "%q has been added to your repositories\n", args[2])
		return 0
	case len(args) > 2 && args[0] == "upgrade" && args[1] == "--install":
		context := flagValue(args, "--kube-context")
		if c := w.cluster(strings.TrimPrefix(context, "k3d-")); c == nil {
			return w.fail("Error: kubernetes cluster unreachable: context %q does not exist", context)
		}
		fmt.Fprintf(w.stdout, "Release %q has been upgraded. Happy Helming!\n", args[2])
		return 0
	}
	return w.fail("stand-in helm: unexpected arguments %q", args)
}

func (w *world) printJSON(v any) int {
	data, err := json.Marshal(v)
	if err != nil {
		return w.fail("stand-in: %v", err)
	}
	fmt.Fprintln(w.stdout, string(data))
	return 0
}

// flagValue returns the argument after flag, or the empty string.
func flagValue(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}
