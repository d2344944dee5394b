package auth

// Internals the black-box tests need.
var (
	NewToken  = newToken
	HashToken = hashToken
	DummyHash = func() []byte { return dummyHash(hashCost) }
)

const BcryptCost = bcryptCost

// SetHashCost changes the bcrypt cost of new hashes until restore is called.
// Not for parallel tests.
func SetHashCost(cost int) (restore func()) {
	old := hashCost
	hashCost = cost
	return func() { hashCost = old }
}

// Sweeping of shared limits: every SweepEvery-th call deletes up to
// SweepMax full buckets.
const (
	SweepEvery = sweepEvery
	SweepMax   = sweepMax
)
