package bot

import "slices"

// Intents returns the intents the model in force knows, sorted, including
// OutOfScope when it has that class: what an agent may label a message
// with in the console. Nil once the Service is closed.
func (s *Service) Intents() []string {
	c := s.cur.Load()
	if c == nil {
		return nil
	}
	out := slices.Clone(c.model.Labels)
	slices.Sort(out)
	return out
}
