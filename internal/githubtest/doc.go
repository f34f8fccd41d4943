// Package githubtest is an in-process emulator of the part of the GitHub API that Flightline's GitHub forge uses, over real bare git repositories driven by the git binary, with fault injection and a request log.
//
// # What it emulates
//
// REST (also under /api/v3, as GitHub Enterprise Server serves it):
//
//	GET    /repos/{owner}/{repo}                          default branch, settings, the token's permissions
//	GET    /repos/{owner}/{repo}/git/ref/heads/{branch}   a branch tip
//	POST   /repos/{owner}/{repo}/git/refs                 create a branch (422 "Reference already exists")
//	DELETE /repos/{owner}/{repo}/git/refs/heads/{branch}  delete a branch (closes its open PRs)
//	GET    /repos/{owner}/{repo}/contents/{path}?ref=     a file, base64
//	GET    /repos/{owner}/{repo}/pulls                    state, head, base, sort, direction, per_page, page; Link: rel="next"
//	POST   /repos/{owner}/{repo}/pulls                    422 "A pull request already exists for OWNER:BRANCH." / "No commits between"
//	GET    /repos/{owner}/{repo}/pulls/{n}                with mergeable and mergeable_state (clean, blocked, dirty)
//	PATCH  /repos/{owner}/{repo}/pulls/{n}                title, body, state=closed
//	PUT    /repos/{owner}/{repo}/pulls/{n}/merge          merge or squash; sha (409 when the head moved); 405 on protection or conflict
//	POST   /repos/{owner}/{repo}/issues/{n}/comments
//	POST   /repos/{owner}/{repo}/issues/{n}/labels
//	GET    /repos/{owner}/{repo}/labels/{name}
//	POST   /repos/{owner}/{repo}/labels
//	GET    /repos/{owner}/{repo}/actions/permissions/workflow
//	GET    /repos/{owner}/{repo}/pulls/{n}/commits        the PR's commits, oldest first, author.login
//	GET    /repos/{owner}/{repo}/commits                  sha, path, per_page, page (git's default simplification)
//	GET    /repos/{owner}/{repo}/commits/{sha}            parents, author, files changed against the first parent
//	GET    /repos/{owner}/{repo}/commits/{sha}/pulls      the PRs a commit belongs to
//	GET    /user                                          the token's login; 403 for an App installation token
//
// PRs have an author (user.login: the token's Login that opened them) and may come from a fork
// (head.repo differs; OpenPullBy); commits made through the API are authored by the token's
// Login; a PR's body can be edited after it merged (EditBody), as anyone with triage access can.
// A fault can redirect (Fault.Redirect).
//
// GraphQL (at /graphql and /api/graphql): the mutations createCommitOnBranch (with the
// expectedHeadOid compare-and-swap), enablePullRequestAutoMerge and revertPullRequest. The
// emulator parses the document's selection set and answers exactly the fields asked for.
//
// Merges are `git merge-tree --write-tree` on the real objects; reverts are the three-way
// merge that undoes the merge commit (see gitRepo.revertTree for how that is done on git 2.39,
// which lacks `merge-tree --merge-base`). Conflicts are real conflicts.
//
// Tokens (AddToken) model what a token can see and do, including a workflow's GITHUB_TOKEN,
// which may open PRs only when the repository allows GitHub Actions to create them. Faults
// (Inject) answer a status code a number of times, add latency, run a function before the
// request is handled (a concurrent push between a client's read and its write), or handle the
// request and then lose its answer (a 502 after the write). Installation tokens get no
// "permissions" in repository answers, as on GitHub. Every request
// is logged with its operation (Log, Count), so tests and benchmarks can count API calls.
//
// # Where it differs from GitHub
//
//   - Only the routes above exist; anything else is 404. Responses carry the fields the forge
//     and doctor read, not every field GitHub sends.
//   - Adding a label that does not exist answers 422; github.com creates it on the fly. The
//     strict behaviour exercises the forge's create-if-missing path.
//   - Mergeability is computed synchronously (GitHub computes it in the background and may
//     answer mergeable: null at first). Branch protection is three switches (required review,
//     pending required checks, merge queue), not GitHub's rule sets; no review or check ever
//     arrives unless a test lifts the protection with Configure, which then merges the PRs
//     waiting on auto-merge.
//   - enablePullRequestAutoMerge refuses a PR in clean (or dirty) status, as GitHub does, and
//     accepts one that protection blocks; with a merge queue it simply waits like auto-merge.
//   - Commits are made by "GitHub <noreply@github.com>" and are not signed; dates come from a
//     logical clock that advances one second per event.
//   - revertPullRequest names its branch revert-N-HEAD as GitHub does; the error text for a
//     revert that does not apply is GitHub's web UI wording.
//   - Rate limits are only what faults inject; there is no search API, no webhooks, no checks.
package githubtest
