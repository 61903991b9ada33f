package cli

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/stack"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/status"
)

// Flags of 'stack up' that choose the preview's providers.
const (
	flagModelBackend   = "provider-model-backend"
	flagGitHubTokenEnv = "provider-github-token-env"
	flagOpenAIKeyEnv   = "provider-openai-key-env"
)

// envNamePattern is the form of an environment variable name that a
// POSIX shell can set and export.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// credentialVariable is the environment variable that a credential is
// read from, as a --provider-*-env flag names it.
type credentialVariable struct {
	// name is the variable, such as GITHUB_TOKEN.
	name string

	// explicit is set when the command line gives the flag, which makes
	// an empty or unset variable an error.
	explicit bool
}

// newCredentialVariable reads a --provider-*-env flag and checks that it
// names a variable that a shell can set.
func newCredentialVariable(cmd *cobra.Command, flag, name, example string,
) (credentialVariable, error) {
	if !envNamePattern.MatchString(name) || looksLikeSecret(name) {
		return credentialVariable{}, usageError{fmt.Errorf("invalid --%s %s: give the name of an "+
			"environment variable, made of letters, digits and underscores and not starting "+
			"with a digit, such as %s", flag, shownName(name), example)}
	}
	return credentialVariable{name: name, explicit: cmd.Flags().Changed(flag)}, nil
}

// looksLikeSecret reports whether a --provider-*-env value is probably
// the credential itself, given by mistake instead of its variable's name:
// longer than a variable name usually is, or with the prefix of a GitHub
// token or an OpenAI key.
func looksLikeSecret(value string) bool {
	if len(value) > 40 {
		return true
	}
	for _, prefix := range []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-"} {
		if strings.HasPrefix(value, prefix) {
			return true
		}
	}
	return false
}

// shownName quotes a --provider-*-env value for a message, or only its
// first characters when it may be a secret.
func shownName(value string) string {
	if !looksLikeSecret(value) {
		return strconv.Quote(value)
	}
	return fmt.Sprintf("%q... (shortened, because it looks like a token: give the name "+
		"of the variable that holds it)", value[:min(4, len(value))])
}

// checkSet rejects an explicit variable that is empty or unset, so that a
// misspelt name does not leave the preview without the credential.
func (v credentialVariable) checkSet(getenv func(string) string, flag, standard,
	credential string) error {
	if !v.explicit || strings.TrimSpace(getenv(v.name)) != "" {
		return nil
	}

	fix := fmt.Sprintf("set %s to the %s", v.name, credential)
	if v.name != standard {
		fix += ", or leave out the flag to read " + standard
	}
	return usageError{fmt.Errorf("--%s names %s, which is empty or unset: %s", flag, v.name, fix)}
}

// renamedEnv returns a lookup that reads variable standard from custom
// instead, so that the readers of the standard variables, such as
// githubapi.ConfigFromEnv, take a credential from the variable that the
// operator chose.
func renamedEnv(getenv func(string) string, standard, custom string) func(string) string {
	return func(name string) string {
		if name == standard {
			return getenv(custom)
		}
		return getenv(name)
	}
}

// renameVariable rewrites a configuration error about variable standard,
// read through renamedEnv, so that it names custom, where the value came
// from. Other errors are returned as they are.
func renameVariable(err error, standard, custom string) error {
	if standard == custom {
		return err
	}

	var github *ingest.ConfigError
	if errors.As(err, &github) && github.Variable == standard {
		return &ingest.ConfigError{Variable: custom,
			Problem: strings.ReplaceAll(github.Problem, standard, custom)}
	}
	// A problem with another variable may name the standard one too,
	// as one that names where the key belongs.
	var model *status.ConfigError
	if errors.As(err, &model) && (model.Variable == standard ||
		strings.Contains(model.Problem, standard)) {
		variable := model.Variable
		if variable == standard {
			variable = custom
		}
		return &status.ConfigError{Variable: variable, Value: model.Value,
			Problem: strings.ReplaceAll(model.Problem, standard, custom)}
	}
	return err
}

