// Package chatstore is the console's storage: agents, conversations, chat
// history, read markers, agent replies and intent labels, on MySQL/MariaDB,
// PostgreSQL or SQLite through gorm. It reads conversations, chat_messages
// and message_reply; every write to them goes through chat/history, their
// one writer, in this package's transactions. It implements the interfaces of chatcore
// ([chatcore.DB]) and the agent administration behind `syncd agent`.
//
// The tables are those of sql/*/0001_relay.sql and 0002_console.sql, and
// the agents' intent labels and the retrain records of 0008_learning.sql
// (labels.go), and the search of 0009_search.sql (search.go: which index
// answers which part of a search, and why). The SQL that matters to a reviewer is written out: the
// reply transaction is in reply.go (its history statements in
// chat/history), the sweep's query in sweep.go. gorm
// stays inside this package; chatcore sees only its own types.
package chatstore
