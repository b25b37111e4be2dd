package bot

import (
	"encoding/json"
	"strings"
	"testing"
)

// An event template answers only with real values: a field that is
// missing, null, an object or a list gives no reply and a reason an agent
// can read, as does a payload that is not an object or a reply too long.
func TestRenderEventOnlyWithValues(t *testing.T) {
	t.Parallel()
	a, err := ParseAnswers([]byte(`
events:
  order_created: "Thanks! Your order {{.order_id}} is confirmed."
  order_shipped: "Order {{.order.id}} ships with {{.carrier}}{{if .express}} (express){{end}}."
  items: "{{range .items}}[{{.}}]{{end}}"
  twice: "{{.order_id}} {{.order_id}}"
  blank: "{{if .x}}x{{end}}"
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind, payload string
		reply         string // "" when there is none
		reason        string // what the error says
	}{
		{"order_created", `{"order_id": 1234567890123}`, "Thanks! Your order 1234567890123 is confirmed.", ""},
		{"order_created", `{"order_id": "A-7"}`, "Thanks! Your order A-7 is confirmed.", ""},
		{"order_created", `{"order_id": true}`, "Thanks! Your order true is confirmed.", ""},
		{"order_created", `{"order_id": null}`, "", "payload field order_id is null"},
		{"order_created", `{"order_id": {"a": [1, 2]}}`, "", "payload field order_id is an object"},
		{"order_created", `{"order_id": [1, 2]}`, "", "payload field order_id is a list"},
		{"order_created", `{"customer": "ann"}`, "", "the payload has no field order_id"},
		{"order_created", ``, "", "the payload has no field order_id"},
		{"order_created", `[1, 2]`, "", "the payload is a list, not a JSON object"},
		{"order_created", `"1001"`, "", "the payload is a string, not a JSON object"},
		{"order_shipped", `{"order": {"id": 7}, "carrier": "DHL", "express": true}`, "Order 7 ships with DHL (express).", ""},
		{"order_shipped", `{"order": {"id": null}, "carrier": "DHL"}`, "", "payload field order.id is null"},
		{"order_shipped", `{"order": {"id": 7}, "carrier": {"name": "DHL"}}`, "", "payload field carrier is an object"},
		{"items", `{"items": [1, "b"]}`, "[1][b]", ""},
		{"items", `{"items": [1, null]}`, "", "is null"},
		{"twice", `{"order_id": "` + strings.Repeat("9", 600<<10) + `"}`, "", "longer than"},
		{"blank", `{"x": false}`, "", "the reply is empty"},
	} {
		t.Run(tc.kind+" "+tc.payload[:min(len(tc.payload), 40)], func(t *testing.T) {
			text, ok, err := a.RenderEvent(tc.kind, json.RawMessage(tc.payload))
			if !ok {
				t.Fatal("no template")
			}
			if tc.reason == "" {
				if err != nil || text != tc.reply {
					t.Fatalf("got %q, %v; want %q", text, err, tc.reply)
				}
				return
			}
			if err == nil || text != "" || !strings.Contains(err.Error(), tc.reason) || !strings.HasPrefix(err.Error(), "event template "+tc.kind+": ") {
				if len(text) > 100 {
					text = text[:100] + "…"
				}
				t.Fatalf("got %q (%d bytes), %v; want no reply and %q", text, len(text), err, tc.reason)
			}
			if strings.Contains(err.Error(), "executing") || strings.Contains(err.Error(), "syncdPrintValue") {
				t.Errorf("reason %q shows the template engine's insides", err)
			}
		})
	}
	if _, ok, _ := a.RenderEvent("order_cancelled", nil); ok {
		t.Error("a kind without a template rendered")
	}
}
