package sarif

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"
)

// GitHub code scanning's upload limits (docs.github.com, "SARIF results exceed limit" and "SARIF
// file is too large"). A file over a hard limit is rejected whole, so Write keeps within them.
const (
	// MaxRuns is the most runs one file may hold. Write refuses more (it cannot merge tools).
	MaxRuns = 20
	// MaxResultsPerRun is the most results a run may hold; GitHub shows the top 5,000 by
	// severity. Write keeps the highest-level results and cuts the rest.
	MaxResultsPerRun = 25000
	// MaxRulesPerRun is the most rules a run may hold. Write lists only the rules its kept
	// results use, and refuses a run that still has more.
	MaxRulesPerRun = 25000
	// MaxTagsPerRule is the most tags (properties.tags) a rule may hold; Write keeps the first.
	MaxTagsPerRule = 20
	// MaxUploadBytes is the largest upload, measured gzip-compressed as upload-sarif sends it.
	// Write cuts the lowest-level results of every run in proportion until the file fits.
	MaxUploadBytes = 10 << 20
)

// SchemaURI is the $schema every written log names.
const SchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// SrcRoot is the uriBaseId of every artifact location: URIs are relative to the repository root.
const SrcRoot = "%SRCROOT%"

// FingerprintKey is the partialFingerprints key under which Result.Fingerprint is written.
// GitHub adds its own primaryLocationLineHash beside it when upload-sarif reads the sources.
const FingerprintKey = "flightline/v1"

// The SARIF result levels.
const (
	LevelError   = "error"
	LevelWarning = "warning"
	LevelNote    = "note"
	LevelNone    = "none"
)

// ErrLimit is returned (wrapped) when a log cannot be brought within GitHub's limits by cutting
// results: too many runs or too many rules.
var ErrLimit = errors.New("beyond GitHub's code scanning limits")

// Rule describes one check of a tool (a SARIF reportingDescriptor). Level is its default level
// (error, warning, note or none; empty means warning). Properties go out as they are: GitHub
// reads "tags", "precision", "problem.severity" and "security-severity" from them.
type Rule struct {
	ID, Name, ShortDescription, HelpURI, Level string
	Properties                                 map[string]any
}

// Result is one finding. RuleID is required. File is relative to the repository root (forward
// or OS slashes; it may not be absolute or climb out with ".."); a result without a File cannot
// be shown by code scanning and is cut. Line 0 means the whole file (written as line 1); Col 0
// and EndLine 0 mean unknown. Level empty means the rule's level. Fingerprint, when set, is
// written to partialFingerprints under FingerprintKey.
type Result struct {
	RuleID, Level, Message, File string
	Line, Col, EndLine           int
	Fingerprint                  string
}

// Run is one tool's results. Results may come in any order; when some must be cut, the
// highest-level ones are kept and, within a level, the earlier ones.
type Run struct {
	Tool, Version, InformationURI string
	Rules                         []Rule
	Results                       []Result
}

// Cut says what Write left out of one run to stay within GitHub's limits.
type Cut struct {
	Tool string
	// Results is how many results the run had; Kept how many were written.
	Results, Kept int
	// NoLocation results had no File; OverLimit were beyond MaxResultsPerRun; OverSize were cut
	// to bring the file under MaxUploadBytes.
	NoLocation, OverLimit, OverSize int
	// Tags is how many rule tags beyond MaxTagsPerRule were dropped.
	Tags int
}

// Total is how many results were cut.
func (c Cut) Total() int { return c.Results - c.Kept }

