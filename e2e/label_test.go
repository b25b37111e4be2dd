package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLabelInConsole: an agent labels a reply in one click, with the
// bot's intent on the customer message pre-selected, and corrects the
// bot's intent on the customer message; chat_labels holds both, `syncd bot
// export` writes them, and an admin sees the figures of `syncd bot
// retrain` in the console.
func TestLabelInConsole(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, 15, "")
	extra := []string{"SYNCD_BOT_ENABLED=true"}
	if lib := os.Getenv("SYNCD_ONNXRUNTIME_LIB"); lib != "" {
		extra = append(extra, "SYNCD_ONNXRUNTIME_LIB="+lib)
	}
	d.cli(nil, "agent", "admin", "alice")
	in := d.start("e2e-label-"+randHex(3), extra...)
	b := newBrowser(t)
	b.login(in.URL())

	key := "order-" + randHex(4)
	const question = "my parcel from last week still has not arrived"
	d.insert(key, question)
	var botIntent string
	eventually(t, 30*time.Second, "the bot's intent on the customer message", func() (bool, error) {
		err := d.db.QueryRow(`SELECT COALESCE(intent, '') FROM chat_messages WHERE conversation_key = ? AND sender_type = 'customer'`, key).Scan(&botIntent)
		return err == nil && botIntent != "", nil
	})

	b.openConversation(key)
	b.waitJS(30*time.Second, "the customer's message", hasMessageJS(question))
	b.do(10*time.Second, "reply",
		chromedp.Click(chromedp.CSS(`#reply`)),
		chromedp.SendKeys(chromedp.CSS(`#reply`), "Sorry about that, I am refunding you now."),
	)
	b.do(10*time.Second, "press Enter", pressEnter)
	reply := `document.querySelector('#messages .msg.agent .label-ctl')`
	b.waitJS(20*time.Second, "the label control beside the reply", reply+` !== null`)
	if got := eval[string](b, reply+`.querySelector('select').value`); got != botIntent {
		t.Fatalf("reply's intent pre-selected %q, want the bot's %q", got, botIntent)
	}
	// One click labels it with what is pre-selected.
	b.do(10*time.Second, "label the reply", chromedp.Click(chromedp.CSS(`#messages .msg.agent .label-ctl button`)))
	b.waitJS(10*time.Second, "the reply labelled", reply+`.textContent.includes('Labelled '+`+jsString(botIntent)+`)`)

	// Correct the bot on the customer message.
	corrected := "refund"
	if botIntent == corrected {
		corrected = "damaged_item"
	}
	cust := `document.querySelector('#messages .msg.customer .label-ctl')`
	eval[bool](b, `(() => { const s = `+cust+`.querySelector('select'); s.value = `+jsString(corrected)+`; s.dispatchEvent(new Event('change')); return true; })()`)
	b.do(10*time.Second, "correct the intent", chromedp.Click(chromedp.CSS(`#messages .msg.customer .label-ctl button`)))
	b.waitJS(10*time.Second, "the correction shown", cust+`.textContent.includes('corrects the bot')`)

	rows, err := d.db.Query(`SELECT m.sender_type, l.intent, l.labelled_by, l.corrects_bot FROM chat_labels l JOIN chat_messages m ON m.id = l.message_id
WHERE m.conversation_key = ? ORDER BY m.seq`, key)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var sender, intent, by string
		var corrects bool
		if err := rows.Scan(&sender, &intent, &by, &corrects); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{sender, intent, by, map[bool]string{true: "corrects", false: "agrees"}[corrects]}, " "))
	}
	rows.Close()
	want := []string{"customer " + corrected + " alice corrects", "agent " + botIntent + " alice agrees"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("chat_labels = %q, want %q", got, want)
	}
	// Both labels are about the one customer message: the export has it
	// once, with the latest label (the reply's, given first, is older).
	out := filepath.Join(t.TempDir(), "labels.csv")
	d.cli(nil, "bot", "export", "--out", out)
	csv, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(csv) != "text,label\n"+question+","+corrected+"\n" {
		t.Fatalf("export:\n%s", csv)
	}

	model := filepath.Join(t.TempDir(), "model.onnx")
	d.cli(nil, "bot", "retrain", "--model", model)
	b.do(10*time.Second, "open the admin page's bot section", chromedp.Click(chromedp.CSS(`#btn-admin`)),
		chromedp.Click(chromedp.CSS(`#admin-nav [data-section=bot]`)))
	b.waitJS(10*time.Second, "the retrain figures",
		`document.getElementById('admin-body').textContent.includes('Held-out accuracy') && document.getElementById('admin-body').textContent.includes('1 labelled by agents')`)
	if os.Getenv("SYNCD_E2E_SCREENSHOT") != "" {
		b.screenshot()
	}
	b.checkPage()
}
