package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// ErrNoCluster is returned by Logs when the cluster does not exist.
var ErrNoCluster = errors.New("k3d cluster not found")

// checkedCluster returns the cluster name, DefaultClusterName when
// empty, after checking it.
func checkedCluster(name string) (string, error) {
	if name == "" {
		name = DefaultClusterName
	}
	return name, CheckClusterName(name)
}

// checkedNamespace returns the namespace, DefaultNamespace when empty,
// after checking it.
func checkedNamespace(name string) (string, error) {
	if name == "" {
		name = DefaultNamespace
	}
	return name, CheckNamespace(name)
}

// DownConfig describes what Down deletes.
type DownConfig struct {
	// ClusterName is the k3d cluster, DefaultClusterName when empty.
	ClusterName string

	// PurgeImages also removes Image from Docker.
	PurgeImages bool

	// Image is the image to remove, DefaultImage when empty.
	Image string
}

// DownResult lists what Down deleted.
type DownResult struct {
	ClusterName    string `json:"cluster_name"`
	ClusterDeleted bool   `json:"cluster_deleted"`
	StateRemoved   bool   `json:"state_removed"`
	Image          string `json:"image,omitempty"`
	ImageRemoved   bool   `json:"image_removed"`
}

// Down deletes the cluster, with everything in it, and the state file
// when it names the cluster. A cluster or an image that does not exist
// is not an error.
func (p *Preview) Down(ctx context.Context, cfg DownConfig) (DownResult, error) {
	var err error
	if cfg.ClusterName, err = checkedCluster(cfg.ClusterName); err != nil {
		return DownResult{}, err
	}
	if cfg.Image == "" {
		cfg.Image = DefaultImage
	}
	tools := []string{"k3d"}
	if cfg.PurgeImages {
		if _, _, err := ParseImage(cfg.Image); err != nil {
			return DownResult{}, err
		}
		tools = append(tools, "docker")
	}
	r, err := p.runner(tools...)
	if err != nil {
		return DownResult{}, err
	}

	result := DownResult{ClusterName: cfg.ClusterName}
	_, found, err := findCluster(ctx, r, cfg.ClusterName)
	if err != nil {
		return result, err
	}
	if found {
		p.progress("Deleting k3d cluster %s...", cfg.ClusterName)
		_, err := r.run(ctx, command{step: "delete the k3d cluster", tool: "k3d",
			args: []string{"cluster", "delete", cfg.ClusterName}})
		if err != nil {
			return result, err
		}
		result.ClusterDeleted = true
	} else {
		p.progress("k3d cluster %s does not exist.", cfg.ClusterName)
	}

	if p.StatePath != "" {
		if result.StateRemoved, err = removeState(p.StatePath, cfg.ClusterName); err != nil {
			return result, err
		}
	}

	if cfg.PurgeImages {
		result.Image = cfg.Image
		if result.ImageRemoved, err = removeImage(ctx, r, cfg.Image); err != nil {
			return result, err
		}
	}
	return result, nil
}

// removeImage removes an image from Docker, and reports false for an
// image that was not there.
func removeImage(ctx context.Context, r *runner, image string) (bool, error) {
	_, err := r.run(ctx, command{step: "remove the image", tool: "docker",
		args: []string{"image", "rm", image}})
	var step *StepError
	if errors.As(err, &step) && isExitError(err) && strings.Contains(step.Output, "No such image") {
		return false, nil
	}
	return err == nil, err
}

// StatusConfig describes the preview that Status reports on.
type StatusConfig struct {
	ClusterName string
	Namespace   string

	// APIBaseURL is the API that Status probes, and APIBaseURLSource
	// where it came from, such as env or state.
	APIBaseURL       string
	APIBaseURLSource string
}

// Report is the state of a preview.
type Report struct {
	ClusterName    string `json:"cluster_name"`
	ClusterExists  bool   `json:"cluster_exists"`
	ClusterRunning bool   `json:"cluster_running"`
	IngressPort    int    `json:"ingress_port,omitempty"`
	Namespace      string `json:"namespace"`
	Pods           []Pod  `json:"pods"`

	APIBaseURL       string `json:"api_base_url"`
	APIBaseURLSource string `json:"api_base_url_source"`
	Health           Probe  `json:"health"`
	Ready            Probe  `json:"ready"`
}

// Healthy reports whether the cluster runs and both probes of the API
// returned 200 OK.
func (r Report) Healthy() bool {
	return r.ClusterExists && r.ClusterRunning && r.Health.OK() && r.Ready.OK()
}

// Pod is a pod of the preview's namespace, as kubectl get pods shows it.
type Pod struct {
	Name string `json:"name"`

	// Ready counts the ready containers, as READY/TOTAL.
	Ready string `json:"ready"`

	// Status is the pod's phase, or the reason a container waits or
	// ended, such as ErrImageNeverPull or CrashLoopBackOff.
	Status   string `json:"status"`
	Restarts int    `json:"restarts"`
}

