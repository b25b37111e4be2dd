package chatcore

import (
	"reflect"
	"testing"
)

// Changes are grouped by audience; a later change of a conversation
// replaces the earlier one in its place, and other audiences keep theirs.
func TestGroupHeard(t *testing.T) {
	conv := func(key, assignee string) Conversation { return Conversation{Key: key, Assignee: assignee} }
	got := groupHeard([]heardConversation{
		{conv: conv("a", "")},
		{conv: conv("b", "")},
		{conv: conv("a", "bob"), only: "bob"},
		{conv: conv("a", "carol")},
		{conv: conv("c", "")},
	})
	want := map[string][]Conversation{
		"":    {conv("a", "carol"), conv("b", ""), conv("c", "")},
		"bob": {conv("a", "bob")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groupHeard = %+v, want %+v", got, want)
	}
}
