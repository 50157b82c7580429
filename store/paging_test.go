package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
)

// TestListsArePagedInSQL creates more rows than a page of campaigns, imports
// and media, and reads them back a page at a time.
func TestListsArePagedInSQL(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	const n, perPage = 7, 3
	var campaigns, jobs, media []int64
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("Campaign %d", i)
		x, err := s.CreateCampaign(ctx, CampaignInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := s.setCampaignStatus(ctx, x.ID, CampaignCancelled, CampaignDraft); err != nil {
				t.Fatal(err)
			}
		}
		campaigns = append(campaigns, x.ID)
		j, err := s.CreateImport(ctx, ImportJob{FileName: fmt.Sprintf("%d.csv", i), Headers: []string{"email"}, Delimiter: ","}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j.ID)
		m, err := s.CreateMedia(ctx, Media{FileName: fmt.Sprintf("%d.png", i), ContentType: "image/png", SHA256: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		media = append(media, m.ID)
	}
	ids := func(all []int64, from, to int) []int64 { // newest first, 1-based positions
		var out []int64
		for i := len(all) - from; i >= len(all)-to && i >= 0; i-- {
			out = append(out, all[i])
		}
		return out
	}
	campaignIDs := func(status string, page int) ([]int64, int, error) {
		cs, total, err := s.CampaignsPage(ctx, CampaignFilter{Status: status, Order: Newest}, perPage, (page-1)*perPage)
		return idsOf(cs, func(c Campaign) int64 { return c.ID }), total, err
	}
	importIDs := func(page int) ([]int64, int, error) {
		js, total, err := s.ImportsPage(ctx, Newest, perPage, (page-1)*perPage)
		return idsOf(js, func(j ImportJob) int64 { return j.ID }), total, err
	}
	mediaIDs := func(page int) ([]int64, int, error) {
		ms, total, err := s.MediaPage(ctx, Newest, perPage, (page-1)*perPage)
		return idsOf(ms, func(m Media) int64 { return m.ID }), total, err
	}
	drafts := []int64{campaigns[0], campaigns[2], campaigns[4], campaigns[6]}
	for _, tc := range []struct {
		name      string
		read      func(page int) ([]int64, int, error)
		page      int
		want      []int64
		wantTotal int
	}{
		{"campaigns page 1", func(p int) ([]int64, int, error) { return campaignIDs("", p) }, 1, ids(campaigns, 1, 3), n},
		{"campaigns page 2", func(p int) ([]int64, int, error) { return campaignIDs("", p) }, 2, ids(campaigns, 4, 6), n},
		{"campaigns page 3", func(p int) ([]int64, int, error) { return campaignIDs("", p) }, 3, ids(campaigns, 7, 7), n},
		{"campaigns past the end", func(p int) ([]int64, int, error) { return campaignIDs("", p) }, 4, []int64{}, n},
		{"draft campaigns page 2", func(p int) ([]int64, int, error) { return campaignIDs(CampaignDraft, p) }, 2, ids(drafts, 4, 4), len(drafts)},
		{"imports page 2", importIDs, 2, ids(jobs, 4, 6), n},
		{"media page 2", mediaIDs, 2, ids(media, 4, 6), n},
		{"media page 3", mediaIDs, 3, ids(media, 7, 7), n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := tc.read(tc.page)
			if err != nil || !reflect.DeepEqual(got, tc.want) || total != tc.wantTotal {
				t.Errorf("got %v of %d, %v; want %v of %d", got, total, err, tc.want, tc.wantTotal)
			}
		})
	}
	if cs, total, err := s.CampaignsPage(ctx, CampaignFilter{Status: CampaignCancelled, Order: Newest}, 0, 0); err != nil || len(cs) != 0 || total != n-len(drafts) {
		t.Errorf("count of cancelled campaigns alone: got %d rows of %d, %v, want none of %d", len(cs), total, err, n-len(drafts))
	}
	if all, err := s.Campaigns(ctx, CampaignDraft); err != nil || len(all) != len(drafts) {
		t.Errorf("Campaigns(draft), as the dispatcher reads them: got %d, %v, want all %d", len(all), err, len(drafts))
	}
}

func idsOf[T any](items []T, id func(T) int64) []int64 {
	out := []int64{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}
