package registry

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeychain_GHCRFromWorkflowToken(t *testing.T) {
	tests := []struct {
		name     string
		registry string
		env      map[string]string
		want     *authn.AuthConfig
	}{
		{"token and actor", "ghcr.io/acme/agent", map[string]string{"GITHUB_TOKEN": "tok", "GITHUB_ACTOR": "octo"},
			&authn.AuthConfig{Username: "octo", Password: "tok"}},
		{"token without actor", "ghcr.io/acme/agent", map[string]string{"GITHUB_TOKEN": "tok"},
			&authn.AuthConfig{Username: "x-access-token", Password: "tok"}},
		{"no token is anonymous", "ghcr.io/acme/agent", map[string]string{}, &authn.AuthConfig{}},
		{"other registry never gets the token", "quay.io/acme/agent", map[string]string{"GITHUB_TOKEN": "tok"}, &authn.AuthConfig{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo, err := name.NewRepository(tc.registry)
			require.NoError(t, err)
			kc := ghcrKeychain{getenv: func(k string) string { return tc.env[k] }}
			auth, err := kc.Resolve(repo)
			require.NoError(t, err)
			cfg, err := auth.Authorization()
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg)
		})
	}
}
