package chatcore_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

func TestRender(t *testing.T) {
	t.Parallel()
	values := map[string]string{"customer_name": "Mei", "order_id": "1001", "empty": ""}
	for _, tc := range []struct {
		text, want string
		missing    []string
	}{
		{"Hello {{.customer_name}}, order {{ .order_id }}.", "Hello Mei, order 1001.", nil},
		{"Hi {{.nobody}} and {{.nobody}} {{.empty}}", "Hi {{.nobody}} and {{.nobody}} {{.empty}}", []string{"empty", "nobody"}},
		// Only {{.name}} is a placeholder: no template actions, no HTML.
		{`{{printf "%s" .x}} {{template "a"}} <b>{{.customer_name}}</b>`, `{{printf "%s" .x}} {{template "a"}} <b>Mei</b>`, nil},
		{"{{.customer_name}}{{.order_id}}", "Mei1001", nil},
		{"no placeholders", "no placeholders", nil},
	} {
		got, missing := chatcore.Render(tc.text, values)
		if got != tc.want || !slices.Equal(missing, tc.missing) {
			t.Errorf("Render(%q) = %q, %q; want %q, %q", tc.text, got, missing, tc.want, tc.missing)
		}
	}
}

func TestCannedTextIn(t *testing.T) {
	t.Parallel()
	r := chatcore.CannedReply{Texts: map[string]string{"en": "Hello", "zh-CN": "您好", "de": "Hallo"}}
	for lang, want := range map[string]string{"zh-CN": "zh-CN", "zh": "zh-CN", "zh-TW": "zh-CN", "en-GB": "en", "fr": "en", "": "en", "de": "de"} {
		if _, got := r.TextIn(lang); got != want {
			t.Errorf("TextIn(%q) is in %q, want %q", lang, got, want)
		}
	}
	if _, got := (chatcore.CannedReply{Texts: map[string]string{"ja": "x", "de": "y"}}).TextIn("fr"); got != "de" {
		t.Errorf("no English: %q, want the first code, de", got)
	}
}

type cannedAnswer struct {
	Canned chatcore.CannedReply `json:"canned"`
}