// String is one line for a log or a summary; empty when nothing was cut.
func (c Cut) String() string {
	var parts []string
	if c.NoLocation > 0 {
		parts = append(parts, fmt.Sprintf("%d without a file", c.NoLocation))
	}
	if c.OverLimit > 0 {
		parts = append(parts, fmt.Sprintf("%d beyond the %d results GitHub accepts per run", c.OverLimit, MaxResultsPerRun))
	}
	if c.OverSize > 0 {
		parts = append(parts, fmt.Sprintf("%d to keep the file under %d MiB compressed", c.OverSize, MaxUploadBytes>>20))
	}
	if c.Tags > 0 {
		parts = append(parts, fmt.Sprintf("%d rule tags beyond %d per rule", c.Tags, MaxTagsPerRule))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: kept %d of %d results; cut %s", c.Tool, c.Kept, c.Results, strings.Join(parts, ", "))
}

// Report is what WriteReport wrote: one Cut per run and the file's sizes.
type Report struct {
	Cuts []Cut
	// Bytes is the size written; GzipBytes the size upload-sarif will send.
	Bytes, GzipBytes int
}

// Write writes runs as one SARIF 2.1.0 log that GitHub code scanning accepts: every result has a
// ruleId and a rule in its run's driver, artifact URIs are relative with uriBaseId %SRCROOT%, and
// the file is within GitHub's limits (see the Max constants for what is cut, and how). What was
// cut is also written into the log, as a warning notification of the run's invocation.
func Write(w io.Writer, runs ...Run) error {
	_, err := WriteReport(w, runs...)
	return err
}

// WriteReport is Write, and returns what it cut.
func WriteReport(w io.Writer, runs ...Run) (Report, error) {
	if len(runs) > MaxRuns {
		return Report{}, fmt.Errorf("%d runs in one SARIF file, GitHub accepts at most %d: %w", len(runs), MaxRuns, ErrLimit)
	}
	prepared := make([]prepared, len(runs))
	for i, r := range runs {
		p, err := prepare(r)
		if err != nil {
			return Report{}, err
		}
		prepared[i] = p
	}
	// Size: cut every run's tail in proportion until the compressed file fits.
	var data []byte
	for attempt := 0; ; attempt++ {
		doc, err := build(prepared)
		if err != nil {
			return Report{}, err
		}
		data, err = json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return Report{}, fmt.Errorf("encoding SARIF: %w", err)
		}
		data = append(data, '\n')
		size := gzipSize(data)
		if size <= MaxUploadBytes {
			rep := Report{Bytes: len(data), GzipBytes: size}
			for _, p := range prepared {
				rep.Cuts = append(rep.Cuts, p.cut)
			}
			if _, err := w.Write(data); err != nil {
				return rep, fmt.Errorf("writing SARIF: %w", err)
			}
			return rep, nil
		}
		if attempt > 30 {
			return Report{}, fmt.Errorf("SARIF file is %d bytes compressed even after cutting results: %w", size, ErrLimit)
		}
		factor := float64(MaxUploadBytes) * 0.95 / float64(size)
		cutAny := false
		for i := range prepared {
			p := &prepared[i]
			keep := int(float64(len(p.results)) * factor)
			if keep < len(p.results) {
				p.cut.OverSize += len(p.results) - keep
				p.results = p.results[:keep]
				p.cut.Kept = keep
				cutAny = true
			}
		}
		if !cutAny {
			return Report{}, fmt.Errorf("SARIF file is %d bytes compressed with no results left to cut: %w", size, ErrLimit)
		}
	}
}

type prepared struct {
	run     Run
	results []Result // normalised, ordered by priority
	cut     Cut
}

var levelRank = map[string]int{LevelError: 0, LevelWarning: 1, LevelNote: 2, LevelNone: 3}

// NormalizeLevel maps a level to a SARIF one: error, warning, note or none ("" stays "").
// It accepts a few common synonyms (warn, info, notice); anything else is an error.
func NormalizeLevel(l string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(l)) {
	case "":
		return "", nil
	case "error":
		return LevelError, nil
	case "warning", "warn":
		return LevelWarning, nil
	case "note", "info", "notice":
		return LevelNote, nil
	case "none":
		return LevelNone, nil
	}
	return "", fmt.Errorf("unknown SARIF level %q: want error, warning, note or none", l)
}

