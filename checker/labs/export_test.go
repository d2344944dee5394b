package labs

// SetBeforeRows has s call f in LabsOf before each read of rows by
// subject id, between its reading the ids and the rows.
func SetBeforeRows(s *Store, f func()) { s.beforeRows = f }
