package kb

// Error categories added for the analyzer's severities (see Categories).
const (
	// CategoryMFAFailure: the user attempted multifactor authentication (or
	// registration for it) and it failed, was denied or is blocked.
	CategoryMFAFailure = "mfa-failure"
	// CategorySignal: a normal step of a sign-in that the service reports
	// with an error code (a "Stay signed in?" prompt, a device-code poll,
	// a B2C user choosing "Forgot your password?"); not a failure.
	CategorySignal = "signal"
)

// Severities the analyzer gives a code, by its category.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// CategorySeverity is the severity of a finding about a code of category
// cat: info for signals, warning for interrupts the user can complete
// (MFA still to do, interaction needed), error for everything else
// (including an unknown category).
func CategorySeverity(cat string) string {
	switch cat {
	case CategorySignal:
		return SeverityInfo
	case CategoryMFA, CategoryInteraction:
		return SeverityWarning
	}
	return SeverityError
}

// Severity is CategorySeverity of the code's category.
func (e ErrorCode) Severity() string { return CategorySeverity(e.Category) }