// Admins create, change and delete canned replies; agents list them and
// render one for a conversation in their language, filled from it.
func TestCannedOverHTTP(t *testing.T) {
	t.Parallel()
	for _, d := range chatstoretest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{dialect: d})
			admin, agent := b.login(t, "alice"), b.login(t, "bob")
			if err := b.store.SetAgentAdmin(b.ctx, "alice", true); err != nil {
				t.Fatal(err)
			}
			chatstoretest.Relay(t, b.db, "order 7", "where is it?") // sender_name "customer"
			body := map[string]any{"shortcut": "/Thanks", "title": " Thanks ", "texts": map[string]string{
				"en": "Thank you, {{.customer_name}}! Order {{.order_id}}.", "zh-CN": "谢谢您，{{.customer_name}}！", "fr": "  "}}
			if res := agent.do("POST", "/api/canned", body, nil); res.status != 403 {
				t.Fatalf("an agent creates: %d %s, want 403", res.status, res.body)
			}
			res := admin.do("POST", "/api/canned", body, nil)
			if res.status != 201 {
				t.Fatalf("create: %d %s", res.status, res.body)
			}
			var created cannedAnswer
			res.decode(t, &created)
			if c := created.Canned; c.Shortcut != "thanks" || c.Title != "Thanks" || len(c.Texts) != 2 || c.UpdatedBy != "alice" {
				t.Fatalf("created = %+v (shortcut lower case without /, title trimmed, blank text dropped)", c)
			}
			if res := admin.do("POST", "/api/canned", body, nil); res.status != 409 {
				t.Errorf("a second /thanks: %d %s, want 409", res.status, res.body)
			}
			var list struct {
				Canned []chatcore.CannedReply `json:"canned"`
			}
			agent.do("GET", "/api/canned", nil, nil).decode(t, &list)
			if len(list.Canned) != 1 || list.Canned[0].ID != created.Canned.ID {
				t.Fatalf("agent's list = %+v", list.Canned)
			}

			render := func(lang string) (text, in string, missing []string) {
				t.Helper()
				var out struct {
					Text    string   `json:"text"`
					Lang    string   `json:"lang"`
					Missing []string `json:"missing"`
				}
				path := fmt.Sprintf("/api/conversations/%s/canned/%d?lang=%s", url.PathEscape("order 7"), created.Canned.ID, lang)
				res := agent.do("GET", path, nil, nil)
				if res.status != 200 {
					t.Fatalf("render: %d %s", res.status, res.body)
				}
				res.decode(t, &out)
				return out.Text, out.Lang, out.Missing
			}
			if text, in, missing := render("zh-CN"); text != "谢谢您，customer！" || in != "zh-CN" || len(missing) != 0 {
				t.Errorf("zh-CN: %q in %s, missing %q", text, in, missing)
			}
			if text, in, missing := render("fr"); text != "Thank you, customer! Order {{.order_id}}." || in != "en" || !slices.Equal(missing, []string{"order_id"}) {
				t.Errorf("fr (falls back to en): %q in %s, missing %q", text, in, missing)
			}
			if res := agent.do("GET", fmt.Sprintf("/api/conversations/nope/canned/%d", created.Canned.ID), nil, nil); res.status != 404 {
				t.Errorf("render for a missing conversation: %d", res.status)
			}
			if res := agent.do("GET", "/api/conversations/order%207/canned/999", nil, nil); res.status != 404 {
				t.Errorf("render a missing reply: %d", res.status)
			}

			path := fmt.Sprintf("/api/canned/%d", created.Canned.ID)
			res = admin.do("PUT", path, map[string]any{"shortcut": "thanks", "title": "Thanks", "texts": map[string]string{"en": "Thanks!"}}, nil)
			var changed cannedAnswer
			res.decode(t, &changed)
			if res.status != 200 || changed.Canned.Texts["en"] != "Thanks!" || len(changed.Canned.Texts) != 1 {
				t.Errorf("replace: %d %s", res.status, res.body)
			}
			for _, tc := range []struct {
				body map[string]any
				want string
			}{
				{map[string]any{"shortcut": "has space", "title": "x", "texts": map[string]string{"en": "x"}}, "shortcut"},
				{map[string]any{"shortcut": strings.Repeat("a", 33), "title": "x", "texts": map[string]string{"en": "x"}}, "shortcut"},
				{map[string]any{"shortcut": "ok", "title": "", "texts": map[string]string{"en": "x"}}, "title"},
				{map[string]any{"shortcut": "ok", "title": "x", "texts": map[string]string{"en": " "}}, "at least one language"},
				{map[string]any{"shortcut": "ok", "title": "x", "texts": map[string]string{"<script>": "x"}}, "language code"},
				{map[string]any{"shortcut": "ok", "title": "x", "texts": map[string]string{"en": strings.Repeat("x", 65<<10)}}, "64 KiB"},
			} {
				res := admin.do("POST", "/api/canned", tc.body, nil)
				if res.status != 400 || !strings.Contains(res.body, tc.want) {
					t.Errorf("create %.60v: %d %s, want 400 about %s", tc.body, res.status, res.body, tc.want)
				}
			}
			if res := agent.do("DELETE", path, nil, nil); res.status != 403 {
				t.Errorf("an agent deletes: %d", res.status)
			}
			if res := admin.do("DELETE", path, nil, nil); res.status != 204 {
				t.Errorf("delete: %d %s", res.status, res.body)
			}
			if res := admin.do("DELETE", path, nil, nil); res.status != 404 {
				t.Errorf("delete again: %d", res.status)
			}
			if res := admin.do("PUT", "/api/canned/x", map[string]any{}, nil); res.status != 404 {
				t.Errorf("PUT a bad id: %d", res.status)
			}
		})
	}
}
