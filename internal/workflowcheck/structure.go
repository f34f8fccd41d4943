package workflowcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The rules in this file look at workflows together: which actions a reusable workflow runs and at
// which commit, which concurrency groups a caller and its callees hold, and which jobs can run on a
// pull request. They complement the per-file rules of CheckFile.

// SelfDir is where a reusable workflow of Flightline checks out Flightline's own tree (at the
// workflow's own commit) before it uses ./.flightline/actions/<name>.
const SelfDir = ".flightline"

// SelfJob is the job that finds the workflow's own repository and commit.
const SelfJob = "flightline"

var (
	selfRepoExpr = regexp.MustCompile(`^\$\{\{\s*needs\.` + SelfJob + `\.outputs\.repository\s*\}\}$`)
	selfSHAExpr  = regexp.MustCompile(`^\$\{\{\s*needs\.` + SelfJob + `\.outputs\.sha\s*\}\}$`)
	remoteSelf   = regexp.MustCompile(`^labrats-work/flightline(/[^@]*)?@`)
	localWF      = regexp.MustCompile(`^(?:\./|labrats-work/flightline/)\.github/workflows/([^@/]+\.ya?ml)(?:@.*)?$`)
	actionName   = regexp.MustCompile(`(?:^\./\.flightline/actions/|^\./actions/|^labrats-work/flightline/actions/)([a-z0-9-]+)`)
)

// Workflow is one parsed workflow file, with what the structure rules need.
type Workflow struct {
	File     string
	Reusable bool // on: workflow_call
	Group    *yaml.Node
	Jobs     []*Job
	byName   map[string]*Job
	rootNode *yaml.Node
}

// Job is one job of a workflow.
type Job struct {
	Name  string
	Node  *yaml.Node
	If    string
	Needs []string
	Group *yaml.Node
	Uses  *yaml.Node // a reusable workflow call
	Steps []*yaml.Node
}

// LoadWorkflow parses a workflow file.
func LoadWorkflow(path string) (*Workflow, error) {
	root, err := readMapping(path)
	if err != nil {
		return nil, err
	}
	w := &Workflow{File: path, rootNode: root, byName: map[string]*Job{}}
	if on := get(root, "on"); on != nil {
		switch on.Kind {
		case yaml.MappingNode:
			w.Reusable = get(on, "workflow_call") != nil || hasKey(on, "workflow_call")
		case yaml.SequenceNode:
			for _, n := range on.Content {
				w.Reusable = w.Reusable || n.Value == "workflow_call"
			}
		case yaml.ScalarNode:
			w.Reusable = on.Value == "workflow_call"
		}
	}
	w.Group = group(get(root, "concurrency"))
	jobs := get(root, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return w, nil
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		n := jobs.Content[i+1]
		j := &Job{Name: jobs.Content[i].Value, Node: n, Group: group(get(n, "concurrency")), Uses: get(n, "uses"), Steps: items(get(n, "steps"))}
		if c := get(n, "if"); c != nil {
			j.If = c.Value
		}
		switch needs := get(n, "needs"); {
		case needs == nil:
		case needs.Kind == yaml.ScalarNode:
			j.Needs = []string{needs.Value}
		default:
			for _, x := range needs.Content {
				j.Needs = append(j.Needs, x.Value)
			}
		}
		w.Jobs = append(w.Jobs, j)
		w.byName[j.Name] = j
	}
	return w, nil
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

// group returns the node holding a concurrency group name (concurrency: NAME or concurrency: {group: NAME}).
func group(c *yaml.Node) *yaml.Node {
	if c == nil {
		return nil
	}
	if c.Kind == yaml.ScalarNode {
		return c
	}
	return get(c, "group")
}

// actions returns the Flightline actions a job uses (by name: lint, promote, rollback, ...).
func (j *Job) actions() map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for _, st := range j.Steps {
		if u := get(st, "uses"); u != nil {
			if m := actionName.FindStringSubmatch(u.Value); m != nil {
				out[m[1]] = u
			}
		}
	}
	return out
}

