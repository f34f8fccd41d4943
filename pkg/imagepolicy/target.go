package imagepolicy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Target is an ImagePolicy with everything Flux applies when it selects a tag for it: its
// filterTags, the ImageRepository it refers to (for spec.image and the exclusionList) and the
// version rules. Create one with Load.
type Target struct {
	Policy Policy
	// Repository is the ImageRepository the policy refers to, nil when it was not found (then
	// Flux's DefaultExclusions are assumed and Warnings says so).
	Repository *Repository
	// RepositoryFile is the file the ImageRepository was found in ("" when it is the policy's).
	RepositoryFile string
	// Selector picks tags as Flux does for this policy.
	Selector *Selector
	// Warnings are for the user: deprecated apiVersions, suspended objects, assumptions.
	Warnings []string
}

// LoadOptions say where Load looks for the ImageRepository and which rules apply.
type LoadOptions struct {
	// Rules turn tags into versions (DefaultRules when empty).
	Rules Rules
	// RepositoryFile names the file that holds the ImageRepository (image-repository-file);
	// ReadFile reads it. When set, the ImageRepository must be there.
	RepositoryFile string
	ReadFile       func(name string) ([]byte, error)
	// Search, when not nil, is searched (SearchRepository, bounded) when the ImageRepository is
	// neither in RepositoryFile nor in the policy's file.
	Search fs.FS
	// ImageGiven says the caller names the image itself, so a missing ImageRepository is a
	// warning (Flux's default exclusions are assumed) rather than an error.
	ImageGiven bool
}

// Load finds the ImagePolicy ref in data (a multi-document file) and the ImageRepository it
// refers to: in o.RepositoryFile when given, else in the same file, else by a bounded search of
// o.Search. It fails as Find does, with ErrInvalidFilter for a filterTags.pattern Go's regexp
// rejects, ErrInvalidExclusion for a bad exclusionList, and ErrNotFound when no
// ImageRepository is found and the image is not given.
func Load(data []byte, ref Ref, o LoadOptions) (Target, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return Target{}, err
	}
	p, err := findIn(docs, ref)
	if err != nil {
		return Target{}, err
	}
	t := Target{Policy: p.policy}
	t.Warnings = append(t.Warnings, p.policy.Warnings...)
	want := p.policy.ImageRepository
	var repo Repository
	switch {
	case want.Name == "":
		err = fmt.Errorf("%w: ImagePolicy %q (line %d) has no spec.imageRepositoryRef.name", ErrNotFound, ref, p.line)
	case o.RepositoryFile != "":
		if o.ReadFile == nil {
			return Target{}, fmt.Errorf("reading %s: no file reader given", o.RepositoryFile)
		}
		rdata, rerr := o.ReadFile(o.RepositoryFile)
		if rerr != nil {
			return Target{}, fmt.Errorf("image-repository-file: reading %s: %w", o.RepositoryFile, rerr)
		}
		if repo, err = FindRepository(rdata, want); err != nil {
			return Target{}, fmt.Errorf("image-repository-file %s: %w", o.RepositoryFile, err)
		}
		t.RepositoryFile = o.RepositoryFile
	default:
		repo, err = findRepositoryIn(docs, want)
		if errors.Is(err, ErrNotFound) && o.Search != nil {
			var file string
			var serr error
			if repo, file, serr = SearchRepository(o.Search, want); serr == nil {
				err, t.RepositoryFile = nil, file
			} else {
				err = fmt.Errorf("ImagePolicy %q refers to ImageRepository %q, which is not in the policy's file and was not found elsewhere: %w", ref, want, serr)
			}
		}
	}
	if err != nil {
		missing := errors.Is(err, ErrNotFound) || errors.Is(err, ErrSearchLimit)
		if !missing {
			return Target{}, err
		}
		if !o.ImageGiven {
			return Target{}, fmt.Errorf("%w; name its file with image-repository-file, or give the image (Flux's default exclusionList is then assumed)", err)
		}
		t.Warnings = append(t.Warnings, fmt.Sprintf("the ImageRepository of ImagePolicy %q was not found (%v): Flux's default exclusionList %q is assumed; name its file with image-repository-file", ref, err, DefaultExclusions))
	} else {
		t.Repository = &repo
		t.Warnings = append(t.Warnings, repo.Warnings...)
	}
	if t.Selector, err = SelectorFor(t.Policy, t.Repository, o.Rules); err != nil {
		return Target{}, err
	}
	return t, nil
}

// Image returns spec.image of the ImageRepository, or "".
func (t Target) Image() string {
	if t.Repository == nil {
		return ""
	}
	return t.Repository.Image
}

// Exclusions returns the exclusion patterns applied.
func (t Target) Exclusions() []string {
	if t.Repository == nil {
		return DefaultExclusions
	}
	return t.Repository.Exclusions()
}

// Result is what Resolve found, with what it applied.
type Result struct {
	Target
	Image string
	Resolution
}

// Resolve lists image's tags (spec.image of the ImageRepository when image is "") and picks
// the policy's tag as Flux does.
func (t Target) Resolve(ctx context.Context, src TagSource, image string) (Result, error) {
	if image == "" {
		image = t.Image()
	}
	if image == "" {
		return Result{}, fmt.Errorf("%w: ImageRepository %q has no spec.image; give the image", ErrNotFound, t.Policy.ImageRepository)
	}
	res, err := t.Selector.Resolve(ctx, t.Policy.Range, image, src)
	if err != nil {
		return Result{}, fmt.Errorf("ImagePolicy %q: %w", t.Policy.Ref, err)
	}
	return Result{Target: t, Image: image, Resolution: res}, nil
}

// Summary renders the result as markdown: what was selected and every rule applied on the way.
func (r Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### ImagePolicy %s\n\n", r.Policy.Ref)
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	row("range", code(r.Range))
	row("image", code(r.Image))
	row("tag", code(r.Tag))
	row("digest", code(r.Digest))
	row("version rules", r.Selector.rules().String())
	if f := r.Policy.Filter; f != nil {
		v := "pattern " + code(f.Pattern)
		if f.Extract != "" {
			v += ", extract " + code(f.Extract)
		}
		row("filterTags", v)
	} else {
		row("filterTags", "none")
	}
	src := "Flux's default (ImageRepository not read)"
	if r.Repository != nil {
		src = fmt.Sprintf("ImageRepository %s", r.Repository.Ref)
		if len(r.Repository.ExclusionList) == 0 {
			src += ", Flux's default"
		}
		if r.RepositoryFile != "" {
			src += " in " + code(r.RepositoryFile)
		}
	}
	quoted := make([]string, len(r.Exclusions()))
	for i, e := range r.Exclusions() {
		quoted[i] = code(e)
	}
	row("exclusionList", strings.Join(quoted, " ")+" ("+src+")")
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "\n> [!WARNING]\n> %s\n", strings.ReplaceAll(w, "\n", " "))
	}
	return b.String()
}

// code renders s as inline code in a table cell.
func code(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "`", "'")
	return "`" + s + "`"
}
