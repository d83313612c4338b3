package versd

// Documented maxima of numeric request fields. Above them versd answers 400
// instead of overflowing a duration or storing a size nothing could honour.
const (
	maxTimeoutSecs = 7 * 24 * 3600 // exec timeout_secs: one week
	maxVcpuCount   = 1024
	maxMemSizeMib  = 16 << 20 // 16 TiB
	maxFsSizeMib   = 1 << 30  // 1 PiB
)
