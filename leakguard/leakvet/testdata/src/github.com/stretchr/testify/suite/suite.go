// Package suite is a stub of testify's suite: a Suite embeds assert's
// Assertions and hands out require's.
package suite

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type Suite struct {
	*assert.Assertions
	require *require.Assertions
	t       *testing.T
}

func (s *Suite) T() *testing.T                { return s.t }
func (s *Suite) Require() *require.Assertions { return s.require }
func (s *Suite) Assert() *assert.Assertions   { return s.Assertions }
