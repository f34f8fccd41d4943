package imagepolicy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Repository is one Flux ImageRepository found in a file.
type Repository struct {
	Ref        Ref
	APIVersion string
	// Image is spec.image.
	Image string
	// ExclusionList is spec.exclusionList as written (nil when unset).
	ExclusionList []string
	// Line is the line of the object in its file.
	Line int
	// Warnings name what Flightline reads but Flux may treat differently.
	Warnings []string
}

// Exclusions returns the patterns Flux applies to the repository's tags: spec.exclusionList, or
// DefaultExclusions when it is unset or empty (image-reflector-controller's GetExclusionList).
func (r Repository) Exclusions() []string {
	if len(r.ExclusionList) > 0 {
		return r.ExclusionList
	}
	return DefaultExclusions
}

func isImageRepository(o object) bool {
	return o.kind == "ImageRepository" && strings.HasPrefix(o.apiVersion, Group+"/")
}

func newRepository(o object) Repository {
	r := Repository{Ref: o.ref, APIVersion: o.apiVersion, Line: o.line}
	spec := valueOf(o.root, "spec")
	r.Image = scalarAt(spec, "image")
	if el := valueOf(spec, "exclusionList"); el != nil && el.Kind == yaml.SequenceNode {
		r.ExclusionList = []string{}
		for _, it := range el.Content {
			if it = deref(it); it != nil && it.Kind == yaml.ScalarNode {
				r.ExclusionList = append(r.ExclusionList, it.Value)
			}
		}
	}
	if w, ok := deprecatedVersions[o.apiVersion]; ok {
		r.Warnings = append(r.Warnings, fmt.Sprintf("ImageRepository %q (line %d): %s", o.ref, o.line, strings.ReplaceAll(w, "ImagePolicy", "ImageRepository")))
	}
	if v := valueOf(spec, "suspend"); v != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!bool" && v.Value == "true" {
		r.Warnings = append(r.Warnings, fmt.Sprintf("ImageRepository %q (line %d) has spec.suspend: true: Flux does not scan it, so the policy sees the tags of its last scan, not today's", o.ref, o.line))
	}
	return r
}

// repositories returns the ImageRepository objects of docs named ref (any apiVersion of the
// group), and every ImageRepository for messages.
func repositories(docs []*yaml.Node, ref Ref) (found, all []object) {
	for _, o := range objects(docs) {
		if !isImageRepository(o) {
			continue
		}
		all = append(all, o)
		if o.ref == ref {
			found = append(found, o)
		}
	}
	return found, all
}

// FindRepository returns the ImageRepository identified by ref in a multi-document YAML file
// (items of a kind: List included). It fails with ErrNotFound (listing the ones the file has),
// ErrDuplicate, or ErrAPIVersion for an apiVersion other than v1, v1beta2 or v1beta1.
func FindRepository(data []byte, ref Ref) (Repository, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return Repository{}, err
	}
	return findRepositoryIn(docs, ref)
}

func findRepositoryIn(docs []*yaml.Node, ref Ref) (Repository, error) {
	found, all := repositories(docs, ref)
	switch {
	case len(found) == 0:
		if len(all) == 0 {
			return Repository{}, fmt.Errorf("%w: ImageRepository %q is not in the file (it has no ImageRepository)", ErrNotFound, ref)
		}
		names := make([]string, len(all))
		for i, o := range all {
			names[i] = fmt.Sprintf("%s (line %d)", describe(o.ref), o.line)
		}
		return Repository{}, fmt.Errorf("%w: ImageRepository %q is not in the file; it has: %s", ErrNotFound, ref, strings.Join(names, ", "))
	case len(found) > 1:
		lines := make([]string, len(found))
		for i, o := range found {
			lines[i] = fmt.Sprint(o.line)
		}
		return Repository{}, fmt.Errorf("%w: ImageRepository %q is defined %d times (lines %s); keep one", ErrDuplicate, ref, len(found), strings.Join(lines, ", "))
	}
	o := found[0]
	if !slices.Contains(supportedVersions, o.apiVersion) {
		return Repository{}, fmt.Errorf("%w: ImageRepository %q (line %d) uses apiVersion %s; Flightline reads %s (use image.toolkit.fluxcd.io/v1)", ErrAPIVersion, ref, o.line, o.apiVersion, strings.Join(supportedVersions, ", "))
	}
	return newRepository(o), nil
}

