package searchtext

import (
	"slices"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"", "Where is my parcel?", " where_ is_ my_ parcel_"},
		{"Wang Fang", "我要退款，谢谢", " wang_ fang_ 我要_ 要退_ 退款_ 款__ 谢谢_ 谢__"},
		{"", "订单ORDER-1001到了吗", " 订单_ 单__ order_ 1001_ 到了_ 了吗_ 吗__"},
		{"", "a a A", " a__"},
		{"", "カタカナ 한국어", " カタ_ タカ_ カナ_ ナ__ 한국_ 국어_ 어__"},
		{"", "", ""},
	} {
		if got := Text(tc.name, tc.body); got != tc.want {
			t.Errorf("Text(%q, %q) = %q, want %q", tc.name, tc.body, got, tc.want)
		}
	}
	if got := Text("order-1", "", "Ok"); got != " order_ 1__ ok_" {
		t.Errorf("Text of a key and a body = %q", got)
	}
	if got := Text("", strings.Repeat("字", MaxBytes)); len(got) > MaxBytes {
		t.Errorf("Text of a long body has %d bytes, more than %d", len(got), MaxBytes)
	}
}

func TestQuery(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []Term
	}{
		{"refu", []Term{{"refu", true}}},
		{"The Refund", []Term{{"the_", false}, {"refund", true}}},
		{"退款", []Term{{"退款_", false}}},
		{"要退款", []Term{{"要退_", false}, {"退款_", false}}},
		{"退", []Term{{"退", true}}},
		{"退款 wang", []Term{{"退款_", false}, {"wang", true}}},
		{"a", []Term{{"a", true}}},
		{"-!?", nil},
	} {
		if got := Query(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("Query(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
	for _, tc := range []struct {
		term Term
		want string
	}{
		{Term{"refund_", false}, "% refund!_%"},
		{Term{"refu", true}, "% refu%"},
		{Term{"a__", false}, "% a!_!_%"},
	} {
		if got := tc.term.Like(); got != tc.want {
			t.Errorf("%v.Like() = %q, want %q", tc.term, got, tc.want)
		}
	}
	if got := Query(strings.Repeat("w ", 40)); !slices.Equal(got, []Term{{"w__", false}, {"w", true}}) {
		t.Errorf("Query of one word repeated = %v", got)
	}
	if got := Query(strings.Repeat("字a", 40)); len(got) > MaxTerms {
		t.Errorf("Query has %d terms, more than %d", len(got), MaxTerms)
	}
}
