package chatstore_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat/searchtext"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// BenchmarkSearch measures GET /api/conversations?q= in the store on a
// history of SYNCD_BENCH_SEARCH_CONVERSATIONS conversations (100,000) of
// 10 messages each, seeded with multi-row INSERTs, on each dialect
// (-bench 'Search/mysql' picks one). It reports the median and p99 of
// the queries' latencies; docs/benchmarks.md has the command and figures.
func BenchmarkSearch(b *testing.B) {
	convs := 100_000
	if s := os.Getenv("SYNCD_BENCH_SEARCH_CONVERSATIONS"); s != "" {
		var err error
		if convs, err = strconv.Atoi(s); err != nil || convs < 100 {
			b.Fatalf("SYNCD_BENCH_SEARCH_CONVERSATIONS=%q: want a number of at least 100", s)
		}
	}
	for _, d := range chatstoretest.Dialects {
		b.Run(d, func(b *testing.B) {
			db := chatstoretest.Open(b, d)
			start := time.Now()
			seedSearch(b, db, convs)
			// Statistics, as a live database has them (autovacuum, InnoDB's
			// own sampling): the planners choose by them.
			analyze := "ANALYZE "
			if d == "mysql" {
				analyze = "ANALYZE TABLE "
			}
			for _, table := range []string{"conversations", "chat_messages"} {
				if err := db.Exec(analyze + table).Error; err != nil {
					b.Fatalf("%s%s: %v", analyze, table, err)
				}
			}
			b.Logf("%s: seeded %d conversations, %d messages in %s", d, convs, convs*perConversation, time.Since(start).Round(time.Second))
			s, err := chatstore.New(db)
			if err != nil {
				b.Fatal(err)
			}
			target := convs * 54 / 100 // a conversation in the middle
			for _, q := range []struct{ name, text string }{
				{"key", fmt.Sprintf("order-%06d", target)},
				{"key_start", fmt.Sprintf("order-%05d", target/10)},
				{"key_number", fmt.Sprintf("%06d", target)},
				{"name", "olivia fischer"},
				{"name_zh", "王芳"},
				{"rare_word", fmt.Sprintf("tn%d", target)},
				{"common_word", "refund"},
				{"common_zh", "退款"},
				{"prefix", "refu"},
				{"very_common", "please"},
				{"rare_and_common", fmt.Sprintf("tracking tn%d", target)},
				{"none", "xylophone"},
			} {
				b.Run(q.name, func(b *testing.B) {
					query := chatcore.SearchQuery{Text: q.text, ConversationQuery: chatcore.ConversationQuery{
						Username: "alice", Tab: chatcore.TabAll, Limit: 20}}
					lat := make([]time.Duration, 0, b.N)
					n := 0
					for b.Loop() {
						t0 := time.Now()
						got, err := s.SearchConversations(b.Context(), query)
						lat = append(lat, time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
						n = len(got)
					}
					if (n == 0) != (q.name == "none") {
						b.Fatalf("search %q found %d conversations", q.text, n)
					}
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
					b.ReportMetric(float64(n), "results")
				})
			}
		})
	}
}

const perConversation = 10

var (
	firstNames = strings.Fields("Olivia Liam Emma Noah Ava Elijah Sophia James Mia Lucas Amelia Mason Harper Ethan Evelyn Logan Abigail Jacob Ella Oliver")
	lastNames  = strings.Fields("Fischer Smith Johnson Brown Garcia Miller Davis Wilson Moore Taylor Anderson Thomas Jackson White Harris Martin Clark Lewis Walker Young Allen King Wright Scott Green")
	surnames   = strings.Split("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "")
	given      = strings.Split("芳伟娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华", "")
	// Customer messages, English and Chinese; "refund"/退款 in about one
	// in twelve, "please" in about a third.
	customerSay = []string{
		"Hello, where is my parcel? Tracking shows nothing since Monday.",
		"Can you please check the delivery date of my order?",
		"I would like a refund for the broken item, please.",
		"The size is wrong, can I exchange it please?",
		"Is there a discount for a second purchase?",
		"我的快递到哪里了？三天没有更新了",
		"请问什么时候发货",
		"商品有破损，我要退款",
		"可以开发票吗？公司抬头已经发给你们了",
		"颜色和图片不一样，请帮我换一个",
		"Thanks, that solved it.",
		"Please call me back tomorrow morning.",
	}
	agentSay = []string{
		"Let me check that for you, one moment please.",
		"Your parcel left our warehouse yesterday.",
		"I have started the refund; it reaches your card in 3 to 5 days.",
		"好的，我帮您查询一下物流信息",
		"已经为您安排换货，请留意短信通知",
		"Could you please send a photo of the damage?",
	}
)

// seedSearch writes convs conversations of perConversation messages each,
// with search_text as chat/history writes it, in multi-row INSERTs.
func seedSearch(b *testing.B, db *gorm.DB, convs int) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const rowsPerInsert = 500
	var convArgs, msgArgs []any
	nConv, nMsg := 0, 0
	flush := func(tx *gorm.DB) {
		if nConv > 0 {
			q := "INSERT INTO conversations (conversation_key, last_seq, state, assignee, last_message_at, created_at, updated_at) VALUES " +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", nConv), ", ")
			if err := tx.Exec(q, convArgs...).Error; err != nil {
				b.Fatalf("seed conversations: %v", err)
			}
		}
		if nMsg > 0 {
			q := "INSERT INTO chat_messages (conversation_key, seq, sender_type, sender_name, kind, body, created_at, search_text) VALUES " +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, 'message', ?, ?, ?), ", nMsg), ", ")
			if err := tx.Exec(q, msgArgs...).Error; err != nil {
				b.Fatalf("seed messages: %v", err)
			}
		}
		convArgs, msgArgs, nConv, nMsg = convArgs[:0], msgArgs[:0], 0, 0
	}
	const convsPerTx = 5000
	for lo := 0; lo < convs; lo += convsPerTx {
		err := db.Transaction(func(tx *gorm.DB) error {
			for i := lo; i < min(lo+convsPerTx, convs); i++ {
				key := fmt.Sprintf("order-%06d", i)
				var name string
				if i%2 == 0 {
					name = firstNames[(i/2)%len(firstNames)] + " " + lastNames[(i/2/len(firstNames))%len(lastNames)]
				} else {
					name = surnames[(i/2)%len(surnames)] + given[(i/2/len(surnames))%len(given)]
				}
				at := base.Add(time.Duration(i) * time.Minute)
				var assignee any
				if i%3 == 0 {
					assignee = "alice"
				}
				convArgs = append(convArgs, key, perConversation, "open", assignee, at, base, at)
				nConv++
				for seq := 1; seq <= perConversation; seq++ {
					sender, who, body := "customer", name, customerSay[rng.IntN(len(customerSay))]
					if seq == 1 {
						body = fmt.Sprintf("Order %s, tracking number TN%d: %s", key, i, body)
					}
					if seq%2 == 0 {
						sender, who, body = "agent", "alice", agentSay[rng.IntN(len(agentSay))]
					}
					// As chat/history writes it: the key on the first
					// message, the name on a customer's.
					var k, n string
					if seq == 1 {
						k = key
					}
					if sender == "customer" {
						n = who
					}
					text := searchtext.Text(k, n, body)
					msgArgs = append(msgArgs, key, seq, sender, who, body,
						at.Add(time.Duration(seq-perConversation)*time.Second), text)
					nMsg++
				}
				if nMsg >= rowsPerInsert {
					flush(tx)
				}
			}
			flush(tx)
			return nil
		})
		if err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
}
