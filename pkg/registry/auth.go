package registry

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// GHCR is the GitHub Container Registry host, whose credentials come from the workflow token.
const GHCR = "ghcr.io"

// Keychain returns the credentials Flightline uses for a registry: for ghcr.io, GITHUB_TOKEN with
// GITHUB_ACTOR as the user name (as docker/login-action does in a workflow) when the token is
// set; otherwise, and for every other registry, the docker config (DOCKER_CONFIG or
// ~/.docker/config.json, then Podman's auth file), falling back to anonymous access.
// getenv is how the environment is read (os.Getenv in the binary, a map in tests).
func Keychain(getenv func(string) string) authn.Keychain {
	return authn.NewMultiKeychain(ghcrKeychain{getenv: getenv}, authn.DefaultKeychain)
}

type ghcrKeychain struct{ getenv func(string) string }

func (k ghcrKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

func (k ghcrKeychain) ResolveContext(_ context.Context, r authn.Resource) (authn.Authenticator, error) {
	if !strings.EqualFold(r.RegistryStr(), GHCR) {
		return authn.Anonymous, nil
	}
	token := k.getenv("GITHUB_TOKEN")
	if token == "" {
		return authn.Anonymous, nil
	}
	user := k.getenv("GITHUB_ACTOR")
	if user == "" {
		user = "x-access-token" // GHCR accepts any user name with a token
	}
	return &authn.Basic{Username: user, Password: token}, nil
}
