package githubapi_test

import (
	"fmt"

	"github.com/ghillie/ghillie/adapters/githubapi"
)

func ExampleConfigFromEnv() {
	env := map[string]string{
		"GHILLIE_GITHUB_TOKEN":   "ghp_example",
		"GHILLIE_GITHUB_API_URL": "https://ghe.example.com/api/v3",
	}
	cfg, err := githubapi.ConfigFromEnv(func(name string) string { return env[name] })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg)

	_, err = githubapi.ConfigFromEnv(func(string) string { return "" })
	fmt.Println(err)
	// Output:
	// {Token:[REDACTED] App:nil APIURL:https://ghe.example.com/api/v3 Timeout:20s}
	// GHILLIE_GITHUB_TOKEN is required for GitHub API unless a GitHub App is configured with GHILLIE_GITHUB_APP_ID, GHILLIE_GITHUB_APP_INSTALLATION_ID and GHILLIE_GITHUB_APP_PRIVATE_KEY (or GHILLIE_GITHUB_APP_PRIVATE_KEY_PATH)
}
