package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/bridge"
)

func Example() {
	ctx := context.Background()
	svc, err := bot.New(ctx, bot.Options{
		AnswersPath: "../configs/bot.yaml", // ModelPath empty: the built-in model
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err) // errors.Is(err, bot.ErrNoRuntime): run scripts/onnxruntime.sh
		return
	}
	defer svc.Close()
	verdicts, err := svc.Assess(ctx, []bridge.Inbound{
		{ConversationKey: "c-1", Kind: "message", Body: "我要退款"},
		{ConversationKey: "c-1", Kind: "order_created", Payload: []byte(`{"order_id": 42}`)}, // in the customer's language
		{ConversationKey: "c-2", Kind: "order_created", Payload: []byte(`{"order_id": 43}`)}, // the default language
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	refund := verdicts[0]
	fmt.Println(refund.Intent, "auto-reply:", refund.AutoReply != "", "suggestion:", refund.Suggestion != "")
	fmt.Println(refund.Suggestion)
	fmt.Println(verdicts[1].AutoReply)
	fmt.Println(verdicts[2].AutoReply)
	// Output:
	// refund auto-reply: false suggestion: true
	// 收到退货后5-7个工作日内原路退款。请提供订单号，我们帮您查询退款进度。
	// 感谢下单！您的订单 42 已确认。
	// Thanks! Your order 43 is confirmed.
}
