//go:build race

package access

import "time"

// The login flood under the race detector, which makes bcrypt about
// twenty times slower (cost 12 took 12 s) and serving a request about
// ten: hashes four costs cheaper take about as long as cost 12 without
// it, and a fifth of the tries cost the server about as much CPU as the
// whole flood without it. The flood still asks for eight cores' worth of
// hashing.
const (
	floodHashCost = 8
	floodEvery    = time.Second
)
