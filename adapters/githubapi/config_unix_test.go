//go:build unix

package githubapi

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/ingest"
)

func TestPrivateKeyFileChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.pem")
	if err := os.Symlink(write("app.pem", []byte(testKeyPEM())), link); err != nil {
		t.Fatal(err)
	}
	public, err := x509.MarshalPKIXPublicKey(&testKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		problem string // empty when the key is accepted
	}{
		{"symlink to a key", link, ""},
		{"named pipe", fifo, "is a named pipe, not a regular file"},
		{"device", "/dev/zero", "is a device, not a regular file"},
		{"directory", dir, "is a directory, not a regular file"},
		{"too large", write("big.pem", make([]byte, maxKeyFileSize+1)),
			"has 65537 bytes, more than a private key's limit of 65536"},
		{"public key", write("pub.pem", []byte(pemOf("PUBLIC KEY", public, nil))),
			"GHILLIE_GITHUB_APP_PRIVATE_KEY_PATH names a file that holds a public key: " +
				"give the App's private key, as PEM"},
		{"empty", write("empty.pem", nil), "holds no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			done := make(chan struct{})
			var cfg Config
			var err error
			go func() {
				defer close(done)
				cfg, err = ConfigFromEnv(env(map[string]string{
					EnvAppID: "1", EnvAppInstallationID: "2", EnvAppPrivateKeyPath: tt.path,
				}))
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("reading the key file blocked")
			}
			if tt.problem == "" {
				is.NoErr(err)
				is.True(cfg.App.PrivateKey.Equal(testKey()))
				return
			}
			var cfgErr *ingest.ConfigError
			is.True(errors.As(err, &cfgErr))
			is.Equal(cfgErr.Variable, EnvAppPrivateKeyPath)
			is.True(strings.Contains(err.Error(), tt.problem))
		})
	}
}
