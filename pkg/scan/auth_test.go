package scan

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryAuthEnv(t *testing.T) {
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".docker"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"auths":{"registry.example.com":{"auth":"eDp5"}},"credHelpers":{"gcr.io":"gcloud"}}`), 0o600))
	env := map[string]string{"HOME": home, "GITHUB_TOKEN": "ghs_token123456", "GITHUB_ACTOR": "octocat"}
	getenv := func(k string) string { return env[k] }

	got, cleanup, err := registryAuthEnv("ghcr.io", getenv)
	require.NoError(t, err)
	require.Len(t, got, 1)
	dir := strings.TrimPrefix(got[0], "DOCKER_CONFIG=")
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	var cfg struct {
		Auths       map[string]map[string]string
		CredHelpers map[string]string
	}
	require.NoError(t, json.Unmarshal(data, &cfg))
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("octocat:ghs_token123456")), cfg.Auths["ghcr.io"]["auth"])
	assert.Equal(t, "eDp5", cfg.Auths["registry.example.com"]["auth"], "the user's own logins stay")
	assert.Equal(t, "gcloud", cfg.CredHelpers["gcr.io"])
	cleanup()
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "the private config is removed after the scan")

	for _, host := range []string{"registry.example.com", "127.0.0.1:5000"} {
		got, _, err = registryAuthEnv(host, getenv)
		require.NoError(t, err)
		assert.Empty(t, got, "the workflow token goes to ghcr.io only")
	}
	delete(env, "GITHUB_TOKEN")
	got, _, err = registryAuthEnv("ghcr.io", getenv)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestTrivyEnv_NoTrivySettingsLeak(t *testing.T) {
	env := map[string]string{"HOME": "/h", "PATH": "/bin", "TRIVY_SEVERITY": "LOW", "TRIVY_IGNOREFILE": "x", "GITHUB_TOKEN": "t"}
	assert.Equal(t, []string{"HOME=/h", "PATH=/bin"}, trivyEnv(func(k string) string { return env[k] }))
}
