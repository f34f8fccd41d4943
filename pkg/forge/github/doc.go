// Package github is the forge.Forge of a platform repository on GitHub or GitHub Enterprise Server, over go-github (REST) and githubv4 (GraphQL), with retries and errors that say what to do.
package github
