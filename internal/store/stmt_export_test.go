package store

// PreparedStatements counts the statements kept prepared on the reader pool and on the writer.
func (s *Store) PreparedStatements() (reader, writer int) {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for k := range s.stmts.stmts {
		if k.db == s.write {
			writer++
		} else {
			reader++
		}
	}
	return reader, writer
}
