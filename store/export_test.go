package store

// BoundedRead is boundedRead, for the tests of package store_test.
func (s *Store) BoundedRead(q string) string { return s.boundedRead(q) }