// ImageOf returns spec.image of the ImageRepository that the policy ref refers to
// (spec.imageRepositoryRef), looked up in the same file.
func ImageOf(data []byte, ref Ref) (string, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return "", err
	}
	p, err := findPolicy(docs, ref)
	if err != nil {
		return "", err
	}
	want := p.policy.ImageRepository
	if want.Name == "" {
		return "", fmt.Errorf("%w: ImagePolicy %q (line %d) has no spec.imageRepositoryRef.name; give the image repository explicitly", ErrNotFound, ref, p.line)
	}
	repo, err := findRepositoryIn(docs, want)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			msg := strings.TrimPrefix(err.Error(), ErrNotFound.Error()+": ")
			msg = strings.Replace(msg, fmt.Sprintf("ImageRepository %q is", want), fmt.Sprintf("ImagePolicy %q refers to ImageRepository %q, which is", ref, want), 1)
			return "", fmt.Errorf("%w: %s; give the image repository explicitly", ErrNotFound, msg)
		}
		return "", err
	}
	if repo.Image == "" {
		return "", fmt.Errorf("%w: ImageRepository %q (line %d) has no spec.image; give the image repository explicitly", ErrNotFound, want, repo.Line)
	}
	return repo.Image, nil
}

// SelectorFor returns the Selector Flux applies for policy p: its filterTags, and the exclusions
// of repo (Flux's DefaultExclusions when repo is nil, because the ImageRepository could not be
// read). An invalid pattern fails with ErrInvalidFilter or ErrInvalidExclusion.
func SelectorFor(p Policy, repo *Repository, rules Rules) (*Selector, error) {
	excl := DefaultExclusions
	if repo != nil {
		excl = repo.Exclusions()
	}
	s, err := NewSelector(p.Ref, p.Filter, excl, rules)
	if err != nil && errors.Is(err, ErrInvalidExclusion) && repo != nil {
		return nil, fmt.Errorf("ImageRepository %q (line %d) spec.exclusionList: %w", repo.Ref, repo.Line, err)
	}
	return s, err
}

// SelectorIn finds the policy ref in data and returns its Selector with the exclusions of the
// ImageRepository it refers to when that is in the same file (Flux's DefaultExclusions when it
// is not).
func SelectorIn(data []byte, ref Ref, rules Rules) (*Selector, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return nil, err
	}
	p, err := findIn(docs, ref)
	if err != nil {
		return nil, err
	}
	var repo *Repository
	if want := p.policy.ImageRepository; want.Name != "" {
		if r, err := findRepositoryIn(docs, want); err == nil {
			repo = &r
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return SelectorFor(p.policy, repo, rules)
}

// Search limits: a bounded search reads at most MaxSearchFiles YAML files of at most
// MaxSearchFileSize bytes each, MaxSearchDepth directories deep.
const (
	MaxSearchFiles    = 2000
	MaxSearchFileSize = 1 << 20
	MaxSearchDepth    = 10
)

// ErrSearchLimit reports a search that reached MaxSearchFiles before finding the object.
var ErrSearchLimit = errors.New("search limit reached")

// SearchRepository looks for the ImageRepository ref in the YAML files (.yaml, .yml) of fsys,
// skipping hidden directories (.git), node_modules and vendor, and files that do not parse
// (templates). It returns the repository and the path of its file. It fails with ErrNotFound,
// ErrDuplicate (defined in several files; the message names them) or ErrSearchLimit.
func SearchRepository(fsys fs.FS, ref Ref) (Repository, string, error) {
	var found []Repository
	var files []string
	var firstErr error
	read := 0
	limited := false
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: skip
		}
		if d.IsDir() {
			base := d.Name()
			if p != "." && (strings.HasPrefix(base, ".") || base == "node_modules" || base == "vendor" || strings.Count(p, "/") >= MaxSearchDepth) {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > MaxSearchFileSize || !info.Mode().IsRegular() {
			return nil
		}
		if read >= MaxSearchFiles {
			limited = true
			return fs.SkipAll
		}
		read++
		data, err := fs.ReadFile(fsys, p)
		if err != nil || !bytes.Contains(data, []byte("ImageRepository")) {
			return nil
		}
		docs, err := parseDocuments(data)
		if err != nil {
			return nil
		}
		r, err := findRepositoryIn(docs, ref)
		switch {
		case err == nil:
			found, files = append(found, r), append(files, p)
		case !errors.Is(err, ErrNotFound) && firstErr == nil:
			firstErr = fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return Repository{}, "", err
	}
	switch {
	case len(found) == 1:
		return found[0], files[0], nil
	case len(found) > 1:
		return Repository{}, "", fmt.Errorf("%w: ImageRepository %q is defined in %d files (%s); name the one Flux applies with image-repository-file", ErrDuplicate, ref, len(found), strings.Join(files, ", "))
	case firstErr != nil:
		return Repository{}, "", firstErr
	case limited:
		return Repository{}, "", fmt.Errorf("%w: ImageRepository %q is not in the first %d YAML files searched", ErrSearchLimit, ref, MaxSearchFiles)
	}
	return Repository{}, "", fmt.Errorf("%w: ImageRepository %q is in none of the %d YAML files searched", ErrNotFound, ref, read)
}