// relURI turns a repository-relative path into a relative URI reference.
func relURI(file string) (string, error) {
	f := strings.ReplaceAll(file, `\`, "/")
	if strings.HasPrefix(f, "/") || (len(f) > 1 && f[1] == ':') {
		return "", fmt.Errorf("file %q is absolute: SARIF for GitHub needs paths relative to the repository root", file)
	}
	f = path.Clean(f)
	if f == ".." || strings.HasPrefix(f, "../") {
		return "", fmt.Errorf("file %q is outside the repository root", file)
	}
	return (&url.URL{Path: f}).EscapedPath(), nil
}

func prepare(r Run) (prepared, error) {
	if strings.TrimSpace(r.Tool) == "" {
		return prepared{}, errors.New("SARIF run without a tool name")
	}
	p := prepared{run: r, cut: Cut{Tool: r.Tool, Results: len(r.Results)}}
	ruleLevel := map[string]string{}
	for _, rule := range r.Rules {
		if rule.ID == "" {
			return prepared{}, fmt.Errorf("%s: rule without an id", r.Tool)
		}
		l, err := NormalizeLevel(rule.Level)
		if err != nil {
			return prepared{}, fmt.Errorf("%s: rule %s: %w", r.Tool, rule.ID, err)
		}
		ruleLevel[rule.ID] = l
	}
	for i, res := range r.Results {
		if res.RuleID == "" {
			return prepared{}, fmt.Errorf("%s: result %d (%s:%d) has no rule id; GitHub requires one", r.Tool, i+1, res.File, res.Line)
		}
		l, err := NormalizeLevel(res.Level)
		if err != nil {
			return prepared{}, fmt.Errorf("%s: result %d (%s:%d): %w", r.Tool, i+1, res.File, res.Line, err)
		}
		if l == "" {
			l = ruleLevel[res.RuleID]
		}
		if l == "" {
			l = LevelWarning
		}
		res.Level = l
		if strings.TrimSpace(res.File) == "" {
			p.cut.NoLocation++
			continue
		}
		if res.File, err = relURI(res.File); err != nil {
			return prepared{}, fmt.Errorf("%s: result %d: %w", r.Tool, i+1, err)
		}
		if strings.TrimSpace(res.Message) == "" {
			res.Message = res.RuleID
		}
		p.results = append(p.results, res)
	}
	sort.SliceStable(p.results, func(i, j int) bool {
		return levelRank[p.results[i].Level] < levelRank[p.results[j].Level]
	})
	if len(p.results) > MaxResultsPerRun {
		p.cut.OverLimit = len(p.results) - MaxResultsPerRun
		p.results = p.results[:MaxResultsPerRun]
	}
	p.cut.Kept = len(p.results)
	return p, nil
}

// The SARIF objects written (the subset GitHub reads).
type (
	log struct {
		Schema  string   `json:"$schema"`
		Version string   `json:"version"`
		Runs    []runDoc `json:"runs"`
	}
	runDoc struct {
		Tool        toolDoc         `json:"tool"`
		Invocations []invocationDoc `json:"invocations,omitempty"`
		Results     []resultDoc     `json:"results"`
	}
	toolDoc struct {
		Driver driverDoc `json:"driver"`
	}
	driverDoc struct {
		Name           string    `json:"name"`
		Version        string    `json:"version,omitempty"`
		InformationURI string    `json:"informationUri,omitempty"`
		Rules          []ruleDoc `json:"rules"`
	}
	ruleDoc struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name,omitempty"`
		ShortDescription     *messageDoc    `json:"shortDescription,omitempty"`
		HelpURI              string         `json:"helpUri,omitempty"`
		DefaultConfiguration *configDoc     `json:"defaultConfiguration,omitempty"`
		Properties           map[string]any `json:"properties,omitempty"`
	}
	configDoc struct {
		Level string `json:"level"`
	}
	messageDoc struct {
		Text string `json:"text"`
	}
	invocationDoc struct {
		ExecutionSuccessful        bool              `json:"executionSuccessful"`
		ToolExecutionNotifications []notificationDoc `json:"toolExecutionNotifications,omitempty"`
	}
	notificationDoc struct {
		Level   string     `json:"level"`
		Message messageDoc `json:"message"`
	}
	resultDoc struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             messageDoc        `json:"message"`
		Locations           []locationDoc     `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	}
	locationDoc struct {
		PhysicalLocation physicalDoc `json:"physicalLocation"`
	}
	physicalDoc struct {
		ArtifactLocation artifactDoc `json:"artifactLocation"`
		Region           regionDoc   `json:"region"`
	}
	artifactDoc struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId"`
	}
	regionDoc struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
		EndLine     int `json:"endLine,omitempty"`
	}
)

