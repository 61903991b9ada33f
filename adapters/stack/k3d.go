package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// cluster is the part of an entry of `k3d cluster list -o json` that
// the preview reads. The entries also contain the cluster's join token,
// so that output is never printed.
type cluster struct {
	Name  string `json:"name"`
	Nodes []node `json:"nodes"`
}

type node struct {
	Name  string                   `json:"name"`
	Role  string                   `json:"role"`
	Ports map[string][]portBinding `json:"portMappings"`
	State struct {
		Running bool   `json:"Running"`
		Status  string `json:"Status"`
	} `json:"State"`
}

// portBinding is Docker's binding of a container port to the host.
type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// ingressPort returns the host port that the cluster's load balancer
// maps to its port 80, preferring a binding on 127.0.0.1.
func (c cluster) ingressPort() (int, bool) {
	found := 0
	for _, n := range c.Nodes {
		if n.Role != "loadbalancer" {
			continue
		}
		for _, b := range n.Ports["80/tcp"] {
			port, err := strconv.Atoi(b.HostPort)
			if err != nil || port < 1 || port > 65535 {
				continue
			}
			if b.HostIP == "127.0.0.1" {
				return port, true
			}
			if found == 0 {
				found = port
			}
		}
	}
	return found, found != 0
}

// running reports whether every node of the cluster runs.
func (c cluster) running() bool {
	for _, n := range c.Nodes {
		if !n.State.Running {
			return false
		}
	}
	return len(c.Nodes) > 0
}

// findCluster runs `k3d cluster list -o json` and returns the cluster
// named name, if it exists.
func findCluster(ctx context.Context, r *runner, name string) (cluster, bool, error) {
	const step = "list k3d clusters"
	out, err := r.run(ctx, command{step: step, tool: "k3d",
		args: []string{"cluster", "list", "-o", "json"}, secretStdout: true})
	if err != nil {
		return cluster{}, false, err
	}
	if strings.TrimSpace(string(out)) == "" {
		return cluster{}, false, nil
	}

	var clusters []cluster
	if err := json.Unmarshal(out, &clusters); err != nil {
		// The output contains join tokens, so only the error is shown.
		return cluster{}, false, &StepError{Step: step, Command: "k3d cluster list -o json",
			Err: fmt.Errorf("k3d printed a cluster list that is not the expected JSON (%v): "+
				"check that k3d is version 5 or later", err)}
	}
	for _, c := range clusters {
		if c.Name == name {
			return c, true, nil
		}
	}
	return cluster{}, false, nil
}

// freePort returns a loopback port that is free now. Another program
// may take it before k3d binds it, and k3d then fails with an error.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
