package stackdump

import "runtime"

// Capture returns the stacks of all goroutines of this process, in the same
// text form Parse reads.
func Capture() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		// runtime.Stack truncates silently, so a full buffer means "maybe
		// more": grow until the dump fits.
		buf = make([]byte, 2*len(buf))
	}
}
