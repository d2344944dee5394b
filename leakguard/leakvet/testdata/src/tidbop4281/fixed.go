// The fixed twin of corpus case tidbop4281, modelled on pingcap/tidb-operator#4281:
// https://github.com/pingcap/tidb-operator/issues/4281
//
// GetLeaderCount: the loop returns as soon as it meets the metric it wants;
// if more metric families remain than mfChan buffers (1024), the producing
// goroutine blocks pushing into mfChan since no one consumes it.
package tidbop4281

import (
	"errors"
)

type familyFixed struct {
	name  string
	value int
}

func leaderCountFixed(families []familyFixed) (int, error) {
	mfChan := make(chan familyFixed, 1024)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(mfChan)
		for _, f := range families {
			select {
			case mfChan <- f:
			case <-done:
				return
			}
		}
	}()
	for mf := range mfChan {
		if mf.name == "tikv_raftstore_region_count" {
			return mf.value, nil
		}
	}
	return 0, errors.New("metric not found")
}
