package cli

// SetMaxEnvelopeLine lowers the line limit of events import for a test
// and returns a function that restores it.
func SetMaxEnvelopeLine(n int) (restore func()) {
	old := maxEnvelopeLine
	maxEnvelopeLine = n
	return func() { maxEnvelopeLine = old }
}
