// The leaky twin of corpus case vitess7462, modelled on vitessio/vitess#7462:
// https://github.com/vitessio/vitess/issues/7462
//
// ErrorGroup.Wait goes right to the range loop over the results channel;
// with zero goroutines started nothing ever sends or closes it. Modelled as
// a goroutine that collects results while the starter returns early.
package vitess7462

func runAll(tasks []func() error, report func(error)) {
	errs := make(chan error)
	go func() { // want "goroutine leaks: its receive"
		for err := range errs {
			report(err)
		}
	}()
	if len(tasks) == 0 {
		return
	}
	for _, t := range tasks {
		errs <- t()
	}
	close(errs)
}