// upGitHub reads the GitHub settings of the worker, checked as the
// worker checks them, with the token from the variable token.
func (a *app) upGitHub(cfg *stack.Config, token credentialVariable) error {
	cfg.GitHub.Auth = "none"
	if err := token.checkSet(a.env, flagGitHubTokenEnv, githubapi.EnvToken,
		"GitHub token"); err != nil {
		return err
	}
	getenv := renamedEnv(a.env, githubapi.EnvToken, token.name)
	if !gitHubSettingsIn(getenv) {
		if cfg.Profile == "ingestion-worker" {
			return usageError{fmt.Errorf("profile ingestion-worker needs GitHub access: set %s, "+
				"or the GitHub App variables %s, %s and %s", token.name, githubapi.EnvAppID,
				githubapi.EnvAppInstallationID, githubapi.EnvAppPrivateKey)}
		}
		return nil
	}

	gh, err := githubapi.ConfigFromEnv(getenv)
	if err != nil {
		return usageError{renameVariable(err, githubapi.EnvToken, token.name)}
	}
	if strings.TrimSpace(a.env(githubapi.EnvAPIURL)) != "" {
		cfg.GitHub.APIURL = gh.APIURL
	}

	if gh.App == nil {
		cfg.GitHub.Auth = "token"
		cfg.Secrets.GitHubToken = string(gh.Token)
		return nil
	}
	// The key is passed on as PKCS #1 PEM, whatever form the
	// environment gave it in, such as a path or a PEM with literal \n.
	cfg.GitHub.Auth = "app"
	cfg.GitHub.AppID = strconv.FormatInt(gh.App.AppID, 10)
	cfg.GitHub.InstallationID = strconv.FormatInt(gh.App.InstallationID, 10)
	cfg.Secrets.GitHubAppPrivateKey = string(pem.EncodeToMemory(&pem.Block{
		Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(gh.App.PrivateKey)}))
	return nil
}

// upModel reads the status model settings, checked as the server checks
// them: the backend from --provider-model-backend, else
// GHILLIE_STATUS_MODEL_BACKEND, else mock, and for openai the key from
// the variable key.
func (a *app) upModel(cfg *stack.Config, backendFlag string, key credentialVariable) error {
	raw, source := a.setting(strings.TrimSpace(backendFlag), "--"+flagModelBackend,
		status.EnvBackend, "")
	backend := strings.ToLower(strings.TrimSpace(raw))
	switch backend {
	case "":
		fmt.Fprintf(a.stderr, "Neither --%s nor %s is set: the preview uses the mock "+
			"status model.\n", flagModelBackend, status.EnvBackend)
		backend = "mock"
	case "mock", "openai":
	default:
		return usageError{fmt.Errorf("invalid %s %q: use %s", source, strings.TrimSpace(raw),
			strings.Join(status.Backends, " or "))}
	}
	cfg.Model.Backend = backend
	if backend == "mock" {
		if key.explicit {
			fmt.Fprintf(a.stderr, "The mock status model needs no API key, so %s is not read: "+
				"give --%s openai to use it.\n", key.name, flagModelBackend)
		}
		return nil
	}

	if err := key.checkSet(a.env, flagOpenAIKeyEnv, status.EnvOpenAIAPIKey,
		"OpenAI API key"); err != nil {
		return err
	}
	openai, err := status.OpenAIConfigFromEnv(renamedEnv(a.env, status.EnvOpenAIAPIKey,
		key.name))
	if err != nil {
		return usageError{renameVariable(err, status.EnvOpenAIAPIKey, key.name)}
	}
	cfg.Secrets.OpenAIAPIKey = string(openai.APIKey)

	// Only the settings the environment gives are passed on, so that the
	// others keep the binary's defaults.
	set := func(name string) bool { return strings.TrimSpace(a.env(name)) != "" }
	if set(status.EnvOpenAIEndpoint) {
		cfg.Model.Endpoint = openai.Endpoint
	}
	if set(status.EnvOpenAIModel) {
		cfg.Model.Name = openai.Model
	}
	if set(status.EnvOpenAITemperature) {
		cfg.Model.Temperature = &openai.Temperature
	}
	if set(status.EnvOpenAIMaxTokens) {
		cfg.Model.MaxTokens = &openai.MaxTokens
	}
	return nil
}
