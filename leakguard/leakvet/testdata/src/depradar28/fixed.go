// The fixed twin of corpus case depradar28, modelled on stamm/dep_radar#28:
// https://github.com/stamm/dep_radar/pull/28
//
// Goroutines in the tools loop leak because of unbuffered channels: no one
// reads the results channel after the first result is received.
package depradar28

func detectFixed(tools []func(string) (string, bool), pkg string) (string, bool) {
	results := make(chan string, len(tools))
	for _, tool := range tools {
		go func() {
			name, _ := tool(pkg)
			results <- name
		}()
	}
	for range tools {
		if name := <-results; name != "" {
			return name, true
		}
	}
	return "", false
}