// CheckStructure applies the cross-file rules to the workflows under root: the files given, and
// the local reusable workflows they call.
func CheckStructure(root string, files []string) ([]Finding, error) {
	s := &structure{root: root, wf: map[string]*Workflow{}}
	for _, f := range files {
		if _, err := s.load(f); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(s.wf))
	for n := range s.wf {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w := s.wf[n]
		if w.Reusable && strings.HasPrefix(rel(root, w.File), ".github/workflows/") {
			s.selfVersion(w)
		}
		s.concurrency(w)
		s.pullRequests(w)
	}
	return s.findings, nil
}

type structure struct {
	root     string
	wf       map[string]*Workflow
	findings []Finding
}

func (s *structure) add(file string, n *yaml.Node, kind, format string, args ...any) {
	f := Finding{File: file, Kind: kind, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		f.Line, f.Col = n.Line, n.Column
	}
	s.findings = append(s.findings, f)
}

func (s *structure) load(path string) (*Workflow, error) {
	if w, ok := s.wf[path]; ok {
		return w, nil
	}
	w, err := LoadWorkflow(path)
	if err != nil {
		return nil, err
	}
	s.wf[path] = w
	for _, j := range w.Jobs {
		if j.Uses == nil {
			continue
		}
		if m := localWF.FindStringSubmatch(j.Uses.Value); m != nil {
			callee := filepath.Join(s.root, ".github", "workflows", m[1])
			if _, err := os.Stat(callee); err != nil {
				s.add(path, j.Uses, "reusable-workflow", "job %q calls %s, which is not in this repository", j.Name, j.Uses.Value)
				continue
			}
			if _, err := s.load(callee); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// callee returns the local reusable workflow a job calls, or nil.
func (s *structure) callee(j *Job) *Workflow {
	if j.Uses == nil {
		return nil
	}
	m := localWF.FindStringSubmatch(j.Uses.Value)
	if m == nil {
		return nil
	}
	return s.wf[filepath.Join(s.root, ".github", "workflows", m[1])]
}

// selfVersion: a reusable workflow of Flightline runs Flightline's actions at its own commit, so
// it never uses ./actions/... (the caller's tree) nor labrats-work/flightline/...@ref (another
// version); each use of ./.flightline/actions/<name> follows a checkout of the commit that the
// job flightline found, and passes only inputs that the action declares.
func (s *structure) selfVersion(w *Workflow) {
	file := w.File
	self := w.byName[SelfJob]
	usesSelf := false
	for _, j := range w.Jobs {
		checkedOut := false
		for _, st := range j.Steps {
			u := get(st, "uses")
			if u == nil {
				continue
			}
			v := u.Value
			switch {
			case strings.HasPrefix(v, "./actions/") || v == "./" || v == ".":
				s.add(file, u, "self-version", "%s in a reusable workflow resolves against the caller's repository: use ./%s/actions/<name> after checking out Flightline at needs.%s.outputs.sha", v, SelfDir, SelfJob)
			case remoteSelf.MatchString(v):
				s.add(file, u, "self-version", "%s runs another commit of Flightline than this workflow's own: use ./%s/actions/<name>", v, SelfDir)
			case strings.HasPrefix(v, "actions/checkout@") && s.isSelfCheckout(file, j, st):
				checkedOut = true
			case strings.HasPrefix(v, "./"+SelfDir+"/"):
				usesSelf = true
				if !checkedOut {
					s.add(file, u, "self-version", "job %q uses %s before checking out Flightline at needs.%s.outputs.sha into %s", j.Name, v, SelfJob, SelfDir)
				}
				if !contains(j.Needs, SelfJob) {
					s.add(file, u, "self-version", "job %q uses %s but does not need the job %q that finds Flightline's commit", j.Name, v, SelfJob)
				}
				s.inputs(file, st, u)
			case strings.HasPrefix(v, "./"):
				s.add(file, u, "self-version", "%s is a path in the caller's repository: a reusable workflow of Flightline may only use ./%s/actions/<name>", v, SelfDir)
			}
		}
	}
	for _, j := range w.Jobs {
		if j.Uses == nil && get(j.Node, "permissions") == nil {
			s.add(file, j.Node, "permissions", "job %q of a reusable workflow declares no permissions: of its own: state each grant it needs, with a comment", j.Name)
		}
	}
	if usesSelf {
		if self == nil {
			s.add(file, w.rootNode, "self-version", "no job %q finds the commit of Flightline that this workflow is", SelfJob)
			return
		}
		found := false
		for _, st := range self.Steps {
			if env := get(st, "env"); env != nil {
				for i := 0; i+1 < len(env.Content); i += 2 {
					if strings.Contains(strings.ReplaceAll(env.Content[i+1].Value, " ", ""), "toJSON(job)") {
						found = true
					}
				}
			}
		}
		if !found {
			s.add(file, self.Node, "self-version", "job %q must read job.workflow_repository and job.workflow_sha (pass ${{ toJSON(job) }} through env:)", SelfJob)
		}
	}
}

// isSelfCheckout tells whether a checkout step checks out Flightline at the workflow's own
// commit into .flightline, outside act; or, under act only, whether it is the workspace's own.
func (s *structure) isSelfCheckout(file string, j *Job, st *yaml.Node) bool {
	with := get(st, "with")
	repo, ref, path := get(with, "repository"), get(with, "ref"), get(with, "path")
	if path == nil || strings.TrimSuffix(path.Value, "/") != SelfDir {
		return false
	}
	if repo == nil || !selfRepoExpr.MatchString(repo.Value) || ref == nil || !selfSHAExpr.MatchString(ref.Value) {
		s.add(file, st, "self-version", "job %q checks out %s from somewhere else than needs.%s.outputs.repository at needs.%s.outputs.sha", j.Name, SelfDir, SelfJob, SelfJob)
		return false
	}
	return true
}

// inputs: every with: key is an input of the local action, and every required input is given.
func (s *structure) inputs(file string, st, u *yaml.Node) {
	name := strings.TrimPrefix(u.Value, "./"+SelfDir+"/")
	path := filepath.Join(s.root, name, "action.yml")
	data, err := os.ReadFile(path)
	if err != nil {
		s.add(file, u, "self-version", "%s: Flightline has no action %s", u.Value, name)
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		s.add(file, u, "self-version", "%s: cannot read %s", u.Value, path)
		return
	}
	declared := map[string]bool{}
	required := map[string]bool{}
	inputs := get(doc.Content[0], "inputs")
	if inputs != nil {
		for i := 0; i+1 < len(inputs.Content); i += 2 {
			declared[inputs.Content[i].Value] = true
			if r := get(inputs.Content[i+1], "required"); r != nil && r.Value == "true" && get(inputs.Content[i+1], "default") == nil {
				required[inputs.Content[i].Value] = true
			}
		}
	}
	with := get(st, "with")
	given := map[string]bool{}
	if with != nil {
		for i := 0; i+1 < len(with.Content); i += 2 {
			k := with.Content[i]
			given[k.Value] = true
			if !declared[k.Value] {
				s.add(file, k, "action-input", "%s has no input %q", name, k.Value)
			}
		}
	}
	var missing []string
	for r := range required {
		if !given[r] {
			missing = append(missing, r)
		}
	}
	sort.Strings(missing)
	for _, r := range missing {
		s.add(file, u, "action-input", "%s needs the input %q", name, r)
	}
}

// concurrency: a rollback is never in a concurrency group (it would queue behind whatever holds
// the group, a watch for hours, and a later pending run would cancel it), nor inside a workflow
// that holds a workflow-level group; no group is shared across a workflow_call boundary (GitHub
// cancels that as a deadlock); a watch holds no group that another job uses.
func (s *structure) concurrency(w *Workflow) {
	file := w.File
	for _, j := range w.Jobs {
		acts := j.actions()
		callee := s.callee(j)
		if _, ok := acts["rollback"]; ok || (callee != nil && s.rollsBack(callee)) {
			if j.Group != nil {
				s.add(file, j.Group, "concurrency", "job %q rolls back inside the concurrency group %q: a rollback must never queue behind a watch nor be cancelled by a later pending run; remove the group (compare-and-swap on refs settles races)", j.Name, j.Group.Value)
			}
			if w.Group != nil {
				s.add(file, w.Group, "concurrency", "this workflow rolls back (job %q) but holds the workflow-level group %q for the whole run: a rollback would wait behind, or be cancelled by, another run of it", j.Name, w.Group.Value)
			}
		}
		if _, ok := acts["canary-monitor"]; ok && j.Group != nil {
			for _, o := range w.Jobs {
				if o != j && o.Group != nil && overlap(o.Group.Value, j.Group.Value) {
					s.add(file, j.Group, "concurrency", "the watch (job %q) holds the group %q that job %q also uses: a watch may hold it for hours", j.Name, j.Group.Value, o.Name)
				}
			}
		}
		if callee == nil {
			continue
		}
		var held []*yaml.Node
		if w.Group != nil {
			held = append(held, w.Group)
		}
		if j.Group != nil {
			held = append(held, j.Group)
		}
		for _, h := range held {
			for _, g := range callee.groups() {
				if overlap(h.Value, g.Value) {
					s.add(file, h, "concurrency", "the group %q is held while job %q calls %s, whose group %q can be the same: GitHub cancels that as a deadlock", h.Value, j.Name, rel(s.root, callee.File), g.Value)
				}
			}
		}
	}
}

// groups returns every concurrency group a workflow holds, its callees' included.
func (w *Workflow) groups() []*yaml.Node {
	var out []*yaml.Node
	if w.Group != nil {
		out = append(out, w.Group)
	}
	for _, j := range w.Jobs {
		if j.Group != nil {
			out = append(out, j.Group)
		}
	}
	return out
}

func (s *structure) rollsBack(w *Workflow) bool {
	for _, j := range w.Jobs {
		if _, ok := j.actions()["rollback"]; ok {
			return true
		}
		if c := s.callee(j); c != nil && c != w && s.rollsBack(c) {
			return true
		}
	}
	return false
}

// overlap tells whether two group names can be equal at run time: their literal parts up to the
// first expression are prefixes of one another (an expression can expand to anything).
func overlap(a, b string) bool {
	la, ea := literal(a)
	lb, eb := literal(b)
	switch {
	case !ea && !eb:
		return la == lb
	case !ea:
		return strings.HasPrefix(la, lb)
	case !eb:
		return strings.HasPrefix(lb, la)
	default:
		return strings.HasPrefix(la, lb) || strings.HasPrefix(lb, la)
	}
}

func literal(g string) (string, bool) {
	if i := strings.Index(g, "${{"); i >= 0 {
		return g[:i], true
	}
	return g, false
}

// pullRequests: on a pull request (forks included, which have no secrets) nothing is promoted,
// watched or rolled back. The job that promotes excludes both pull-request events in its if:;
// the watch runs only after a successful promotion; a rollback only on the watch's decision.
func (s *structure) pullRequests(w *Workflow) {
	file := w.File
	for _, j := range w.Jobs {
		acts := j.actions()
		if u, ok := acts["promote"]; ok {
			for _, ev := range []string{"pull_request", "pull_request_target"} {
				if !regexp.MustCompile(`github\.event_name\s*!=\s*'` + ev + `'`).MatchString(j.If) {
					s.add(file, u, "pull-request", "job %q promotes but its if: does not exclude github.event_name == '%s': a pull request (a fork's included) must never promote", j.Name, ev)
				}
			}
		}
		if u, ok := acts["canary-monitor"]; ok {
			if p := s.promoter(w); p != "" && !regexp.MustCompile(`needs\.`+p+`\.result\s*==\s*'success'`).MatchString(j.If) {
				s.add(file, u, "pull-request", "job %q watches without requiring needs.%s.result == 'success' in its if:", j.Name, p)
			}
		}
		if u, ok := acts["rollback"]; ok {
			if c := s.watcher(w); c != "" && !regexp.MustCompile(`needs\.`+c+`\.outputs\.decision\s*==\s*'rollback'`).MatchString(j.If) {
				s.add(file, u, "pull-request", "job %q rolls back without requiring needs.%s.outputs.decision == 'rollback' in its if:", j.Name, c)
			}
		}
	}
}

func (s *structure) promoter(w *Workflow) string { return s.jobUsing(w, "promote") }
func (s *structure) watcher(w *Workflow) string  { return s.jobUsing(w, "canary-monitor") }

func (s *structure) jobUsing(w *Workflow, action string) string {
	for _, j := range w.Jobs {
		if _, ok := j.actions()[action]; ok {
			return j.Name
		}
	}
	return ""
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
