package scrape

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStore_DropsSamplesNotAfterTheLastAsTheTSDBRefusesThem(t *testing.T) {
	s := newStore()
	a := labels.FromStrings("__name__", "x", "job", "j")
	assert.Equal(t, 0, s.commit([]point{{a, 1000, 1}, {a, 2000, 2}}))
	assert.Equal(t, 2, s.commit([]point{{a, 2000, 9}, {a, 1500, 9}, {a, 3000, 3}}), "a duplicate timestamp and one going back are dropped")
	assert.Equal(t, [][2]float64{{1000, 1}, {2000, 2}, {3000, 3}}, selectAll(t, s, 0, math.MaxInt64)[a.String()])
}

func TestStore_SelectHonoursMatchersRangeAndSorts(t *testing.T) {
	s := newStore()
	b := labels.FromStrings("__name__", "x", "code", "500")
	a := labels.FromStrings("__name__", "x", "code", "200")
	other := labels.FromStrings("__name__", "y", "code", "200")
	stale := math.Float64frombits(value.StaleNaN)
	s.commit([]point{{b, 1000, 1}, {a, 1000, 1}, {other, 1000, 1}})
	s.commit([]point{{b, 2000, 2}, {a, 2000, stale}, {other, 2000, 2}})
	s.commit([]point{{b, 3000, 3}, {other, 3000, 3}})

	q, err := s.Querier(0, math.MaxInt64)
	require.NoError(t, err)
	set := q.Select(context.Background(), true, &storage.SelectHints{Start: 2000, End: 2500},
		labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	var got []string
	for set.Next() {
		got = append(got, set.At().Labels().String())
		it := set.At().Iterator(nil)
		require.Equal(t, chunkenc.ValFloat, it.Next())
		ts, v := it.At()
		assert.Equal(t, int64(2000), ts, "only samples within the hinted range")
		if set.At().Labels().Get("code") == "200" {
			assert.True(t, value.IsStaleNaN(v), "a stale marker is kept for the engine")
		}
		assert.Equal(t, chunkenc.ValNone, it.Next())
	}
	require.NoError(t, set.Err())
	assert.Equal(t, []string{a.String(), b.String()}, got, "sorted by labels, the other metric left out")

	vals, _, err := q.LabelValues(context.Background(), "code", nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "y"))
	require.NoError(t, err)
	assert.Equal(t, []string{"200"}, vals)
	names, _, err := q.LabelNames(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"__name__", "code"}, names)
	require.NoError(t, q.Close())
}

func TestStore_ASelectedSeriesIsASnapshot(t *testing.T) {
	s := newStore()
	a := labels.FromStrings("__name__", "x")
	s.commit([]point{{a, 1000, 1}})
	q, _ := s.Querier(0, math.MaxInt64)
	set := q.Select(context.Background(), true, nil)
	require.True(t, set.Next())
	s.commit([]point{{a, 2000, 2}})
	it := set.At().Iterator(nil)
	n := 0
	for it.Next() != chunkenc.ValNone {
		n++
	}
	assert.Equal(t, 1, n, "an append after the selection does not reach it")
}

func selectAll(t *testing.T, s *store, mint, maxt int64) map[string][][2]float64 {
	t.Helper()
	q, err := s.Querier(mint, maxt)
	require.NoError(t, err)
	out := map[string][][2]float64{}
	set := q.Select(context.Background(), true, nil)
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() != chunkenc.ValNone {
			ts, v := it.At()
			out[set.At().Labels().String()] = append(out[set.At().Labels().String()], [2]float64{float64(ts), v})
		}
	}
	return out
}
