// Package apidesc validates HTTP exchanges with the GitHub API against GitHub's published descriptions (the REST OpenAPI description of @octokit/openapi 23.0.2 and the GraphQL schema of @octokit/graphql-schema 15.26.1, both MIT; data/ holds the subset Flightline uses, made by gen/).
package apidesc
