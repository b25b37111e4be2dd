package chatstore

// SetSearchWindow sets how many of the newest messages a search scans
// before it asks the full-text index, so that tests reach both.
func (s *DB) SetSearchWindow(n int64) { s.recent = n }
