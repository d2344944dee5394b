// The leaky twin of corpus case tidbop4281, modelled on pingcap/tidb-operator#4281:
// https://github.com/pingcap/tidb-operator/issues/4281
//
// GetLeaderCount: the loop returns as soon as it meets the metric it wants;
// if more metric families remain than mfChan buffers (1024), the producing
// goroutine blocks pushing into mfChan since no one consumes it.
package tidbop4281

import (
	"errors"
)

type family struct {
	name  string
	value int
}

func leaderCount(families []family) (int, error) {
	mfChan := make(chan family, 1024)
	go func() { // want "goroutine leaks: its send"
		for _, f := range families {
			mfChan <- f
		}
		close(mfChan)
	}()
	for mf := range mfChan {
		if mf.name == "tikv_raftstore_region_count" {
			return mf.value, nil
		}
	}
	return 0, errors.New("metric not found")
}
