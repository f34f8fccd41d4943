package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// dbSchemaVersion is the vulnerability DB schema Trivy v0.74.0 reads (trivy-db's SchemaVersion).
const dbSchemaVersion = 2

// ErrDBUnavailable reports that no usable vulnerability DB could be had: the scan cannot run,
// and never passes without one.
var ErrDBUnavailable = errors.New("vulnerability DB unavailable")

// DBInfo is the vulnerability DB a scan used (CACHE/db/metadata.json, written by Trivy).
type DBInfo struct {
	Version      int       `json:"version"`
	UpdatedAt    time.Time `json:"updatedAt"`
	NextUpdate   time.Time `json:"nextUpdate"`
	DownloadedAt time.Time `json:"downloadedAt,omitzero"`
	Downloaded   bool      `json:"-"` // this run downloaded it
	Attempts     int       `json:"-"` // download attempts this run made
}

// ReadDBInfo reads CACHE/db/metadata.json; an absent file is os.ErrNotExist.
func ReadDBInfo(cacheDir string) (DBInfo, error) {
	data, err := os.ReadFile(filepath.Join(cacheDir, "db", "metadata.json"))
	if err != nil {
		return DBInfo{}, err
	}
	var m struct {
		Version      int
		NextUpdate   time.Time
		UpdatedAt    time.Time
		DownloadedAt time.Time
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return DBInfo{}, fmt.Errorf("reading %s: %w", filepath.Join(cacheDir, "db", "metadata.json"), err)
	}
	return DBInfo{Version: m.Version, UpdatedAt: m.UpdatedAt, NextUpdate: m.NextUpdate, DownloadedAt: m.DownloadedAt}, nil
}

// Fresh reports whether Trivy would use the DB without downloading it, by Trivy's own rule: the
// schema matches and either its NextUpdate is still ahead or it was downloaded within the hour.
func (d DBInfo) Fresh(now time.Time) bool {
	if d.Version != dbSchemaVersion {
		return false
	}
	return now.Before(d.NextUpdate) || (!d.DownloadedAt.IsZero() && now.Before(d.DownloadedAt.Add(time.Hour)))
}

// DBOptions says where the DB comes from and how hard to try.
type DBOptions struct {
	// Repositories are Trivy's --db-repository values, tried in order by Trivy (mirror first).
	// Empty: Trivy's default list (mirror.gcr.io/aquasec/trivy-db:2, ghcr.io/aquasecurity/trivy-db:2).
	Repositories []string
	// Offline uses the cached DB as it is, never downloading; no cached DB is an error.
	Offline bool
	// Attempts is how many times a download is tried (default 4).
	Attempts int
	// Backoff is the wait before the second attempt, tripled for each later one (default 2s).
	Backoff time.Duration
	// Sleep waits (default: a timer that honours ctx); tests replace it.
	Sleep func(context.Context, time.Duration) error
}

// EnsureDB makes sure CACHE/db holds a DB that Trivy can scan with and no further download is
// needed (the scans then run with --skip-db-update): a fresh cached DB is used as is (no
// request at all); otherwise Trivy downloads it (--download-db-only), retried with back-off
// on failure — a registry answering 429 TOOMANYREQUESTS is the common case. Without a usable
// DB it fails with ErrDBUnavailable: never a pass.
func (t Trivy) EnsureDB(ctx context.Context, o DBOptions, now func() time.Time, logf func(string, ...any)) (DBInfo, error) {
	if t.CacheDir == "" {
		return DBInfo{}, errors.New("no cache directory for Trivy (cache-dir)")
	}
	info, err := ReadDBInfo(t.CacheDir)
	haveDB := err == nil && exists(filepath.Join(t.CacheDir, "db", "trivy.db"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		logf("the cached DB's metadata is unreadable (%v): downloading it again", err)
	}
	if o.Offline {
		if !haveDB {
			return DBInfo{}, fmt.Errorf("%w: offline, and %s holds no DB; run once with network (or copy a DB cache there)", ErrDBUnavailable, filepath.Join(t.CacheDir, "db"))
		}
		if info.Version != dbSchemaVersion {
			return DBInfo{}, fmt.Errorf("%w: offline, and the cached DB has schema %d, Trivy %s needs %d", ErrDBUnavailable, info.Version, TrivyVersion, dbSchemaVersion)
		}
		if !info.Fresh(now()) {
			logf("offline: using the cached DB from %s although its next update was due %s", info.UpdatedAt.Format(time.RFC3339), info.NextUpdate.Format(time.RFC3339))
		}
		return info, nil
	}
	if haveDB && info.Fresh(now()) {
		return info, nil
	}
	attempts, wait := o.Attempts, o.Backoff
	if attempts <= 0 {
		attempts = 4
	}
	if wait <= 0 {
		wait = 2 * time.Second
	}
	sleep := o.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	args := []string{"image", "--download-db-only", "--cache-dir", t.CacheDir, "--no-progress", "--quiet", "--skip-version-check", "--disable-telemetry"}
	for _, r := range o.Repositories {
		args = append(args, "--db-repository", r)
	}
	var lastErr error
	for i := 1; i <= attempts; i++ {
		stderr, err := t.run(ctx, nil, args...)
		if err == nil {
			got, rerr := ReadDBInfo(t.CacheDir)
			if rerr != nil {
				return DBInfo{}, fmt.Errorf("%w: Trivy downloaded the DB but %v", ErrDBUnavailable, rerr)
			}
			got.Downloaded, got.Attempts = true, i
			return got, nil
		}
		if errors.Is(err, ErrTrivyMissing) || ctx.Err() != nil {
			return DBInfo{}, err
		}
		lastErr = fmt.Errorf("%v: %s", err, lastLines(stderr, 3))
		if i == attempts {
			break
		}
		reason := "failed"
		if rateLimited(stderr) {
			reason = "was rate-limited (429)"
		}
		logf("the vulnerability DB download %s (attempt %d of %d); retrying in %s", reason, i, attempts, wait)
		if err := sleep(ctx, wait); err != nil {
			return DBInfo{}, err
		}
		wait *= 3
	}
	repos := strings.Join(o.Repositories, ", ")
	if repos == "" {
		repos = "Trivy's default (mirror.gcr.io/aquasec/trivy-db:2, ghcr.io/aquasecurity/trivy-db:2)"
	}
	return DBInfo{}, fmt.Errorf("%w: downloading it from %s failed %d times (last: %v); set db-repository to a mirror you can reach, or restore a DB cache and set offline: true", ErrDBUnavailable, repos, attempts, lastErr)
}

func rateLimited(stderr string) bool {
	return strings.Contains(stderr, "TOOMANYREQUESTS") || strings.Contains(stderr, "429")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
