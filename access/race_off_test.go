//go:build !race

package access

import "time"

// The login flood's hashes are of the production cost, and each client
// tries five logins a second (see TestLoginFloodLeavesTheAPIResponsive).
const (
	floodHashCost = 12
	floodEvery    = 200 * time.Millisecond
)