func build(ps []prepared) (log, error) {
	doc := log{Schema: SchemaURI, Version: "2.1.0", Runs: []runDoc{}}
	for i := range ps {
		p := &ps[i]
		given := map[string]Rule{}
		for _, rule := range p.run.Rules {
			if _, dup := given[rule.ID]; !dup {
				given[rule.ID] = rule
			}
		}
		rd := runDoc{
			Tool:    toolDoc{Driver: driverDoc{Name: p.run.Tool, Version: p.run.Version, InformationURI: p.run.InformationURI, Rules: []ruleDoc{}}},
			Results: []resultDoc{},
		}
		index := map[string]int{}
		tagsCut := 0
		addRule := func(id string) int {
			if n, ok := index[id]; ok {
				return n
			}
			rule, ok := given[id]
			if !ok {
				rule = Rule{ID: id}
			}
			var t int
			rd.Tool.Driver.Rules = append(rd.Tool.Driver.Rules, ruleDocOf(rule, &t))
			tagsCut += t
			index[id] = len(rd.Tool.Driver.Rules) - 1
			return index[id]
		}
		// Rules in the order given, then those only results name; only rules in use are listed.
		used := map[string]bool{}
		for _, res := range p.results {
			used[res.RuleID] = true
		}
		for _, rule := range p.run.Rules {
			if used[rule.ID] {
				addRule(rule.ID)
			}
		}
		for _, res := range p.results {
			r := resultDoc{
				RuleID:    res.RuleID,
				RuleIndex: addRule(res.RuleID),
				Level:     res.Level,
				Message:   messageDoc{Text: res.Message},
				Locations: []locationDoc{{PhysicalLocation: physicalDoc{
					ArtifactLocation: artifactDoc{URI: res.File, URIBaseID: SrcRoot},
					Region:           region(res),
				}}},
			}
			if res.Fingerprint != "" {
				r.PartialFingerprints = map[string]string{FingerprintKey: res.Fingerprint}
			}
			rd.Results = append(rd.Results, r)
		}
		if len(rd.Tool.Driver.Rules) > MaxRulesPerRun {
			return log{}, fmt.Errorf("%s: %d rules in one run, GitHub accepts at most %d: %w", p.run.Tool, len(rd.Tool.Driver.Rules), MaxRulesPerRun, ErrLimit)
		}
		p.cut.Tags = tagsCut
		if msg := p.cut.String(); msg != "" {
			rd.Invocations = []invocationDoc{{ExecutionSuccessful: true, ToolExecutionNotifications: []notificationDoc{
				{Level: LevelWarning, Message: messageDoc{Text: msg}},
			}}}
		}
		doc.Runs = append(doc.Runs, rd)
	}
	return doc, nil
}

func region(r Result) regionDoc {
	g := regionDoc{StartLine: r.Line}
	if g.StartLine < 1 {
		return regionDoc{StartLine: 1}
	}
	if r.Col > 0 {
		g.StartColumn = r.Col
	}
	if r.EndLine >= r.Line {
		g.EndLine = r.EndLine
	}
	return g
}

func ruleDocOf(r Rule, tagsCut *int) ruleDoc {
	d := ruleDoc{ID: r.ID, Name: r.Name, HelpURI: r.HelpURI}
	if r.ShortDescription != "" {
		d.ShortDescription = &messageDoc{Text: r.ShortDescription}
	}
	if l, _ := NormalizeLevel(r.Level); l != "" {
		d.DefaultConfiguration = &configDoc{Level: l}
	}
	if len(r.Properties) > 0 {
		d.Properties = make(map[string]any, len(r.Properties))
		for k, v := range r.Properties {
			if tags, ok := v.([]string); k == "tags" && ok && len(tags) > MaxTagsPerRule {
				*tagsCut += len(tags) - MaxTagsPerRule
				v = tags[:MaxTagsPerRule]
			}
			d.Properties[k] = v
		}
	}
	return d
}

func gzipSize(data []byte) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // compresses less than upload-sarif does: a safe over-estimate
	_, _ = zw.Write(data)
	_ = zw.Close()
	return buf.Len()
}
