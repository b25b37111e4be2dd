// Package configs holds the example configuration and the bot's default
// answers; the answers are also built into the binary for bot.answers = "".
package configs

import _ "embed"

// BotAnswers is bot.yaml: intent → reply, auto-reply per intent, event
// templates and the confidence threshold.
//
//go:embed bot.yaml
var BotAnswers []byte
