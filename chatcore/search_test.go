package chatcore_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// GET /api/conversations?q= answers the list's items for the
// conversations that match, and a clear 400 for a q it cannot search.
func TestSearchOverHTTP(t *testing.T) {
	t.Parallel()
	for _, d := range chatstoretest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{dialect: d})
			chatstoretest.RelayFrom(t, b.db, "order-1001", "Wang Fang", "我要退款，谢谢")
			chatstoretest.RelayFrom(t, b.db, "order-2002", "Alice Smith", "Where is my parcel?")
			alice := b.login(t, "alice")
			search := func(q string) (int, string, []wireConversation) {
				t.Helper()
				res := alice.do("GET", "/api/conversations?"+q, nil, nil)
				var l listAnswer
				if res.status == 200 {
					res.decode(t, &l)
				}
				return res.status, string(res.body), l.Conversations
			}
			for q, want := range map[string]string{
				"q=" + url.QueryEscape("退款"):         "order-1001",
				"q=" + url.QueryEscape(" wang "):     "order-1001",
				"q=parc":                             "order-2002",
				"q=2002":                             "order-2002",
				"q=parcel&tab=unassigned&state=open": "order-2002",
			} {
				status, body, got := search(q)
				if status != 200 || len(got) != 1 || got[0].Key != want {
					t.Errorf("search %s: %d %s", q, status, body)
				}
			}
			if status, body, got := search("q=nothing"); status != 200 || len(got) != 0 || !strings.Contains(body, `"conversations":[]`) {
				t.Errorf("search without a match: %d %s", status, body)
			}
			if status, _, got := search("q=order&limit=1"); status != 200 || len(got) != 1 {
				t.Errorf("search with limit 1: %d, %d results", status, len(got))
			}
			for q, want := range map[string]string{
				"q=":                            "q is empty",
				"q=%20%20":                      "q is empty",
				"q=" + strings.Repeat("x", 101): "q must be at most 100 characters",
				"q=" + url.QueryEscape(strings.Repeat("字", 101)): "q must be at most 100 characters",
				"q=a%00b":       "q must not contain control characters",
				"q=%ff":         "q must be valid UTF-8",
				"q=x&tab=other": "tab must be",
			} {
				if status, body, _ := search(q); status != 400 || !strings.Contains(body, want) {
					t.Errorf("search %s: %d %s, want 400 %q", q, status, body, want)
				}
			}
			if status, body, _ := search("q=" + url.QueryEscape(strings.Repeat("字", 100))); status != 200 {
				t.Errorf("search of 100 characters: %d %s", status, body)
			}
		})
	}
}