// Status reports on the cluster, the pods of the namespace when the
// cluster runs, and GET /health and /ready of the API at
// cfg.APIBaseURL.
func (p *Preview) Status(ctx context.Context, cfg StatusConfig) (Report, error) {
	var err error
	if cfg.ClusterName, err = checkedCluster(cfg.ClusterName); err != nil {
		return Report{}, err
	}
	if cfg.Namespace, err = checkedNamespace(cfg.Namespace); err != nil {
		return Report{}, err
	}
	r, err := p.runner("k3d", "kubectl")
	if err != nil {
		return Report{}, err
	}

	report := Report{ClusterName: cfg.ClusterName, Namespace: cfg.Namespace, Pods: []Pod{},
		APIBaseURL: cfg.APIBaseURL, APIBaseURLSource: cfg.APIBaseURLSource}
	c, found, err := findCluster(ctx, r, cfg.ClusterName)
	if err != nil {
		return report, err
	}
	report.ClusterExists = found
	report.ClusterRunning = found && c.running()
	report.IngressPort, _ = c.ingressPort()

	if report.ClusterRunning {
		if report.Pods, err = listPods(ctx, r, Config{ClusterName: cfg.ClusterName,
			Namespace: cfg.Namespace}); err != nil {
			return report, err
		}
	}

	base := strings.TrimRight(cfg.APIBaseURL, "/")
	report.Health = p.probe(ctx, base+"/health")
	report.Ready = p.probe(ctx, base+"/ready")
	return report, nil
}

// podList is the part of `kubectl get pods -o json` that listPods reads.
type podList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Status struct {
			Phase             string `json:"phase"`
			ContainerStatuses []struct {
				Ready        bool `json:"ready"`
				RestartCount int  `json:"restartCount"`
				State        struct {
					Waiting *struct {
						Reason string `json:"reason"`
					} `json:"waiting"`
					Terminated *struct {
						Reason string `json:"reason"`
					} `json:"terminated"`
				} `json:"state"`
			} `json:"containerStatuses"`
		} `json:"status"`
	} `json:"items"`
}

func listPods(ctx context.Context, r *runner, cfg Config) ([]Pod, error) {
	const step = "list the pods"
	out, err := r.run(ctx, command{step: step, tool: "kubectl",
		args: kubectl(cfg, "get", "pods", "--namespace", cfg.Namespace, "-o", "json")})
	if err != nil {
		return nil, err
	}
	var list podList
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, &StepError{Step: step, Output: trimOutput(r.redact(string(out))),
			Err: fmt.Errorf("kubectl printed a pod list that is not the expected JSON: %w", err)}
	}

	pods := make([]Pod, 0, len(list.Items))
	for _, item := range list.Items {
		pod := Pod{Name: item.Metadata.Name, Status: item.Status.Phase}
		ready := 0
		for _, cs := range item.Status.ContainerStatuses {
			if cs.Ready {
				ready++
			}
			pod.Restarts += cs.RestartCount
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				pod.Status = cs.State.Waiting.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
				pod.Status = cs.State.Terminated.Reason
			}
		}
		pod.Ready = fmt.Sprintf("%d/%d", ready, len(item.Status.ContainerStatuses))
		pods = append(pods, pod)
	}
	return pods, nil
}

// LogsConfig describes the logs that Logs prints.
type LogsConfig struct {
	ClusterName string
	Namespace   string

	// Follow streams new lines until the context ends.
	Follow bool

	// Since limits the logs to those newer than a Go duration such as
	// 10m; empty prints all.
	Since string
}

// Logs prints the logs of every container of the release's pods to
// stdout, each line prefixed with its pod and container, and kubectl's
// errors to stderr. A cluster that does not exist is an error wrapping
// ErrNoCluster.
func (p *Preview) Logs(ctx context.Context, cfg LogsConfig, stdout, stderr io.Writer) error {
	var err error
	if cfg.ClusterName, err = checkedCluster(cfg.ClusterName); err != nil {
		return err
	}
	if cfg.Namespace, err = checkedNamespace(cfg.Namespace); err != nil {
		return err
	}
	if cfg.Since != "" {
		if d, err := time.ParseDuration(cfg.Since); err != nil || d <= 0 {
			return fmt.Errorf("invalid since %q: use a positive Go duration such as 10m or 2h",
				cfg.Since)
		}
	}
	r, err := p.runner("k3d", "kubectl")
	if err != nil {
		return err
	}

	if _, found, err := findCluster(ctx, r, cfg.ClusterName); err != nil {
		return err
	} else if !found {
		return fmt.Errorf("%w: %s does not exist: create it with 'ghillie stack up'",
			ErrNoCluster, cfg.ClusterName)
	}

	// With a selector, kubectl prints only the last 10 lines of each
	// pod unless --tail sets another number.
	args := kubectl(Config{ClusterName: cfg.ClusterName}, "logs", "--namespace", cfg.Namespace,
		"--selector", "app.kubernetes.io/instance="+ReleaseName, "--all-containers", "--prefix",
		"--tail=-1")
	if cfg.Follow {
		args = append(args, "--follow")
	}
	if cfg.Since != "" {
		args = append(args, "--since="+cfg.Since)
	}
	_, err = r.run(ctx, command{step: "print the logs", tool: "kubectl", args: args,
		stdout: stdout, stderr: stderr})
	if err != nil && cfg.Follow && (ctx.Err() != nil || interrupted(err)) {
		// Following ends when the user interrupts it.
		return nil
	}
	return err
}

// interrupted reports whether a tool ended because of a signal, such as
// the SIGINT of Ctrl-C, which reaches the tool too.
func interrupted(err error) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	// ExitCode is -1 for a process killed by a signal; 130 is the
	// status of a tool that exits on SIGINT itself.
	return exit.ExitCode() == -1 || exit.ExitCode() == 130
}
