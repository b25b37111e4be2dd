// Package presence knows which console agents are online: who has a
// console WebSocket open on any instance of a deployment. The hub reports
// each socket that opens and closes (Connect, Disconnect); Online answers
// for the whole deployment. Memory is enough for one instance; Redis
// shares each instance's agents through a heartbeat key with a TTL, so an
// instance that dies without saying so drops out when its key expires.
// Both satisfy chatcore.Presence, which is declared where it is used, and
// Core.Run runs and stops them.
package presence
