package ghillie_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line    int
	command string // upper case, such as FROM or RUN
	args    string
}

// stage is the instructions from one FROM to the next.
type stage struct {
	image, name  string
	instructions []instruction
}

// parseDockerfile splits a Dockerfile into stages. It handles comments,
// parser directives and backslash continuations, which is all the
// repository's Dockerfile uses. Heredocs are not supported.
func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var (
		stages  []stage
		pending strings.Builder
		start   int
	)
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if pending.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if pending.Len() > 0 && strings.HasPrefix(line, "#") {
			continue // Docker drops comment lines inside a continuation.
		}
		if pending.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(body + " ")
			continue
		}
		pending.WriteString(line)

		command, args, _ := strings.Cut(pending.String(), " ")
		pending.Reset()
		ins := instruction{line: start, command: strings.ToUpper(command), args: strings.TrimSpace(args)}
		if ins.command == "FROM" {
			fields := strings.Fields(ins.args)
			fields = slices.DeleteFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--") })
			s := stage{image: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if ins.command != "ARG" {
				t.Fatalf("Dockerfile line %d: %s before the first FROM", ins.line, ins.command)
			}
			continue
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, ins)
	}
	if pending.Len() > 0 {
		t.Fatalf("Dockerfile ends inside a continuation line")
	}
	return stages
}

func (s stage) all(command string) []instruction {
	var out []instruction
	for _, ins := range s.instructions {
		if ins.command == command {
			out = append(out, ins)
		}
	}
	return out
}

// last returns the stage's last instruction of a kind, the one in force.
func (s stage) last(t *testing.T, command string) instruction {
	t.Helper()
	all := s.all(command)
	if len(all) == 0 {
		t.Fatalf("stage %s has no %s", s.image, command)
	}
	return all[len(all)-1]
}

// execForm decodes a JSON array argument, such as ENTRYPOINT ["/ghillie"].
func execForm(t *testing.T, ins instruction) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(ins.args), &out); err != nil {
		t.Fatalf("Dockerfile line %d: %s %s is not in exec form (a JSON array): %v",
			ins.line, ins.command, ins.args, err)
	}
	return out
}

// goVersion returns the major.minor of go.mod's go directive.
func goVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("go.mod has no go directive")
	}
	return string(m[1])
}

func readDockerfile(t *testing.T) []stage {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(data))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	return stages
}

func TestDockerfileBuildStage(t *testing.T) {
	stages := readDockerfile(t)
	build := stages[0]

	image, tag, _ := strings.Cut(build.image, ":")
	if image != "golang" {
		t.Errorf("build stage image = %s, want the official golang image", build.image)
	}
	if want := goVersion(t); tag != want && !strings.HasPrefix(tag, want+".") && !strings.HasPrefix(tag, want+"-") {
		t.Errorf("build stage tag = %s, want Go %s as in go.mod", tag, want)
	}
	if build.name == "" {
		t.Errorf("build stage has no name for COPY --from")
	}

	var buildCmd string
	for _, run := range build.all("RUN") {
		if strings.Contains(run.args, "go build") {
			buildCmd = run.args
		}
	}
	if buildCmd == "" {
		t.Fatalf("build stage runs no go build")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./ghillie", "-o /out/ghillie"} {
		if !strings.Contains(buildCmd, want) {
			t.Errorf("go build command %q lacks %s", buildCmd, want)
		}
	}

	main, err := os.ReadFile("ghillie/main.go")
	if err != nil {
		t.Fatalf("the build's main package: %v", err)
	}
	if !strings.Contains(string(main), "\npackage main\n") {
		t.Errorf("ghillie/main.go is not package main")
	}
}

func TestDockerfileRuntimeStage(t *testing.T) {
	stages := readDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]

	if final.image != "gcr.io/distroless/static-debian12:nonroot" && final.image != "scratch" {
		t.Errorf("runtime image = %s, want distroless static nonroot or scratch", final.image)
	}

	var copied bool
	for _, c := range final.all("COPY") {
		if strings.Contains(c.args, "--from="+build.name) && strings.HasSuffix(c.args, "/out/ghillie /ghillie") {
			copied = true
		}
	}
	if !copied {
		t.Errorf("runtime stage does not copy /out/ghillie from stage %s to /ghillie", build.name)
	}

	user := final.last(t, "USER").args
	uid, gid, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %s: want a numeric user other than root, so runAsNonRoot can verify it", user)
	}
	if gid != "" {
		if n, err := strconv.Atoi(gid); err != nil || n == 0 {
			t.Errorf("USER %s: want a numeric group other than root", user)
		}
	}
	if uid != "65532" {
		t.Errorf("USER %s: want 65532, the user the Helm chart runs as", user)
	}

	if got := execForm(t, final.last(t, "ENTRYPOINT")); !slices.Equal(got, []string{"/ghillie"}) {
		t.Errorf("ENTRYPOINT = %v, want [/ghillie]", got)
	}
	if got := execForm(t, final.last(t, "CMD")); !slices.Equal(got, []string{"serve"}) {
		t.Errorf("CMD = %v, want [serve]", got)
	}
	if got := final.last(t, "EXPOSE").args; got != "8080" {
		t.Errorf("EXPOSE %s, want 8080", got)
	}

	env := map[string]string{}
	for _, e := range final.all("ENV") {
		for _, field := range strings.Fields(e.args) {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				t.Errorf("Dockerfile line %d: ENV %s: want KEY=VALUE pairs", e.line, e.args)
			}
			env[k] = v
		}
	}
	for k, want := range map[string]string{"GHILLIE_HOST": "0.0.0.0", "GHILLIE_PORT": "8080"} {
		if env[k] != want {
			t.Errorf("ENV %s = %q, want %q", k, env[k], want)
		}
	}
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	patterns := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns[line] = true
		}
	}
	if !patterns[".git"] {
		t.Errorf(".dockerignore does not leave out .git")
	}
	for _, needed := range []string{"go.mod", "go.sum", "ghillie", "specs", "store", "*", "*.go", "**/*.go"} {
		if patterns[needed] {
			t.Errorf(".dockerignore leaves out %s, which the build needs", needed)
		}
	}
}
