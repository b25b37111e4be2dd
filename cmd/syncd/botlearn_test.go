package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/bot/learn"
	"github.com/syncd-dev/syncd/bot/model"
	"github.com/syncd-dev/syncd/bot/onnxrt"
	"github.com/syncd-dev/syncd/bot/train"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore"
	"github.com/syncd-dev/syncd/configs"
	"github.com/syncd-dev/syncd/internal/testdb"
)

// labelDB is a fresh database that the syncd commands of the test use
// (through SYNCD_DATABASE_*), with its chat store.
type labelStore struct {
	*chatstore.DB
	db *gorm.DB
}

func labelDB(t *testing.T, driver string) labelStore {
	t.Helper()
	d := testdb.New(t, driver)
	t.Setenv("SYNCD_DATABASE_DRIVER", driver)
	t.Setenv("SYNCD_DATABASE_DSN", d.DSN)
	st, err := chatstore.New(d.Store.Gorm())
	if err != nil {
		t.Fatal(err)
	}
	return labelStore{DB: st, db: d.Store.Gorm()}
}

// labelAll writes each example as a customer message of its own
// conversation, as the relay would, and labels it through the store, as
// the console does.
func labelAll(t *testing.T, st labelStore, examples []train.Example) {
	t.Helper()
	ctx := context.Background()
	db := st.db
	for i, e := range examples {
		key := fmt.Sprintf("conv-%d", i)
		if err := db.Exec(`INSERT INTO chat_messages (conversation_key, seq, sender_type, sender_name, kind, body, created_at)
VALUES (?, 1, 'customer', 'customer', 'message', ?, ?)`, key, e.Text, time.Now().UTC()).Error; err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := db.Raw(`SELECT id FROM chat_messages WHERE conversation_key = ?`, key).Row().Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LabelMessage(ctx, chatcore.Label{MessageID: id, ConversationKey: key, Intent: e.Label, LabelledBy: "alice", LabelledAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

func shippedExamples(t *testing.T) []train.Example {
	t.Helper()
	ex, err := train.ReadCSV(bytes.NewReader(model.Training()))
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// germanLabels are customer messages in a language the shipped data does
// not have, labelled as agents would: what a retrain should learn.
func germanLabels() []train.Example {
	templates := map[string][]string{
		"order_status": {"wo ist meine bestellung %d", "wann kommt mein paket %d", "status meiner bestellung %d bitte", "meine lieferung %d ist noch nicht da"},
		"refund":       {"ich möchte mein geld zurück für %d", "wann bekomme ich die rückerstattung für %d", "bitte erstatten sie den betrag von auftrag %d", "geld zurück bitte, auftrag %d"},
		"cancel_order": {"bitte stornieren sie bestellung %d", "ich will den auftrag %d stornieren", "stornierung der bestellung %d", "kann ich bestellung %d noch abbrechen"},
	}
	var out []train.Example
	for _, intent := range []string{"order_status", "refund", "cancel_order"} {
		for _, tpl := range templates[intent] {
			for n := range 25 {
				out = append(out, train.Example{Text: fmt.Sprintf(tpl, 4100+37*n), Label: intent})
			}
		}
	}
	return out
}

// `syncd bot export` writes the labelled history in the format `bot
// train --data` reads, one row per labelled customer message.
func TestBotExport(t *testing.T) {
	for _, driver := range testdb.AllDialects {
		t.Run(driver, func(t *testing.T) {
			st := labelDB(t, driver)
			labelAll(t, st, []train.Example{{Text: `a "quoted", comma text`, Label: "refund"}, {Text: "我的快递到哪了", Label: "order_status"}})
			out := filepath.Join(t.TempDir(), "labels.csv")
			if msg, err := runSyncd(t, "bot", "export", "--out", out); err != nil || !strings.Contains(msg, "2 labelled messages") {
				t.Fatalf("export: %v\n%s", err, msg)
			}
			got, err := train.ReadCSVFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want := []train.Example{{Text: `a "quoted", comma text`, Label: "refund"}, {Text: "我的快递到哪了", Label: "order_status"}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("exported %v, want %v", got, want)
			}
		})
	}
}

// Labels that contradict the shipped data (every shipped text given
// another intent) make a worse model: retrain keeps the current file,
// byte for byte, and records why.
func TestBotRetrainKeepsModelWhenWorse(t *testing.T) {
	st := labelDB(t, "mysql")
	shipped := shippedExamples(t)
	labels := train.Labels(shipped)
	var wrong []train.Example
	for i, e := range shipped {
		if i%3 != 0 { // a third is enough to wreck it; and keeps the test quick
			continue
		}
		for j, l := range labels {
			if l == e.Label {
				wrong = append(wrong, train.Example{Text: e.Text, Label: labels[(j+1)%len(labels)]})
			}
		}
	}
	labelAll(t, st, wrong)
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, model.Default(), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	out, err := runSyncd(t, "bot", "retrain", "--model", path)
	if err != nil {
		t.Fatalf("retrain: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(out, "kept the current model") {
		t.Fatalf("retrain on wrong labels did not keep the model:\n%s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(b, model.Default()) {
		t.Fatalf("model file changed (%v)", err)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("model file was rewritten")
	}
	last, err := st.LastRetrain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last.Installed || last.NewAccuracy >= last.OldAccuracy || last.LabelledSize != len(wrong) || last.ModelPath != path ||
		!strings.Contains(last.Reason, "kept") || last.Command != "syncd bot retrain --model="+path {
		t.Fatalf("recorded %+v", last)
	}
}

// Labels that teach the model something (German messages the shipped data
// has none of) make a better model: retrain renames it over the file of a
// running bot, which reloads it while goroutines classify without pause,
// and every call returns a result.
func TestBotRetrainInstallsBetterModelUnderLoad(t *testing.T) {
	if _, err := onnxrt.LibraryPath(""); err != nil {
		t.Fatalf("%v\nfetch it with scripts/onnxruntime.sh (make onnxruntime), or set %s", err, onnxrt.EnvLibrary)
	}
	st := labelDB(t, "mysql")
	german := germanLabels()
	labelAll(t, st, german)
	var probe train.Example // a held-out text: no model trained on it
	for _, e := range german {
		if learn.HeldOut(e.Text) {
			probe = e
			break
		}
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, model.Default(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := bot.New(ctx, bot.Options{
		ModelPath: path, Answers: configs.BotAnswers, CacheSize: -1, PollInterval: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var run sync.WaitGroup
	run.Go(func() { _ = svc.Run(ctx) })
	defer run.Wait()
	defer cancel()
	classify := func(text string) (string, error) {
		res, err := svc.Classify(ctx, []string{text})
		if err != nil {
			return "", err
		}
		if len(res) != 1 || res[0].Intent == "" {
			return "", fmt.Errorf("classify %q: %+v", text, res)
		}
		return res[0].Intent, nil
	}
	if got, err := classify(probe.Text); err != nil || got == probe.Label {
		t.Fatalf("the current model already gets %q right (%s, %v): the test proves nothing", probe.Text, got, err)
	}

	var calls, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var load sync.WaitGroup
	for g := range 4 {
		load.Go(func() {
			texts := []string{"where is my order", german[g].Text, "我要退款", probe.Text}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := classify(texts[i%len(texts)]); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				calls.Add(1)
			}
		})
	}
	out, err := runSyncd(t, "bot", "retrain", "--model", path)
	if err != nil {
		close(stop)
		load.Wait()
		t.Fatalf("retrain: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(out, "installed") {
		close(stop)
		load.Wait()
		t.Fatalf("a better model was not installed:\n%s", out)
	}
	// The running bot picks the new file up: the held-out German text now
	// gets the agents' intent.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := classify(probe.Text)
		if err == nil && got == probe.Label {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			load.Wait()
			t.Fatalf("the running bot still says %s (%v) for %q after the retrain", got, err, probe.Text)
		}
		time.Sleep(5 * time.Millisecond)
	}
	atReload := calls.Load()
	for calls.Load() < atReload+100 { // and goes on answering on the new model
		time.Sleep(time.Millisecond)
	}
	close(stop)
	load.Wait()
	t.Logf("%d classify calls during the retrain and the swap, %d failed", calls.Load(), failures.Load())
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d calls failed during the swap; first: %v", n, calls.Load(), firstErr.Load())
	}
	last, err := st.LastRetrain(context.Background())
	if err != nil || !last.Installed || last.NewAccuracy < last.OldAccuracy || last.LabelledSize != len(german) {
		t.Fatalf("recorded %+v, %v", last, err)
	}
	if b, _ := os.ReadFile(path); bytes.Equal(b, model.Default()) {
		t.Fatal("model file unchanged")
	}
}

// With no model file yet, retrain compares with the built-in model and
// leaves a file at the path either way: the new model, or the built-in
// one, so that bot.model can name it.
func TestBotRetrainStartsFromTheBuiltInModel(t *testing.T) {
	labelDB(t, "sqlite")
	path := filepath.Join(t.TempDir(), "model.onnx")
	out, err := runSyncd(t, "bot", "retrain", "--model", path)
	if err != nil {
		t.Fatalf("retrain: %v\n%s", err, out)
	}
	if !strings.Contains(out, "current model: built-in") {
		t.Fatalf("retrain did not compare with the built-in model:\n%s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no model file after retrain: %v\n%s", err, out)
	}
	if kept := strings.Contains(out, "kept the current model"); kept != bytes.Equal(b, model.Default()) || kept && !strings.Contains(out, "wrote the built-in model") {
		t.Fatalf("file is the built-in model: %v, but retrain says:\n%s", bytes.Equal(b, model.Default()), out)
	}
}

// `syncd agent admin NAME` grants admin, `--revoke` (before or after the
// name) takes it away, and list shows it.
func TestAgentAdmin(t *testing.T) {
	st := labelDB(t, "sqlite")
	if err := st.CreateAgent(context.Background(), "alice", "$2a$10$abcdefghijklmnopqrstuv"); err != nil {
		t.Fatal(err)
	}
	isAdmin := func() bool {
		a, err := st.Agent(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return a.Admin
	}
	if out, err := runSyncd(t, "agent", "admin", "Alice"); err != nil || !isAdmin() || !strings.Contains(out, "alice is an admin") {
		t.Fatalf("grant: %v %s", err, out)
	}
	if out, _ := runSyncd(t, "agent", "list"); !strings.Contains(out, "active, admin") {
		t.Fatalf("list: %s", out)
	}
	// alice is the only admin: the console must keep one.
	if out, err := runSyncd(t, "agent", "admin", "alice", "--revoke"); err == nil || !isAdmin() || !strings.Contains(err.Error(), "only admin") {
		t.Fatalf("revoke the only admin: %v %s", err, out)
	}
	if out, err := runSyncd(t, "agent", "disable", "alice"); err == nil || !strings.Contains(err.Error(), "only admin") {
		t.Fatalf("disable the only admin: %v %s", err, out)
	}
	if err := st.AddAgent(context.Background(), "root", "$2a$10$abcdefghijklmnopqrstuv", true); err != nil {
		t.Fatal(err)
	}
	if out, err := runSyncd(t, "agent", "admin", "alice", "--revoke"); err != nil || isAdmin() {
		t.Fatalf("revoke after the name: %v %s", err, out)
	}
	runSyncd(t, "agent", "admin", "alice")
	if out, err := runSyncd(t, "agent", "admin", "--revoke", "alice"); err != nil || isAdmin() {
		t.Fatalf("revoke before the name: %v %s", err, out)
	}
	if out, err := runSyncd(t, "agent", "admin", "bob"); err == nil || !strings.Contains(err.Error(), "no agent bob") {
		t.Fatalf("unknown agent: %v %s", err, out)
	}
}

// `syncd agent add NAME --admin` creates an admin (flags after the name
// in any order), without --admin an agent.
func TestAgentAddAdmin(t *testing.T) {
	st := labelDB(t, "sqlite")
	add := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		app := newApp()
		app.Writer, app.ErrWriter = &out, &out
		app.Reader = strings.NewReader("a long enough password\n")
		if err := app.Run(append([]string{"syncd", "agent", "add"}, args...)); err != nil {
			t.Fatalf("agent add %v: %v %s", args, err, out.String())
		}
		return out.String()
	}
	if out := add("root", "--admin", "--password-stdin"); !strings.Contains(out, "root added, an admin") {
		t.Fatalf("add --admin: %s", out)
	}
	add("--password-stdin", "amy")
	for name, want := range map[string]bool{"root": true, "amy": false} {
		a, err := st.Agent(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if a.Admin != want {
			t.Errorf("%s admin = %v, want %v", name, a.Admin, want)
		}
	}
}
